"""The overdue sweep as a task and as `doorstep visits-alerts`."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from doorstep.visits import field_services as services
from doorstep.visits.field_tasks import visits_overdue_alerts_task
from doorstep.visits.models import AlertKind, VisitAlert
from tests.visits.field_factories import FieldCast, field, local, media  # noqa: F401

pytestmark = pytest.mark.django_db


def at_the_door(field: FieldCast) -> None:  # noqa: F811
    services.visit_check_in(
        actor=field.cast.collector_user, visit_id=field.visit.pk, latitude="30.6571", longitude="104.081",
        confirmations={"id_shown": True, "recording": True}, at=local("2026-11-30 10:00"),
    )


def test_the_command_raises_each_alert_once(field: FieldCast) -> None:  # noqa: F811
    at_the_door(field)
    out = StringIO()
    call_command("visits_alerts", "--now", "2026-11-30T11:05+08:00", stdout=out)
    call_command("visits_alerts", "--now", "2026-11-30T11:30+08:00", stdout=out)
    assert "raised: 1" in out.getvalue() and "raised: 0" in out.getvalue()
    assert VisitAlert.objects.filter(kind=AlertKind.OVERDUE).count() == 1
    with pytest.raises(CommandError):
        call_command("visits_alerts", "--now", "2026-11-30T11:05")


def test_the_task_runs_the_same_sweep(field: FieldCast) -> None:  # noqa: F811
    at_the_door(field)
    result = visits_overdue_alerts_task.call(now="2026-11-30T10:30+08:00")
    assert result["raised"] == 0
    assert visits_overdue_alerts_task.call(now="2026-11-30T11:01+08:00")["raised"] == 1
