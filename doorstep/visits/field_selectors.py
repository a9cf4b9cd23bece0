"""What the collector's field app reads: today's stops, one stop's pre-visit brief, the route picture.

A collector sees only visits they go on (as the visit's collector or its second collector); anything
else is answered with 404, whether or not it exists.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.functional import Promise
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from doorstep.collectors.models import Collector
from doorstep.portfolio.models import Loan
from doorstep.visits.models import (
    Attitude,
    PlanStatus,
    PlanStop,
    Visit,
    VisitAlert,
    VisitAttachment,
    VisitStatus,
)
from doorstep.visits.route_svg import RoutePoint
from doorstep.visits.route_svg import route_svg as draw_route

PREVIOUS_VISITS_SHOWN = 5
HASH_BLOCK = 1 << 20


def collector_for(user: AbstractBaseUser | AnonymousUser) -> Collector | None:
    if not user.is_authenticated:
        return None
    return Collector.objects.select_related("team").filter(user=user, is_active=True).first()


def _require_collector(user: AbstractBaseUser | AnonymousUser) -> Collector:
    collector = collector_for(user)
    if collector is None:
        raise Http404("not a collector")
    return collector


def field_visits(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Visit]:
    """Every visit the user goes on, as collector or second collector."""
    collector = _require_collector(user)
    return Visit.objects.filter(Q(collector=collector) | Q(partner=collector))


def field_visit_get(*, user: AbstractBaseUser | AnonymousUser, visit_id: int) -> Visit:
    visit = (
        field_visits(user=user)
        .select_related("case", "borrower", "collector__user", "partner__user")
        .filter(pk=visit_id)
        .first()
    )
    if visit is None:
        raise Http404("no such visit")
    return visit


# ---------------------------------------------------------------- today


@dataclass(frozen=True)
class TodayStop:
    stop: PlanStop
    visit: Visit
    sequence: int
    latitude: float | None
    longitude: float | None

    @property
    def is_open(self) -> bool:
        return self.visit.status in (VisitStatus.SCHEDULED, VisitStatus.CHECKED_IN)


@dataclass(frozen=True)
class TodayRoute:
    day: dt.date
    stops: list[TodayStop]
    start: tuple[float, float] | None
    departs_at: dt.datetime | None
    returns_at: dt.datetime | None
    distance_m: int
    crew_names: list[str] = field(default_factory=list)

    @property
    def distance_km(self) -> Decimal:
        return (Decimal(self.distance_m) / 1000).quantize(Decimal("0.1"))

    @property
    def done(self) -> int:
        return sum(1 for stop in self.stops if not stop.is_open)

    @property
    def current(self) -> TodayStop | None:
        """The stop to deal with next: the one checked in, else the first still to do."""
        for stop in self.stops:
            if stop.visit.status == VisitStatus.CHECKED_IN:
                return stop
        return next((stop for stop in self.stops if stop.visit.status == VisitStatus.SCHEDULED), None)


def today_route(*, user: AbstractBaseUser | AnonymousUser, day: dt.date) -> TodayRoute:
    """The user's stops of `day` in order, from the published plans of the crews they belong to."""
    collector = _require_collector(user)
    stops = list(
        PlanStop.objects.filter(route__plan__day=day, route__plan__status=PlanStatus.PUBLISHED)
        .filter(Q(route__crew__lead=collector) | Q(route__crew__partner=collector))
        .select_related(
            "route__crew__lead__user", "route__crew__partner__user", "visit__borrower", "visit__case"
        )
        .order_by("route__departs_at", "route_id", "sequence")
    )
    items = []
    for number, stop in enumerate(stops, start=1):
        visit = stop.visit
        lat = visit.latitude if visit.latitude is not None else visit.borrower.latitude
        lon = visit.longitude if visit.longitude is not None else visit.borrower.longitude
        items.append(
            TodayStop(
                stop=stop, visit=visit, sequence=number,
                latitude=float(lat) if lat is not None else None,
                longitude=float(lon) if lon is not None else None,
            )
        )
    route = stops[0].route if stops else None
    return TodayRoute(
        day=day,
        stops=items,
        start=(float(route.start_latitude), float(route.start_longitude)) if route else None,
        departs_at=route.departs_at if route else None,
        returns_at=max(stop.route.returns_at for stop in stops) if stops else None,
        distance_m=sum({stop.route_id: stop.route.distance_m for stop in stops}.values()),
        crew_names=[member.display_name for member in route.crew.members] if route else [],
    )


def next_planned_day(*, user: AbstractBaseUser | AnonymousUser, after: dt.date) -> dt.date | None:
    """The first day after `after` on which the user has stops in a published plan."""
    collector = _require_collector(user)
    return (
        PlanStop.objects.filter(route__plan__day__gt=after, route__plan__status=PlanStatus.PUBLISHED)
        .filter(Q(route__crew__lead=collector) | Q(route__crew__partner=collector))
        .order_by("route__plan__day")
        .values_list("route__plan__day", flat=True)
        .first()
    )


# ---------------------------------------------------------------- the route picture


def route_svg(route: TodayRoute) -> SafeString:
    """The day's route as a picture: the start, then each stop with a known place, numbered in order."""
    points = [
        RoutePoint(stop.latitude, stop.longitude, str(stop.sequence), stop.visit.status)
        for stop in route.stops
        if stop.latitude is not None and stop.longitude is not None
    ]
    if not points:
        return SafeString("")
    return draw_route(route.start, points, _("Route of the day: %(count)s stops") % {"count": len(points)})


# ---------------------------------------------------------------- confirmations at the door


@dataclass(frozen=True)
class Confirmation:
    code: str
    label: str | Promise
    required: bool
    hint: str | Promise = ""


DEFAULT_CONFIRMATIONS = (
    Confirmation("id_shown", _("I showed my collector ID"), True),
    Confirmation("recording", _("The audio recording has started"), True),
    Confirmation("entry_consent", _("The borrower agreed to let us in"), False, _("only if you go inside")),
)


def confirmations_required(*, visit: Visit) -> list[Confirmation]:
    """What the collector confirms before the visit goes ahead, as the case's rule set defines it; the
    usual three where it says nothing about them."""
    from doorstep.compliance.models import CaseJurisdiction
    from doorstep.compliance.services import default_jurisdiction, ruleset_active

    jurisdiction = (
        CaseJurisdiction.objects.filter(case_id=visit.case_id).values_list("jurisdiction", flat=True).first()
        or default_jurisdiction()
    )
    try:
        rule_set = ruleset_active(jurisdiction)
    except Exception:  # no rule set for this jurisdiction: the gate will say so itself
        return list(DEFAULT_CONFIRMATIONS)
    found: dict[str, Confirmation] = {}
    for evaluator, params in rule_set.rules.filter(enabled=True).values_list("evaluator", "params"):
        params = params or {}
        if evaluator == "visit_team":
            if params.get("id_shown", True):
                found["id_shown"] = DEFAULT_CONFIRMATIONS[0]
            if params.get("entry_consent", True):
                found["entry_consent"] = DEFAULT_CONFIRMATIONS[2]
        elif evaluator == "recording" and params.get("record_visits") in ("mandatory", "recommended"):
            mandatory = params.get("record_visits") == "mandatory"
            found["recording"] = Confirmation(
                "recording", DEFAULT_CONFIRMATIONS[1].label, mandatory, "" if mandatory else _("recommended")
            )
        elif evaluator == "visit_protections" and params.get("notice_required", True):
            found["notice_given"] = Confirmation(
                "notice_given", _("The borrower was told of this visit in advance"), visit.notice_sent_at is None
            )
    if not found:
        return list(DEFAULT_CONFIRMATIONS)
    order = ["id_shown", "recording", "notice_given", "entry_consent"]
    return [found[code] for code in order if code in found]


# ---------------------------------------------------------------- the pre-visit brief


@dataclass(frozen=True)
class RiskFlag:
    code: str
    label: str | Promise
    danger: bool


@dataclass(frozen=True)
class VisitBrief:
    visit: Visit
    loans: list[Loan]
    overdue_principal: Decimal
    overdue_interest: Decimal
    penalty_interest: Decimal
    overdue_total: Decimal
    days_past_due: int
    bucket: str
    snapshot_date: dt.date
    payments: list[Any] | None  # None: payments are not known to Doorstep yet
    payments_total: Decimal  # net of reversals, which are negative rows
    previous_visits: list[Visit]
    flags: list[RiskFlag]
    script: Any | None
    attachments: list[VisitAttachment]
    alerts: list[VisitAlert]
    script_values: dict[str, str] = field(default_factory=dict)

    @property
    def script_sections(self) -> list[tuple[str | Promise, str]]:
        """The script's sections with this borrower's figures in place of {borrower_name} and the like."""
        if self.script is None:
            return []
        return [
            (SCRIPT_SECTION_LABELS.get(code, code), script_fill(text, self.script_values))
            for code, text in self.script.sections
            if text
        ]


PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def script_fill(text: str, values: dict[str, str]) -> str:
    """Put the values into a script's {placeholders}; a placeholder without a value stays as written."""
    return PLACEHOLDER.sub(lambda found: values.get(found.group(1), found.group(0)), text)


SCRIPT_SECTION_LABELS: dict[str, str | Promise] = {
    "opening": _("Opening and identification"),
    "purpose": _("Purpose"),
    "questions": _("Questions about the reason"),
    "options": _("Options to offer"),
    "never_say": _("Never say"),
}


def _payments_since(case: Any, since: dt.date) -> list[Any] | None:
    try:
        from doorstep.payments.selectors import payments_since
    except ImportError:
        return None
    return list(payments_since(case=case, since=since))


def visit_brief(*, user: AbstractBaseUser | AnonymousUser, visit_id: int) -> VisitBrief:
    """Everything a collector should know before ringing the bell, for one of their own visits."""
    from doorstep.strategy.selectors import script_text

    visit = field_visit_get(user=user, visit_id=visit_id)
    case, borrower = visit.case, visit.borrower
    loans = list(case.loans.filter(is_overdue=True).order_by("-days_past_due", "loan_id"))
    payments = _payments_since(case, case.snapshot_date)
    payments_total = sum((Decimal(getattr(p, "amount", 0)) for p in payments or []), Decimal("0.00"))
    previous = list(
        Visit.objects.filter(borrower=borrower)
        .exclude(pk=visit.pk)
        .filter(Q(status__in=[VisitStatus.COMPLETED, VisitStatus.MISSED]) | Q(checked_in_at__isnull=False))
        .select_related("collector__user")
        .order_by("-window_start")[:PREVIOUS_VISITS_SHOWN]
    )
    hostile = Visit.objects.filter(borrower=borrower, attitude=Attitude.HOSTILE).exclude(pk=visit.pk).exists()
    flags = []
    if borrower.do_not_visit:
        flags.append(RiskFlag("do_not_visit", _("Do not visit"), True))
    if borrower.is_vulnerable:
        flags.append(RiskFlag("vulnerable", _("Vulnerable borrower: be gentle, offer help"), True))
    if borrower.has_dispute:
        flags.append(RiskFlag("dispute", _("Disputes the debt: do not press for payment"), False))
    if borrower.is_deceased:
        flags.append(RiskFlag("deceased", _("Reported deceased"), True))
    if hostile:
        flags.append(RiskFlag("hostile", _("Hostile at an earlier visit: stay together, keep your distance"), True))
    script = script_text(code=visit.script_code, language=get_language()) if visit.script_code else None
    return VisitBrief(
        visit=visit,
        loans=loans,
        overdue_principal=case.overdue_principal,
        overdue_interest=case.overdue_interest,
        penalty_interest=case.penalty_interest,
        overdue_total=case.overdue_total,
        days_past_due=case.days_past_due,
        bucket=case.bucket,
        snapshot_date=case.snapshot_date,
        payments=payments,
        payments_total=payments_total,
        previous_visits=previous,
        flags=flags,
        script=script,
        attachments=list(visit.attachments.order_by("uploaded_at")),
        alerts=list(visit.alerts.order_by("-raised_at")),
        script_values={
            "borrower_name": borrower.name,
            "days_past_due": str(case.days_past_due),
            "overdue_amount": f"{case.overdue_total:,.2f}",
            "loan_tail": loans[0].loan_id[-4:] if loans else "",
        },
    )


# ---------------------------------------------------------------- attachments


def attachment_verify(attachment: VisitAttachment) -> bool:
    """Whether the stored file still has the SHA-256 it was stored under."""
    digest = hashlib.sha256()
    try:
        with attachment.file.open("rb") as handle:
            for block in iter(lambda: handle.read(HASH_BLOCK), b""):
                digest.update(block)
    except FileNotFoundError:
        return False
    return digest.hexdigest() == attachment.sha256


def field_attachment_get(*, user: AbstractBaseUser | AnonymousUser, attachment_id: int) -> VisitAttachment:
    attachment = (
        VisitAttachment.objects.filter(pk=attachment_id, visit__in=field_visits(user=user))
        .select_related("visit")
        .first()
    )
    if attachment is None:
        raise Http404("no such attachment")
    return attachment
