"""The feedback JSON API: the complaints queue and each step of a complaint, scoped as the staff pages are.

Thin on purpose: each operation parses its input schema, calls one selector or service, and shapes the answer.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from doorstep.feedback import selectors, services
from doorstep.feedback.models import Complaint, ComplaintCategory
from doorstep.portfolio import selectors as portfolio_selectors
from doorstep.visits.models import Visit

router = Router(tags=["feedback"])
MAX_PAGE_SIZE = 200

Category = Literal[tuple(ComplaintCategory.values)]  # type: ignore[valid-type]


class ErrorOut(Schema):
    detail: object


class ClockOut(Schema):
    label: str
    due_at: dt.datetime | None
    breached: bool
    remaining_seconds: int | None


class EventOut(Schema):
    kind: str
    status: str
    by: str
    at: dt.datetime
    note: str


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size_bytes: int
    sha256: str


class ComplaintOut(Schema):
    id: int
    reference: str
    borrower_id: int
    case_id: int | None
    visit_id: int | None
    collector_id: int | None
    team_id: int | None
    category: str
    channel: str
    status: str
    outcome: str
    handler: str | None
    received_at: dt.datetime
    acknowledge_due_at: dt.datetime
    decide_due_at: dt.datetime
    extended: bool
    is_dispute: bool
    clock: ClockOut


class ComplaintDetailOut(ComplaintOut):
    text: str
    decision: str
    extension_reason: str
    events: list[EventOut]
    attachments: list[AttachmentOut]


class ComplaintPageOut(Schema):
    count: int
    items: list[ComplaintOut]


def _clock(complaint: Complaint) -> ClockOut:
    clock = selectors.complaint_clock(complaint)
    return ClockOut(
        label=str(clock.label), due_at=clock.due_at, breached=clock.breached,
        remaining_seconds=int(clock.remaining.total_seconds()) if clock.remaining is not None else None,
    )


def _complaint(complaint: Complaint) -> dict[str, object]:
    handler = complaint.handler
    return {
        "id": complaint.pk, "reference": complaint.reference, "borrower_id": complaint.borrower_id,
        "case_id": complaint.case_id, "visit_id": complaint.visit_id, "collector_id": complaint.collector_id,
        "team_id": complaint.team_id, "category": complaint.category, "channel": complaint.channel,
        "status": complaint.status, "outcome": complaint.outcome,
        "handler": handler.get_username() if handler else None, "received_at": complaint.received_at,
        "acknowledge_due_at": complaint.acknowledge_due_at, "decide_due_at": complaint.decide_due_at,
        "extended": complaint.was_extended, "is_dispute": complaint.is_dispute, "clock": _clock(complaint),
    }


def _detail(request: HttpRequest, complaint_id: int) -> ComplaintDetailOut:
    complaint = selectors.complaint_get(user=request.auth, complaint_id=complaint_id)  # type: ignore[attr-defined]
    return ComplaintDetailOut(
        **_complaint(complaint),
        text=complaint.text,
        decision=complaint.decision_text,
        extension_reason=complaint.extension_reason,
        events=[
            EventOut(kind=event.kind, status=event.status, by=event.actor_display, at=event.at, note=event.note)
            for event in complaint.events.all()
        ],
        attachments=[
            AttachmentOut(id=a.pk, name=a.original_name, content_type=a.content_type, size_bytes=a.size_bytes,
                          sha256=a.sha256)
            for a in complaint.attachments.all()
        ],
    )


class QueueIn(Schema):
    status: str = Field("open", description='"open", "" for all, or one status')
    category: str = ""
    team_id: int | None = None
    mine: bool = False
    breached: bool = False
    q: str = ""
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


@router.get("/complaints", response=ComplaintPageOut, summary="The complaints queue you may see")
def complaint_list(request: HttpRequest, filters: Query[QueueIn]) -> ComplaintPageOut:
    selectors.require_view(request.auth)  # type: ignore[attr-defined]
    complaints = selectors.complaints_queue(
        user=request.auth,  # type: ignore[attr-defined]
        filters=selectors.QueueFilters(status=filters.status, category=filters.category, team_id=filters.team_id,
                                       mine=filters.mine, breached=filters.breached, query=filters.q),
    )
    page = complaints[filters.offset: filters.offset + filters.limit]
    return ComplaintPageOut(count=complaints.count(), items=[ComplaintOut(**_complaint(c)) for c in page])


@router.get("/complaints/{int:complaint_id}", response={200: ComplaintDetailOut, 404: ErrorOut}, summary="One complaint")
def complaint_detail(request: HttpRequest, complaint_id: int) -> ComplaintDetailOut:
    return _detail(request, complaint_id)


class ComplaintLogIn(Schema):
    case_id: int
    category: Category
    channel: Literal["phone", "branch", "letter"]
    text: str = Field(..., min_length=1, max_length=5000)
    visit_id: int | None = None
    received_at: dt.datetime | None = None


@router.post("/complaints", response={201: ComplaintDetailOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
             summary="Log a complaint received by phone, at a branch or by letter")
def complaint_log(request: HttpRequest, payload: ComplaintLogIn) -> Status:
    selectors.require_handle(request.auth)  # type: ignore[attr-defined]
    case = portfolio_selectors.case_get(user=request.auth, case_id=payload.case_id)  # type: ignore[attr-defined]
    visit = None
    if payload.visit_id is not None:
        visit = Visit.objects.filter(pk=payload.visit_id, case=case).first()
        if visit is None:
            raise Http404("no such visit")
    complaint = services.complaint_file(
        actor=request.auth, borrower=case.borrower, category=payload.category, text=payload.text,  # type: ignore[attr-defined]
        channel=payload.channel, case=case, visit=visit, received_at=payload.received_at or timezone.now(),
    )
    return Status(201, _detail(request, complaint.pk))


class NoteIn(Schema):
    note: str = Field("", max_length=2000)


class ReasonIn(Schema):
    reason: str = Field(..., min_length=10, max_length=500)


class ResolveIn(Schema):
    outcome: Literal["upheld", "not_upheld"]
    resolution: str = Field(..., min_length=10, max_length=5000)


class AssignIn(Schema):
    handler: str = Field(..., description="The handler's user name")


STEP_RESPONSES = {200: ComplaintDetailOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


def _handled(request: HttpRequest, complaint_id: int) -> Complaint:
    selectors.require_handle(request.auth)  # type: ignore[attr-defined]
    return selectors.complaint_get(user=request.auth, complaint_id=complaint_id)  # type: ignore[attr-defined]


@router.post("/complaints/{int:complaint_id}/acknowledge", response=STEP_RESPONSES, summary="Acknowledge a complaint")
def complaint_acknowledge(request: HttpRequest, complaint_id: int, payload: NoteIn) -> ComplaintDetailOut:
    complaint = _handled(request, complaint_id)
    services.complaint_acknowledge(actor=request.auth, complaint_id=complaint.pk, note=payload.note)  # type: ignore[attr-defined]
    return _detail(request, complaint_id)


@router.post("/complaints/{int:complaint_id}/investigate", response=STEP_RESPONSES, summary="Start investigating")
def complaint_investigate(request: HttpRequest, complaint_id: int, payload: NoteIn) -> ComplaintDetailOut:
    complaint = _handled(request, complaint_id)
    services.complaint_investigate(actor=request.auth, complaint_id=complaint.pk, note=payload.note)  # type: ignore[attr-defined]
    return _detail(request, complaint_id)


@router.post("/complaints/{int:complaint_id}/extend", response=STEP_RESPONSES,
             summary="Extend the decision deadline, once, with a reason")
def complaint_extend(request: HttpRequest, complaint_id: int, payload: ReasonIn) -> ComplaintDetailOut:
    complaint = _handled(request, complaint_id)
    services.complaint_extend(actor=request.auth, complaint_id=complaint.pk, reason=payload.reason)  # type: ignore[attr-defined]
    return _detail(request, complaint_id)


@router.post("/complaints/{int:complaint_id}/resolve", response=STEP_RESPONSES,
             summary="Decide a complaint: upheld or not, with the answer for the borrower")
def complaint_resolve(request: HttpRequest, complaint_id: int, payload: ResolveIn) -> ComplaintDetailOut:
    complaint = _handled(request, complaint_id)
    services.complaint_resolve(actor=request.auth, complaint_id=complaint.pk, outcome=payload.outcome,  # type: ignore[attr-defined]
                               resolution=payload.resolution)
    return _detail(request, complaint_id)


@router.post("/complaints/{int:complaint_id}/reject", response=STEP_RESPONSES, summary="Reject a complaint, with a reason")
def complaint_reject(request: HttpRequest, complaint_id: int, payload: ReasonIn) -> ComplaintDetailOut:
    complaint = _handled(request, complaint_id)
    services.complaint_reject(actor=request.auth, complaint_id=complaint.pk, reason=payload.reason)  # type: ignore[attr-defined]
    return _detail(request, complaint_id)


@router.post("/complaints/{int:complaint_id}/assign", response=STEP_RESPONSES, summary="Give a complaint to a handler")
def complaint_assign(request: HttpRequest, complaint_id: int, payload: AssignIn) -> ComplaintDetailOut:
    complaint = _handled(request, complaint_id)
    handler = get_user_model().objects.filter(username=payload.handler, is_active=True).first()
    if handler is None:
        raise Http404("no such handler")
    services.complaint_assign(actor=request.auth, complaint_id=complaint.pk, handler=handler)  # type: ignore[attr-defined]
    return _detail(request, complaint_id)


class RatingOut(Schema):
    stars: int
    comment: str
    source: str
    at: dt.datetime


class VisitFeedbackOut(Schema):
    visit_id: int
    rating: RatingOut | None
    complaints: list[ComplaintOut]


@router.get("/visits/{int:visit_id}/feedback", response={200: VisitFeedbackOut, 403: ErrorOut, 404: ErrorOut},
            summary="A visit's rating and complaints")
def visit_feedback(request: HttpRequest, visit_id: int) -> VisitFeedbackOut:
    visit = selectors.visit_for_feedback(user=request.auth, visit_id=visit_id)  # type: ignore[attr-defined]
    feedback = selectors.visit_feedback(visit=visit, user=request.auth)  # type: ignore[attr-defined]
    rating = feedback.rating
    return VisitFeedbackOut(
        visit_id=visit.pk,
        rating=RatingOut(stars=rating.stars, comment=rating.comment, source=rating.source, at=rating.at) if rating else None,
        complaints=[ComplaintOut(**_complaint(c)) for c in feedback.complaints],
    )
