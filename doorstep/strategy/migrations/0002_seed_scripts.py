"""The default conversation scripts (话术) for each treatment step, in Chinese and English."""

from django.db import migrations

NEVER_SAY_ZH = (
    "不得威胁、恐吓、辱骂或使用侮辱性语言；不得冒充公检法或其他机关；不得声称将采取无法律依据的措施；"
    "不得向无关第三方透露欠款信息；不得承诺银行未批准的减免；不得在约定时段以外或免打扰时段联系。"
)
NEVER_SAY_EN = (
    "No threats, intimidation, insults or abusive language; never pose as police, courts or any authority; "
    "never claim an action the law does not allow; never disclose the debt to an unrelated third party; "
    "never promise a waiver the bank has not approved; never contact outside agreed or quiet hours."
)

SCRIPTS = [
    {
        "code": "sms_reminder",
        "channel": "sms",
        "title_zh": "短信还款提醒",
        "title_en": "SMS payment reminder",
        "opening_zh": "【银行名称】尊敬的客户，您好。",
        "opening_en": "[Bank name] Dear customer,",
        "purpose_zh": "您尾号{loan_tail}的贷款已逾期{days_past_due}天，逾期金额{overdue_amount}元。请通过本行官方渠道（网点、手机银行、客服热线）还款。",
        "purpose_en": "your loan ending {loan_tail} is {days_past_due} days past due; {overdue_amount} is overdue. Please pay through the bank's official channels (branch, mobile banking, hotline).",
        "questions_zh": "如还款有困难，请致电客服热线，我们将了解您的情况。",
        "questions_en": "If paying is difficult, call our hotline and tell us about your situation.",
        "options_zh": "可申请分期还款或延期还款，需经银行审批。",
        "options_en": "You may ask for instalments or a deferral, subject to the bank's approval.",
        "never_say_zh": NEVER_SAY_ZH + "短信中不得出现完整身份证号或账号。",
        "never_say_en": NEVER_SAY_EN + " Never put a full ID or account number in a message.",
    },
    {
        "code": "call_early",
        "channel": "call",
        "title_zh": "早期电话提醒（M1）",
        "title_en": "Early reminder call (M1)",
        "opening_zh": "您好，我是××银行客户服务人员，工号××××。请问是{borrower_name}本人吗？为保护您的信息，请核对您身份证号后四位。",
        "opening_en": "Hello, I am calling from the bank's customer service, staff number ××××. Am I speaking with {borrower_name}? To protect your information, please confirm the last four digits of your ID number.",
        "purpose_zh": "本次来电是提醒您，贷款本期应还款项尚未到账，目前逾期{days_past_due}天，逾期金额{overdue_amount}元。",
        "purpose_en": "I am calling to remind you that this period's payment has not arrived; the loan is {days_past_due} days past due with {overdue_amount} overdue.",
        "questions_zh": "请问是忘记还款，还是最近资金上遇到了困难？收入是否有变化？预计什么时候可以还款？",
        "questions_en": "Did the payment slip your mind, or has money been tight lately? Has your income changed? When do you expect to be able to pay?",
        "options_zh": "如能在三日内还清，请通过官方渠道还款；如需时间，可以约定还款日期（还款承诺）；如困难较大，可申请分期或延期。",
        "options_en": "If you can pay within three days, please use the official channels; if you need time, we can agree a date (a promise to pay); if it is harder, you can apply for instalments or a deferral.",
        "never_say_zh": NEVER_SAY_ZH,
        "never_say_en": NEVER_SAY_EN,
    },
    {
        "code": "call_m2",
        "channel": "call",
        "title_zh": "中期电话协商（M2–M3）",
        "title_en": "Negotiation call (M2–M3)",
        "opening_zh": "您好，我是××银行催收专员，工号××××，本次通话将被录音。请问是{borrower_name}本人吗？请核对身份证号后四位。",
        "opening_en": "Hello, I am a collections officer of the bank, staff number ××××; this call is recorded. Am I speaking with {borrower_name}? Please confirm the last four digits of your ID number.",
        "purpose_zh": "您的贷款已逾期{days_past_due}天，逾期金额{overdue_amount}元，逾期会影响您的征信记录。今天希望和您一起商量一个可行的还款安排。",
        "purpose_en": "Your loan is {days_past_due} days past due with {overdue_amount} overdue, and this affects your credit record. Today I would like to agree with you a repayment arrangement that works.",
        "questions_zh": "逾期的主要原因是什么（失业、收入下降、疾病、家庭变故、经营困难、对账单有异议）？目前每月收入和必要支出大约多少？是否还有其他借款？",
        "questions_en": "What is the main reason for the delay (job loss, lower income, illness, family event, business trouble, a dispute about the bill)? Roughly what are your monthly income and essential costs? Do you have other debts?",
        "options_zh": "一次性还清逾期金额；约定具体日期和金额的还款承诺；分期还款（期数和金额在授权范围内，超出需审批）；延期还款（需提交证明材料并经审批）。",
        "options_en": "Pay the overdue amount in full; a promise to pay a stated amount on a stated date; instalments (terms within authority, beyond it for approval); a deferral (with supporting documents, for approval).",
        "never_say_zh": NEVER_SAY_ZH + "不得以联系其亲友、单位相要挟。",
        "never_say_en": NEVER_SAY_EN + " Never threaten to contact family, friends or the employer.",
    },
    {
        "code": "visit_first",
        "channel": "visit",
        "title_zh": "首次上门拜访",
        "title_en": "First field visit",
        "opening_zh": "您好，我们是××银行的工作人员，这是我们的工作证（出示工牌，工号××××），您可以通过银行官方客服热线或扫描通知中的二维码核实我们的身份。我们事先已通知您本次拜访的时间和目的。请问是{borrower_name}本人吗？",
        "opening_en": "Hello, we are staff of the bank; here are our badges (show the badge, number ××××). You can check who we are on the bank's official hotline or with the code in the notice. We told you in advance about the time and purpose of this visit. Are you {borrower_name}?",
        "purpose_zh": "我们今天来是想当面了解您的情况：贷款已逾期{days_past_due}天，逾期金额{overdue_amount}元。我们希望和您一起找到可行的还款办法。本次拜访全程录音录像。",
        "purpose_en": "We have come to understand your situation in person: the loan is {days_past_due} days past due with {overdue_amount} overdue. We want to find a way to repay that works for you. The visit is recorded on audio and video.",
        "questions_zh": "最近生活和工作情况怎样？逾期是什么原因造成的？家庭收入和支出情况如何？您希望怎样安排还款？有没有需要我们特别注意的情况（健康、家庭）？",
        "questions_en": "How are life and work at the moment? What led to the delay? What are the household's income and costs? How would you like to arrange repayment? Is there anything we should take into account (health, family)?",
        "options_zh": "当场通过官方渠道（手机银行、扫码至本行对公账户）还款，不收取现金；约定还款承诺；申请分期或延期，现场填写申请，由银行审批；如对欠款有异议，登记异议并暂停催收。",
        "options_en": "Pay now through the official channels (mobile banking, the bank's own account) — never cash to the collector; a promise to pay; an application for instalments or a deferral, filled in on the spot and decided by the bank; if the debt is disputed, record the dispute and pause collection.",
        "never_say_zh": NEVER_SAY_ZH + "不得收取现金或要求转账至个人账户；不得在借款人明确拒绝后强行进入住所；不得在其亲友、邻居面前谈论欠款。",
        "never_say_en": NEVER_SAY_EN + " Never take cash or ask for a transfer to a personal account; never enter the home after the borrower says no; never discuss the debt in front of relatives or neighbours.",
    },
    {
        "code": "visit_followup",
        "channel": "visit",
        "title_zh": "跟进上门拜访",
        "title_en": "Follow-up field visit",
        "opening_zh": "您好，我们是××银行工作人员（出示工牌，工号××××），上次拜访后按约再次来访。请问是{borrower_name}本人吗？",
        "opening_en": "Hello, we are bank staff (show the badge, number ××××) and are back as agreed after our last visit. Are you {borrower_name}?",
        "purpose_zh": "回顾上次约定的还款安排和执行情况，了解有无新的困难。",
        "purpose_en": "To go over the arrangement agreed last time, how it has gone, and whether anything new has come up.",
        "questions_zh": "上次约定的还款是否按时完成？没有完成的原因是什么？目前情况有什么变化？",
        "questions_en": "Was the agreed payment made on time? If not, why not? What has changed since?",
        "options_zh": "补足承诺金额；调整还款计划（需审批）；对确有困难的客户，说明延期或减免的申请条件和流程。",
        "options_en": "Make up the promised amount; change the plan (for approval); for borrowers in real hardship, explain how to apply for a deferral or waiver and what it requires.",
        "never_say_zh": NEVER_SAY_ZH,
        "never_say_en": NEVER_SAY_EN,
    },
    {
        "code": "letter_formal",
        "channel": "letter",
        "title_zh": "书面催收函",
        "title_en": "Formal collection letter",
        "opening_zh": "尊敬的{borrower_name}：",
        "opening_en": "Dear {borrower_name},",
        "purpose_zh": "截至{snapshot_date}，您在本行的贷款已逾期{days_past_due}天，逾期本息及罚息合计{overdue_amount}元。请于收到本函后十五日内通过本行官方渠道还款或与我们联系协商。",
        "purpose_en": "As of {snapshot_date} your loan with the bank is {days_past_due} days past due, with {overdue_amount} of principal, interest and penalty interest overdue. Please pay through the bank's official channels or contact us to agree an arrangement within fifteen days of this letter.",
        "questions_zh": "如您对欠款金额有异议或有特殊困难，请致电客服热线或到附近网点说明。",
        "questions_en": "If you dispute the amount or face particular hardship, please call the hotline or visit a branch.",
        "options_zh": "一次性还款、分期还款、延期还款（后两者需经银行审批）。",
        "options_en": "Payment in full, instalments or a deferral (the latter two subject to approval).",
        "never_say_zh": NEVER_SAY_ZH + "信封外不得显示催收字样。",
        "never_say_en": NEVER_SAY_EN + " The envelope must not show that it is about collection.",
    },
    {
        "code": "legal_review",
        "channel": "legal",
        "title_zh": "法律审查前告知",
        "title_en": "Notice before legal review",
        "opening_zh": "您好，我是××银行工作人员，工号××××，本次通话将被录音。请问是{borrower_name}本人吗？",
        "opening_en": "Hello, I am with the bank, staff number ××××; this call is recorded. Am I speaking with {borrower_name}?",
        "purpose_zh": "您的贷款已逾期{days_past_due}天，经多次联系仍未能达成还款安排，银行将对该笔贷款进行法律审查，可能依法提起诉讼。在此之前仍欢迎您与我们协商。",
        "purpose_en": "Your loan is {days_past_due} days past due and no arrangement has been reached despite several contacts, so the bank will review the loan for legal action, which may lead to a lawsuit as the law allows. Until then we still welcome an arrangement.",
        "questions_zh": "是否存在我们尚不了解的困难或异议？",
        "questions_en": "Is there any hardship or dispute we do not yet know about?",
        "options_zh": "在法律审查完成前达成还款安排，可暂停相关程序（需审批）。",
        "options_en": "An arrangement agreed before the review ends can pause the procedure (subject to approval).",
        "never_say_zh": NEVER_SAY_ZH + "不得夸大诉讼后果，不得声称会拘留或影响其家属。",
        "never_say_en": NEVER_SAY_EN + " Never exaggerate what a lawsuit means, or claim arrest or consequences for the family.",
    },
]


def seed(apps, schema_editor):
    Script = apps.get_model("strategy", "Script")
    for data in SCRIPTS:
        Script.objects.update_or_create(code=data["code"], defaults=data)


def unseed(apps, schema_editor):
    Script = apps.get_model("strategy", "Script")
    Script.objects.filter(code__in=[data["code"] for data in SCRIPTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("strategy", "0001_strategies_scripts_treatments_daily_runs")]

    operations = [migrations.RunPython(seed, unseed)]
