"""The plan agreement the borrower receives, as a PDF in the borrower's language."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _

from doorstep.arrangements.models import RepaymentPlan
from doorstep.core.money import format_money
from doorstep.core.pdf import Heading, TableBlock, Text, pdf_render


def plan_agreement_pdf(plan: RepaymentPlan) -> bytes:
    case = plan.case
    borrower = case.borrower
    with translation.override(plan.language or "zh-hans"):
        rows = [
            (item.number, item.due_on.isoformat(), format_money(item.amount))
            for item in plan.instalments.order_by("number")
        ]
        terms = [
            (_("Kind of plan"), plan.get_kind_display()),
            (_("Amount covered"), format_money(plan.base)),
            (_("Plan interest"), format_money(plan.interest)),
            (_("Waived"), format_money(plan.waived)),
            (_("Settlement discount"), format_money(plan.discount)),
            (_("Total to pay"), format_money(plan.total)),
        ]
        blocks = [
            Text(_("Borrower: %(name)s, customer number %(customer)s, ID %(id)s")
                 % {"name": borrower.name, "customer": borrower.customer_id, "id": borrower.national_id_masked}),
            Text(_("Case %(case)s, loans: %(loans)s")
                 % {"case": case.pk, "loans": ", ".join(case.loans.values_list("loan_id", flat=True))}),
            Heading(_("Terms")),
            TableBlock(header=[_("Item"), _("Amount")], rows=terms, widths=(2, 1)),
            Heading(_("Schedule")),
            TableBlock(header=[_("Instalment"), _("Due on"), _("Amount")], rows=rows, widths=(1, 2, 2)),
            Heading(_("What this agreement means")),
            Text(
                _(
                    "Pay each instalment by its date through the bank's official channels only (counter, "
                    "mobile banking, transfer to your loan account). Never pay cash to a collector. "
                    "If %(missed)s instalments are missed the plan ends and the whole overdue amount is due "
                    "again. If your circumstances change, contact the bank before a payment is missed."
                )
                % {"missed": _plan_broken_after()}
            ),
            Text(_("Approved by %(who)s on %(when)s.")
                 % {"who": plan.decided_by_label or plan.proposed_by_label,
                    "when": plan.decided_at.date().isoformat() if plan.decided_at else "—"}, small=True),
        ]
        return pdf_render(
            title=_("Repayment plan agreement"),
            blocks=blocks,
            footer=_("Plan %(plan)s · case %(case)s") % {"plan": plan.pk, "case": case.pk},
        )


def _plan_broken_after() -> int:
    from doorstep.arrangements.conf import plan_broken_after_missed

    return plan_broken_after_missed()
