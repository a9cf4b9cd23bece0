"""The definitions the glossary page shows: each metric's formula, numerator, denominator and
point-in-time rule, in the words `metrics.py` implements."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

POINT_IN_TIME = _(
    "A figure for a day D counts only what had been recorded by the end of D in the bank's time zone: "
    "bucket moves and status changes dated up to D, contacts, visits, payments, promises and complaints "
    "recorded by then. Data that arrives later never changes a past day's figure."
)


@dataclass(frozen=True)
class Entry:
    key: str
    name: str | Promise
    formula: str | Promise
    numerator: str | Promise
    denominator: str | Promise
    point_in_time: str | Promise


def entries() -> list[Entry]:
    return [
        Entry(
            "roll_rate", _("Roll rate (matrix)"), _("cases from bucket i to state j ÷ cases in bucket i"),
            _("cases in bucket i on the first day of the month that stand in state j (a bucket, nothing overdue, "
              "cured, closed or written off) at its end"),
            _("cases in bucket i on the first day of the month; cases opened during the month are left out"),
            _("the bucket of a case is the worst bucket of its loans on that day, from the bucket history"),
        ),
        Entry(
            "flow_rate", _("Flow rate to write-off"), _("forward(i) × forward(i+1) × … × forward(last)"),
            _("forward(i): cases that moved from bucket i to a worse bucket or were written off"),
            _("cases in bucket i at the start of the month; for the last bucket the numerator is write-offs"),
            _("the month's roll-rate matrix, as above"),
        ),
        Entry(
            "cure_rate", _("Cure rate"), _("cured ÷ cases in a bucket at the start"),
            _("cases in a bucket on the first day of the month whose status is cured at its end"),
            _("cases in a bucket on the first day of the month"),
            _("status from the status history dated up to the day"),
        ),
        Entry(
            "recovery_rate", _("Recovery rate by entry month"), _("collected since entry ÷ overdue at entry"),
            _("payments on the cases that entered collection in month E, from entry to the end of month E+k"),
            _("the overdue amount of those cases when they entered collection"),
            _("payments recorded by the day; cases entered by the day"),
        ),
        Entry(
            "promise_kept_rate", _("Promise-kept rate"), _("kept ÷ due"),
            _("promises due in the month that the payment matching had found kept by the day"),
            _("promises due in the month, up to the day; promises cancelled by then are not due"),
            _("a promise found kept after the day counts as not kept on that day"),
        ),
        Entry(
            "right_party_contact_rate", _("Right-party contact rate"), _("reached the borrower ÷ calls and visits"),
            _("calls and visits carried out in which the borrower was reached"),
            _("calls and visits carried out (attempts the compliance gate refused are not carried out)"),
            _("ledger entries recorded by the day"),
        ),
        Entry(
            "visit_contact_rate", _("Visit contact rate"), _("met the borrower ÷ visits"),
            _("visits carried out at which the borrower was met"), _("visits carried out (checked out)"),
            _("visits checked out by the day"),
        ),
        Entry(
            "cost_to_collect", _("Cost to collect"),
            _("(visits × visit cost + calls × call cost + SMS × SMS cost + letters × letter cost) ÷ collected"),
            _("the cost of the month's work at the configured unit costs: visits carried out, calls carried out, "
              "SMS and letters sent about the cases (from the outbox)"),
            _("the amount collected in the month (payments less reversals)"),
            _("work and payments recorded by the day"),
        ),
        Entry(
            "complaints_per_100_visits", _("Complaints per 100 visits"), _("complaints × 100 ÷ visits"),
            _("complaints filed in the month about the cases"), _("visits carried out in the month"),
            _("complaints filed by the day"),
        ),
        Entry(
            "collector_productivity", _("Collector productivity"),
            _("per collector: cases, visits, visit contact rate, calls and visits, right-party contact rate, "
              "promises, promise-kept rate, collected, collected per visit"),
            _("the month's work and payments on the cases assigned to the collector at the end of the day"),
            _("collected per visit: visits carried out"),
            _("assignment as it stood at the end of the day"),
        ),
        Entry(
            "funnel", _("Funnel from notice to payment"), _("cases at each stage"),
            _("cases that got a visit notice, a visit, made a promise, paid, in the month"),
            _("the stages are counted separately; each is a number of cases"),
            _("each event recorded by the day"),
        ),
    ]
