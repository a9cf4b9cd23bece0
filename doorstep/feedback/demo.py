"""The demo's feedback: ratings of past visits and complaints at every step of the workflow, among them one
past its acknowledgement deadline and one upheld complaint about a collector's conduct. Run twice, it adds
nothing."""

from __future__ import annotations

import datetime as dt
import random

from django.contrib.auth.models import User
from django.utils import timezone

from doorstep.collectors.models import CaseAssignment
from doorstep.core.demo import DEMO_ACTOR, DemoContext
from doorstep.feedback import services
from doorstep.feedback.models import Complaint, RatingSource, VisitRating
from doorstep.visits.models import Visit, VisitStatus

RATED_VISITS = 40
COMMENTS = {
    5: ["催收员态度很好，解释得很清楚。", "准时到达，出示了工牌，沟通顺畅。", ""],
    4: ["整体不错，就是等了一会儿。", ""],
    3: ["一般，希望能提前电话联系。", ""],
    2: ["来得太晚了，没有提前通知。"],
    1: ["说话很冲，让人不舒服。"],
}


def _past_visits(context: DemoContext, wanted: int) -> list[Visit]:
    """Visits that took place; if the demo has none yet, a few recent ones for assigned cases."""
    done = list(
        Visit.objects.filter(status__in=(VisitStatus.COMPLETED, VisitStatus.CHECKED_IN),
                             window_end__lt=timezone.now() - dt.timedelta(days=6))
        .select_related("case__borrower", "collector")
        .order_by("pk")[:wanted]
    )
    if len(done) >= wanted // 2:
        return done
    assignments = (
        CaseAssignment.objects.filter(ended_at__isnull=True, collector__isnull=False)
        .select_related("case__borrower", "collector")
        .order_by("pk")[: wanted - len(done)]
    )
    today = timezone.localdate()
    zone = timezone.get_current_timezone()
    for index, assignment in enumerate(assignments):
        day = today - dt.timedelta(days=6 + index % 20)
        start = dt.datetime.combine(day, dt.time(10 + index % 7, 0), tzinfo=zone)
        done.append(
            Visit.objects.create(
                case=assignment.case, borrower=assignment.case.borrower, status=VisitStatus.COMPLETED,
                purpose="上门沟通还款", window_start=start, window_end=start + dt.timedelta(hours=1),
                collector=assignment.collector, created_by_label=DEMO_ACTOR, checked_in_at=start,
                checked_out_at=start + dt.timedelta(minutes=40),
            )
        )
    return done


def demo_run(context: DemoContext) -> None:
    if Complaint.objects.exists():
        return
    rng = random.Random(context.seed + 7)
    visits = _past_visits(context, RATED_VISITS)
    if len(visits) < 8:
        context.say("  not enough visits for feedback")
        return
    handler = User.objects.filter(username="compliance").first() or context.manager
    rated = 0
    now = timezone.now()
    for visit in visits[8:]:
        if VisitRating.objects.filter(visit=visit).exists() or rng.random() < 0.25:
            continue
        stars = rng.choices([5, 4, 3, 2, 1], weights=[45, 25, 15, 10, 5])[0]
        rating = services.rating_record(
            actor=f"borrower:{visit.borrower_id}", visit=visit, stars=stars, comment=rng.choice(COMMENTS[stars]),
            source=RatingSource.PORTAL if rng.random() < 0.8 else RatingSource.PHONE,
        )
        # The demo's borrowers rated each visit the evening after it, so the dashboard shows weeks of ratings.
        rated_at = min(visit.window_end + dt.timedelta(hours=8), now)
        VisitRating.objects.filter(pk=rating.pk).update(at=rated_at)
        rated += 1

    # An upheld complaint about conduct: the collector is sent for review.
    upheld = services.complaint_file(
        actor=f"borrower:{visits[0].borrower_id}", borrower=visits[0].borrower, category="threat_insult",
        text="催收员在门口大声说我是老赖，还说要让我的单位知道，邻居都听见了。", channel="portal", visit=visits[0],
        received_at=now - dt.timedelta(hours=20),
    )
    services.complaint_acknowledge(actor=handler, complaint_id=upheld.pk)
    services.complaint_investigate(actor=handler, complaint_id=upheld.pk, note="调取执法记录仪录音，约谈催收员。")
    services.complaint_resolve(
        actor=handler, complaint_id=upheld.pk, outcome="upheld",
        resolution="经核实录音，催收员确有不当言辞。我行已向您致歉，该催收员已停止上门并参加复训。",
    )
    # Past its acknowledgement deadline, nobody has picked it up.
    services.complaint_file(
        actor=f"borrower:{visits[1].borrower_id}", borrower=visits[1].borrower, category="improper_time",
        text="晚上九点半还有人来敲门催款，家里老人受到惊吓。", channel="portal", visit=visits[1],
        received_at=now - dt.timedelta(days=5),
    )
    # A dispute under investigation: collection is on hold.
    dispute = services.complaint_file(
        actor=f"borrower:{visits[2].borrower_id}", borrower=visits[2].borrower, category="amount_disputed",
        text="我上个月已经还了5,000元，系统里的欠款金额没有扣减。附银行转账回单。", channel="portal",
        case=visits[2].case, received_at=now - dt.timedelta(hours=20),
    )
    services.complaint_acknowledge(actor=handler, complaint_id=dispute.pk)
    services.complaint_investigate(actor=handler, complaint_id=dispute.pk, note="已请核心系统核对还款流水。")
    # Acknowledged, waiting for investigation.
    privacy = services.complaint_file(
        actor=f"borrower:{visits[3].borrower_id}", borrower=visits[3].borrower, category="privacy",
        text="催收员在小区门口当着保安的面说起我的欠款。", channel="portal", visit=visits[3],
        received_at=now - dt.timedelta(hours=3),
    )
    services.complaint_acknowledge(actor=handler, complaint_id=privacy.pk)
    # Received by phone, rejected as a duplicate.
    phoned = services.complaint_file(
        actor=handler, borrower=visits[0].borrower, category="other", channel="phone", case=visits[0].case,
        text="借款人来电，再次反映上门催收员态度问题。", received_at=now - dt.timedelta(hours=6),
    )
    services.complaint_reject(actor=handler, complaint_id=phoned.pk,
                              reason=f"与投诉{upheld.reference}重复，已合并处理。")
    # Extended once, then not upheld.
    third = services.complaint_file(
        actor=f"borrower:{visits[4].borrower_id}", borrower=visits[4].borrower, category="third_party",
        text="催收员给我同事打电话说我欠钱。", channel="portal", visit=visits[4], received_at=now - dt.timedelta(hours=18),
    )
    services.complaint_acknowledge(actor=handler, complaint_id=third.pk)
    services.complaint_investigate(actor=handler, complaint_id=third.pk)
    services.complaint_extend(actor=handler, complaint_id=third.pk, reason="需向外包机构调取通话记录，对方需要一周时间。")
    services.complaint_resolve(
        actor=handler, complaint_id=third.pk, outcome="not_upheld",
        resolution="经调取通话记录，催收员未联系您的同事；来电号码不属于本行及合作机构。",
    )
    # Just received.
    services.complaint_file(
        actor=f"borrower:{visits[5].borrower_id}", borrower=visits[5].borrower, category="wrong_person",
        text="我不认识这个借款人，上门的人找错了。", channel="portal", case=visits[5].case,
        received_at=now - dt.timedelta(minutes=40),
    )
    breaches = services.complaint_breaches_record(actor=DEMO_ACTOR)
    context.say(f"  {rated} visits rated, {Complaint.objects.count()} complaints, {breaches['acknowledge']} overdue")
