from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from doorstep.collectors.models import Certificate, Collector
from doorstep.compliance import services
from doorstep.compliance.services import ContactAction
from doorstep.core.crypto import lookup_hash
from doorstep.portfolio.models import Case
from tests.conftest import Cast

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _fresh_gate_caches() -> None:
    services.caches_clear()


def certify(collector: Collector, *kinds: str, expires: dt.date = dt.date(2027, 12, 31)) -> None:
    for kind in kinds or ("pre_job", "annual"):
        Certificate.objects.create(
            collector=collector, kind=kind, number=f"{kind}-{collector.pk}", issued_on=dt.date(2026, 1, 5),
            expires_on=expires,
        )


@pytest.fixture
def certified(cast: Cast) -> Cast:
    """The cast, with both collectors' pre-job and annual training current."""
    certify(cast.collector)
    certify(cast.other_collector)
    return cast


def local(text: str, zone: ZoneInfo = SHANGHAI) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone)


def phone_call(case: Case, when: dt.datetime, *collectors: Collector, phone: str = "13800000001", **fields) -> ContactAction:
    return ContactAction(
        case_id=case.pk,
        channel="call",
        start=when,
        contact_point_hash=lookup_hash(phone),
        collector_ids=tuple(collector.pk for collector in collectors),
        **fields,
    )


def field_visit(case: Case, when: dt.datetime, *collectors: Collector, minutes: int = 45, **fields) -> ContactAction:
    return ContactAction(
        case_id=case.pk,
        channel="visit",
        start=when,
        end=when + dt.timedelta(minutes=minutes),
        collector_ids=tuple(collector.pk for collector in collectors),
        **fields,
    )
