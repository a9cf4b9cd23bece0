"""The demo carries out a few visits on the published plans, once."""

from __future__ import annotations

import pytest

from doorstep.visits.field_demo import record_sample_visits
from doorstep.visits.models import AlertKind, Visit, VisitAlert, VisitStatus
from tests.visits.field_factories import FieldCast, field, media  # noqa: F401

pytestmark = pytest.mark.django_db


def test_sample_visits_are_recorded_once_with_different_outcomes(field: FieldCast) -> None:  # noqa: F811
    said: list[str] = []

    class Context:
        say = said.append

    first = record_sample_visits(Context())

    completed = Visit.objects.filter(status=VisitStatus.COMPLETED)
    assert completed.count() == 2
    assert set(completed.values_list("pk", flat=True)) == {field.visit.pk, field.strangers_visit.pk}
    assert len(set(completed.values_list("result", flat=True))) == 2
    assert sum(first.values()) == 2
    assert VisitAlert.objects.filter(kind=AlertKind.FAR_CHECK_IN).count() == 1
    assert said and "2" in said[0]

    assert record_sample_visits(Context()) == {}
    assert Visit.objects.filter(status=VisitStatus.COMPLETED).count() == 2


def test_no_published_plan_means_nothing_to_do(db) -> None:
    assert record_sample_visits(None) == {}
