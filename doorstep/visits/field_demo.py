"""The demo's day at the door: on the published plans, a few crews carry out their first stops with
different outcomes, through the same services the field app uses."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from doorstep.core.money import money
from doorstep.visits.field_selectors import confirmations_required
from doorstep.visits.field_services import VisitRecord, visit_check_in, visit_check_out, visit_record
from doorstep.visits.models import PlanStatus, PlanStop, Visit, VisitStatus

SAMPLE_VISITS = 6
GATE_REFUSED = "refused_by_gate"
FAR_DEGREES = Decimal("0.010000")  # about 1.1 km north: one check-in far from the address, to show the flag
NEAR_DEGREES = Decimal("0.000150")

# (who was met, attitude, willingness, reason, result, next action, notes)
OUTCOMES: list[tuple[str, str, str, str, str, str, str]] = [
    ("borrower", "cooperative", "partial", "income_loss", "promise", "call",
     "本人在家。去年底失业，现在打零工，答应先还一部分，下月再谈分期。"),
    ("nobody", "", "", "", "not_home", "visit", "敲门无人应答，邻居称白天上班，晚上才回来。"),
    ("borrower", "evasive", "low", "overindebted", "plan_requested", "call",
     "本人在家，称多头借贷压力大，希望申请分期还款，已告知官方申请渠道。"),
    ("family", "neutral", "", "illness", "refused", "letter",
     "其母亲开门，称借款人住院治疗中。未透露欠款细节，留下联系方式请其转告。"),
    ("borrower", "cooperative", "high", "forgot", "paid", "none",
     "本人称已通过手机银行还清，现场查看还款凭证，提醒以银行入账为准。"),
    ("borrower", "hostile", "none", "dispute", "refused", "legal",
     "本人情绪激动，否认欠款并要求离开，双人当即离开，未发生冲突。"),
]


def _say(context: Any, text: str) -> None:
    say = getattr(context, "say", None)
    if say is not None:
        say(text)


def _sample_stops(limit: int) -> list[PlanStop]:
    """The first stop of each crew's route on the earliest day that has published plans."""
    first_day = (
        PlanStop.objects.filter(route__plan__status=PlanStatus.PUBLISHED)
        .order_by("route__plan__day")
        .values_list("route__plan__day", flat=True)
        .first()
    )
    if first_day is None:
        return []
    stops = (
        PlanStop.objects.filter(route__plan__status=PlanStatus.PUBLISHED, route__plan__day=first_day)
        .select_related("visit__case", "visit__borrower", "visit__collector__user")
        .order_by("route__plan__team_id", "route_id", "sequence")
    )
    chosen: list[PlanStop] = []
    seen_routes: set[int] = set()
    for stop in stops:
        if stop.route_id in seen_routes:
            continue
        seen_routes.add(stop.route_id)
        chosen.append(stop)
        if len(chosen) >= limit:
            break
    return chosen


def _carry_out(stop: PlanStop, number: int) -> str | None:
    visit: Visit = stop.visit
    actor = visit.collector.user
    person, attitude, willingness, reason, result, next_action, notes = OUTCOMES[number % len(OUTCOMES)]
    latitude = visit.latitude if visit.latitude is not None else visit.borrower.latitude
    longitude = visit.longitude if visit.longitude is not None else visit.borrower.longitude
    if latitude is None or longitude is None:
        return None
    offset = FAR_DEGREES if number == 1 else NEAR_DEGREES
    arrived = max(stop.eta, visit.window_start) + dt.timedelta(minutes=3)
    checked_in = visit_check_in(
        actor=actor, visit_id=visit.pk, latitude=latitude + offset, longitude=longitude, accuracy_m=15,
        confirmations={item.code: item.code != "entry_consent" for item in confirmations_required(visit=visit)},
        at=arrived,
    )
    if not checked_in.allowed:
        return GATE_REFUSED
    today = max(timezone.localdate(), stop.route.plan.day)
    promise_amount = None
    if result == "promise":
        promise_amount = money(min(visit.case.overdue_total, max(Decimal("500.00"), visit.case.overdue_total / 3)))
    record = VisitRecord(
        person_met=person, result=result, attitude=attitude, willingness=willingness, delinquency_reason=reason,
        notes=notes, next_action=next_action,
        follow_up_on=None if next_action == "none" else today + dt.timedelta(days=3),
        promise_amount=promise_amount,
        promise_due_on=today + dt.timedelta(days=7) if result == "promise" else None,
    )
    try:
        visit_record(actor=actor, visit_id=visit.pk, record=record)
    except ValidationError:
        record = VisitRecord(person_met="nobody", result="not_home", notes=notes, next_action="visit",
                             follow_up_on=today + dt.timedelta(days=3))
        visit_record(actor=actor, visit_id=visit.pk, record=record)
    visit_check_out(
        actor=actor, visit_id=visit.pk, latitude=latitude, longitude=longitude,
        at=arrived + dt.timedelta(minutes=visit.service_minutes - 5),
    )
    return record.result


def record_sample_visits(context: Any, *, count: int = SAMPLE_VISITS) -> dict[str, int]:
    """Check in, record and check out up to `count` visits on the demo's published plans, one per crew,
    each with another outcome. Safe to run again: visits already carried out count towards `count`."""
    stops = _sample_stops(count * 3)
    done = sum(1 for stop in stops if stop.visit.status == VisitStatus.COMPLETED)
    results: dict[str, int] = {}
    for number, stop in enumerate(stops):
        if done >= count:
            break
        if stop.visit.status != VisitStatus.SCHEDULED:
            continue
        outcome = _carry_out(stop, number)
        if outcome is None:
            continue
        results[outcome] = results.get(outcome, 0) + 1
        if outcome != GATE_REFUSED:
            done += 1
    _say(context, f"  field visits recorded: {sum(v for k, v in results.items() if k != GATE_REFUSED)} "
                  f"({', '.join(f'{k} {v}' for k, v in sorted(results.items())) or 'none new'})")
    return results
