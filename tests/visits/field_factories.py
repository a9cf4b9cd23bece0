"""The field app's cast: a crew of two with a published day plan, and a stranger with a visit of their own.

Until the planner builds day plans, the plans are made here directly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from doorstep.collectors.models import Certificate, Collector, Team
from doorstep.compliance import services as compliance_services
from doorstep.core.roles import Role
from doorstep.portfolio.models import Case
from doorstep.visits.models import Crew, DayPlan, PlanRoute, PlanStatus, PlanStop, Visit
from tests import factories
from tests.conftest import Cast

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(text: str, zone: ZoneInfo = SHANGHAI) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone)


def daytime_zone(now: dt.datetime | None = None) -> str:
    """A fixed-offset zone in which it is now the middle of the working day (for tests that must use the
    real clock, such as browser tests: the gate judges the borrower's local time)."""
    now = now or timezone.now()
    utc_hour = now.astimezone(dt.UTC).hour
    for offset in range(-12, 13):
        if 10 <= (utc_hour + offset) % 24 <= 15:
            # Etc/GMT signs are inverted: Etc/GMT-8 is eight hours ahead of UTC.
            return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"
    return "Etc/GMT"


def certify(collector: Collector) -> None:
    for kind in ("pre_job", "annual"):
        Certificate.objects.create(
            collector=collector, kind=kind, number=f"{kind}-{collector.pk}", issued_on=dt.date(2026, 1, 5),
            expires_on=dt.date(2030, 12, 31),
        )


def make_crew(lead: Collector, partner: Collector | None = None, team: Team | None = None) -> Crew:
    return Crew.objects.create(team=team or lead.team, lead=lead, partner=partner)


def make_visit(
    case: Case,
    crew: Crew,
    window_start: dt.datetime,
    *,
    minutes: int = 30,
    window_hours: int = 2,
    script_code: str = "",
    **fields: object,
) -> Visit:
    return Visit.objects.create(
        case=case,
        borrower=case.borrower,
        purpose=str(fields.pop("purpose", "上门了解逾期原因并沟通还款")),
        script_code=script_code,
        window_start=window_start,
        window_end=window_start + dt.timedelta(hours=window_hours),
        service_minutes=minutes,
        latitude=case.borrower.latitude,
        longitude=case.borrower.longitude,
        collector=crew.lead,
        partner=crew.partner,
        created_by_label="test",
        notice_sent_at=window_start - dt.timedelta(days=2),
        **fields,
    )


def make_published_plan(crew: Crew, day: dt.date, visits: list[Visit], *, version: int = 1) -> DayPlan:
    """A published plan with one route for the crew through `visits` in the order given."""
    start = dt.datetime.combine(day, dt.time(9, 0), tzinfo=SHANGHAI)
    plan = DayPlan.objects.create(
        team=crew.team, day=day, version=version, status=PlanStatus.PUBLISHED, solver="test",
        created_by_label="test",
    )
    route = PlanRoute.objects.create(
        plan=plan, crew=crew, start_latitude=Decimal("30.650000"), start_longitude=Decimal("104.060000"),
        departs_at=start, returns_at=start + dt.timedelta(hours=9), distance_m=12_400, travel_seconds=3_600,
    )
    for sequence, visit in enumerate(visits, start=1):
        eta = max(visit.window_start, start + dt.timedelta(minutes=40 * sequence))
        PlanStop.objects.create(
            route=route, visit=visit, sequence=sequence, eta=eta, starts_at=eta,
            departs_at=eta + dt.timedelta(minutes=visit.service_minutes), travel_seconds=900,
        )
    return plan


@dataclass
class FieldCast:
    cast: Cast
    crew: Crew
    day: dt.date
    visit: Visit
    second_visit: Visit
    stranger_user: object
    stranger: Collector
    strangers_visit: Visit


def build_field_cast(cast: Cast, day: dt.date, *, zone: str = "") -> FieldCast:
    """The collector and their colleague as a crew of two, two stops on `day` (10:00 and 14:00 local), and
    a collector of another team with a stop of their own."""
    compliance_services.caches_clear()
    certify(cast.collector)
    certify(cast.other_collector)
    crew = make_crew(cast.collector, cast.other_collector)
    second_case = factories.make_case(
        factories.make_borrower("王芳", address="四川省成都市武侯区人民南路四段9号",
                                latitude=Decimal("30.630000"), longitude=Decimal("104.070000")),
        overdue_principal="8800.00", overdue_interest="412.30", penalty_interest="65.00", days_past_due=75,
    )
    factories.assign(second_case, cast.team, cast.collector)
    if zone:
        for case in (cast.own_case, second_case, cast.other_team_case):
            case.borrower.time_zone = zone
            case.borrower.save(update_fields=["time_zone"])
    visit = make_visit(cast.own_case, crew, dt.datetime.combine(day, dt.time(10, 0), tzinfo=SHANGHAI))
    second = make_visit(second_case, crew, dt.datetime.combine(day, dt.time(14, 0), tzinfo=SHANGHAI))
    make_published_plan(crew, day, [visit, second])
    other_team = Team.objects.get(branch_code="CD002")
    stranger_user = factories.make_user("stranger", Role.COLLECTOR, first_name="孙催收")
    stranger = factories.make_collector(stranger_user, other_team, "CD0900")
    stranger_mate = factories.make_collector(
        factories.make_user("stranger2", Role.COLLECTOR, first_name="周催收"), other_team, "CD0901"
    )
    certify(stranger)
    certify(stranger_mate)
    stranger_crew = make_crew(stranger, stranger_mate)
    strangers_visit = make_visit(
        cast.other_team_case, stranger_crew, dt.datetime.combine(day, dt.time(11, 0), tzinfo=SHANGHAI)
    )
    make_published_plan(stranger_crew, day, [strangers_visit])
    return FieldCast(cast, crew, day, visit, second, stranger_user, stranger, strangers_visit)


@pytest.fixture
def media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def field(cast: Cast, media) -> FieldCast:  # type: ignore[no-untyped-def]
    return build_field_cast(cast, dt.date(2026, 11, 30))
