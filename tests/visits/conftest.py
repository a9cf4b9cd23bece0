from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation

from doorstep.collectors.models import Collector, Territory
from doorstep.compliance import services as compliance_services
from doorstep.portfolio.models import Case
from doorstep.strategy.models import CaseTreatment, StrategyVersion
from tests import factories
from tests.conftest import Cast

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Friday morning; the field week planned is the next Monday to Friday.
NOW = dt.datetime(2026, 12, 4, 10, 0, tzinfo=SHANGHAI)
MONDAY = dt.date(2026, 12, 7)


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _fresh_gate_caches() -> None:
    compliance_services.caches_clear()


@pytest.fixture(autouse=True)
def _messages_in_english() -> Iterator[None]:
    with translation.override("en"):
        yield


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, at: dt.datetime) -> None:
        self.monkeypatch = monkeypatch
        self.set(at)

    def set(self, at: dt.datetime) -> None:
        self.at = at
        self.monkeypatch.setattr(timezone, "now", lambda: self.at)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch, NOW)


def certify(collector: Collector, expires: dt.date = dt.date(2027, 12, 31)) -> None:
    from doorstep.collectors.models import Certificate

    for kind in ("pre_job", "annual"):
        Certificate.objects.create(collector=collector, kind=kind, number=f"{kind}-{collector.pk}",
                                   issued_on=dt.date(2026, 1, 5), expires_on=expires)


_versions: dict[int, StrategyVersion] = {}


def strategy_version(manager: object) -> StrategyVersion:
    from tests.strategy.factories import make_version

    found = StrategyVersion.objects.first()
    return found or make_version(manager)  # type: ignore[arg-type]


def due_visit(case: Case, version: StrategyVersion, *, on: dt.date = MONDAY, priority: int = 2,
              business_date: dt.date | None = None) -> CaseTreatment:
    return CaseTreatment.objects.create(
        business_date=business_date or NOW.date(), case=case, version=version, rule_key="late",
        started_on=NOW.date(), next_step=0, next_channel="visit", next_priority=priority, next_due_on=on,
    )


@dataclass
class FieldTeam:
    cast: Cast
    territory: Territory
    version: StrategyVersion
    cases: list[Case]


def place(case: Case, lat: float, lon: float) -> None:
    from decimal import Decimal

    borrower = case.borrower
    borrower.latitude, borrower.longitude = Decimal(f"{lat:.6f}"), Decimal(f"{lon:.6f}")
    borrower.save(update_fields=["latitude", "longitude"])


@pytest.fixture
def field(cast: Cast, clock: Clock) -> FieldTeam:
    """The cast's team as a field crew: both collectors certified, the lead collector experienced, a
    territory round the borrowers, and the cast's two team cases plus four more due a visit on Monday."""
    from decimal import Decimal

    territory = factories.make_territory()
    territory.radius_km = Decimal("15.00")
    territory.save(update_fields=["radius_km"])
    cast.team.territories.add(territory)
    for collector, home in ((cast.collector, (30.650, 104.060)), (cast.other_collector, (30.655, 104.065))):
        certify(collector)
        collector.home_latitude, collector.home_longitude = Decimal(str(home[0])), Decimal(str(home[1]))
        collector.is_experienced = collector == cast.collector
        collector.save()
        collector.territories.add(territory)
    version = strategy_version(cast.manager)
    cases = [cast.own_case, cast.colleagues_case]
    for number in range(4):
        case = factories.make_case(factories.make_borrower(f"借款人{number}"))
        factories.assign(case, cast.team)
        cases.append(case)
    offsets = [(0.01, 0.01), (0.02, -0.01), (-0.015, 0.02), (0.03, 0.03), (-0.02, -0.02), (0.005, -0.025)]
    for case, (dlat, dlon) in zip(cases, offsets, strict=True):
        place(case, 30.657 + dlat, 104.081 + dlon)
        due_visit(case, version)
    return FieldTeam(cast, territory, version, cases)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Call a service as a request would: what it does after commit (notices, re-plans) runs at its end."""

    def call(function, /, **kwargs):  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return call
