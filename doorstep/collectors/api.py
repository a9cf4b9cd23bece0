"""JSON reads about training: who may go to the field, and a collector's own training status."""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from doorstep.collectors import selectors

router = Router(tags=["collectors"])


class CertificateStateOut(Schema):
    kind: str
    state: str
    expires_on: dt.date | None


class TrainingStatusOut(Schema):
    collector_id: int
    badge_number: str
    name: str
    field_ready: bool
    certificates: list[CertificateStateOut]
    courses_to_take: list[str]
    open_review_flags: int
    cases_to_reassign: int
    quality: int | None


def _out(row: selectors.TrainingStatus) -> TrainingStatusOut:
    return TrainingStatusOut(
        collector_id=row.collector.pk,
        badge_number=row.collector.badge_number,
        name=row.collector.display_name,
        field_ready=row.field_ready,
        certificates=[
            CertificateStateOut(kind=item.kind, state=item.state,
                                expires_on=item.certificate.expires_on if item.certificate else None)
            for item in row.certificates
        ],
        courses_to_take=[enrolment.course.title for enrolment in row.open_enrolments],
        open_review_flags=row.open_flags,
        cases_to_reassign=row.cases_to_reassign,
        quality=row.quality,
    )


@router.get("/collectors/training-status", response=list[TrainingStatusOut])
def training_status(request: HttpRequest, on: dt.date | None = None) -> list[TrainingStatusOut]:
    """Training status of the collectors the caller may see (a collector: only themselves)."""
    visible = selectors.visible_collectors(user=request.auth)  # type: ignore[attr-defined]
    collectors = list(visible.filter(is_active=True).order_by("badge_number"))
    rows = selectors.training_status(collectors=collectors, on=on or timezone.localdate())
    return [_out(row) for row in rows]


@router.get("/collectors/{collector_id}/training-status", response=TrainingStatusOut)
def collector_training_status(request: HttpRequest, collector_id: int) -> TrainingStatusOut:
    collector = selectors.collector_for(user=request.auth, collector_id=collector_id)  # type: ignore[attr-defined]
    rows = selectors.training_status(collectors=[collector], on=timezone.localdate())
    if not rows:
        raise Http404
    return _out(rows[0])
