"""Every write about ratings and complaints. One transaction each, an audit entry each, and the borrower
told of each step of a complaint once the step is committed."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.collectors.models import CaseAssignment, Collector
from doorstep.core.audit import Actor, actor_fields, audit_record
from doorstep.core.roles import sees_whole_portfolio
from doorstep.feedback import sla
from doorstep.feedback.models import (
    CONDUCT_CATEGORIES,
    DISPUTE_CATEGORIES,
    OPEN_COMPLAINT_STATUSES,
    Complaint,
    ComplaintAttachment,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintEvent,
    ComplaintEventKind,
    ComplaintOutcome,
    ComplaintStatus,
    RatingSource,
    VisitRating,
)
from doorstep.portfolio.models import Borrower, Case
from doorstep.visits.models import Visit, VisitStatus

MIN_REASON = 10
MAX_ATTACHMENTS = 5
ATTACHMENT_TYPES = ("image/", "audio/", "video/", "application/pdf", "text/plain")
RATEABLE_VISIT_STATUSES = (VisitStatus.CHECKED_IN, VisitStatus.COMPLETED)


# ---------------------------------------------------------------- settings


def acknowledge_business_days() -> int:
    return int(getattr(settings, "DOORSTEP_COMPLAINT_ACKNOWLEDGE_BUSINESS_DAYS", 1))


def decide_days() -> int:
    return int(getattr(settings, "DOORSTEP_COMPLAINT_DECIDE_DAYS", 15))


def extension_days() -> int:
    return int(getattr(settings, "DOORSTEP_COMPLAINT_EXTENSION_DAYS", 15))


def holidays() -> frozenset[dt.date]:
    return sla.parse_holidays(getattr(settings, "DOORSTEP_HOLIDAYS", ()))


def attachment_max_bytes() -> int:
    return int(getattr(settings, "DOORSTEP_COMPLAINT_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))


def complaint_deadlines(*, received_at: dt.datetime, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """When a complaint received at `received_at` must be acknowledged, and decided."""
    acknowledge_by = sla.add_business_days(received_at, acknowledge_business_days(), zone, holidays())
    return acknowledge_by, sla.add_days(received_at, decide_days())


# ---------------------------------------------------------------- ratings


def rating_record(
    *, actor: Actor, visit: Visit, stars: int, comment: str = "", source: str = RatingSource.PORTAL
) -> VisitRating:
    """Record the borrower's rating of a visit that took place. A visit is rated once; a second rating is refused."""
    if not isinstance(stars, int) or isinstance(stars, bool) or not 1 <= stars <= 5:
        raise ValidationError({"stars": _("Choose from one to five stars.")})
    if source not in RatingSource.values:
        raise ValidationError({"source": _("Unknown source.")})
    comment = (comment or "").strip()
    if len(comment) > 2000:
        raise ValidationError({"comment": _("Keep the comment under 2,000 characters.")})
    with transaction.atomic():
        locked = Visit.objects.select_for_update().get(pk=visit.pk)
        if locked.status not in RATEABLE_VISIT_STATUSES:
            raise ValidationError(_("Only a visit that took place can be rated."))
        if VisitRating.objects.filter(visit=locked).exists():
            raise ValidationError(_("This visit has already been rated."))
        rating = VisitRating.objects.create(
            visit=locked, stars=stars, comment=comment, source=source,
            recorded_by_label=actor_fields(actor)["actor_label"],
        )
        audit_record(
            actor=actor, action="feedback.rating.recorded", target=rating,
            data={"visit": locked.pk, "stars": stars, "source": source},
        )
    return rating


# ---------------------------------------------------------------- filing a complaint


def _attachment_rows(files: Sequence[UploadedFile]) -> list[tuple[UploadedFile, str, int]]:
    if len(files) > MAX_ATTACHMENTS:
        raise ValidationError({"attachments": _("Attach at most %(count)d files.") % {"count": MAX_ATTACHMENTS}})
    rows = []
    for upload in files:
        size = upload.size or 0
        if size > attachment_max_bytes():
            raise ValidationError(
                {"attachments": _("%(name)s is too large.") % {"name": upload.name}}
            )
        content_type = (upload.content_type or "").lower()
        if not content_type.startswith(ATTACHMENT_TYPES):
            raise ValidationError(
                {"attachments": _("%(name)s is not a photo, recording, PDF or text file.") % {"name": upload.name}}
            )
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        rows.append((upload, digest.hexdigest(), size))
    return rows


def _team_of(case: Case | None, collector: Collector | None) -> int | None:
    if collector is not None:
        return collector.team_id
    if case is not None:
        assignment = CaseAssignment.objects.filter(case=case, ended_at__isnull=True).only("team_id").first()
        return assignment.team_id if assignment else None
    return None


def complaint_file(
    *,
    actor: Actor,
    borrower: Borrower,
    category: str,
    text: str,
    channel: str,
    case: Case | None = None,
    visit: Visit | None = None,
    collector: Collector | None = None,
    attachments: Sequence[UploadedFile] = (),
    received_at: dt.datetime | None = None,
) -> Complaint:
    """Record a complaint with its deadlines, from the portal or logged by staff (phone, branch, letter).

    A complaint that disputes the debt puts the borrower on hold in the compliance gate until it is decided.
    """
    errors: dict[str, str] = {}
    if category not in ComplaintCategory.values:
        errors["category"] = _("Choose what the complaint is about.")
    if channel not in ComplaintChannel.values:
        errors["channel"] = _("Unknown channel.")
    text = (text or "").strip()
    if not text:
        errors["text"] = _("Tell us what happened.")
    elif len(text) > 5000:
        errors["text"] = _("Keep the description under 5,000 characters.")
    if visit is not None and visit.borrower_id != borrower.pk:
        errors["visit"] = _("That visit was not to this borrower.")
    if case is not None and case.borrower_id != borrower.pk:
        errors["case"] = _("That case is not this borrower's.")
    if visit is not None and case is not None and visit.case_id != case.pk:
        errors["visit"] = _("That visit belongs to another case.")
    if received_at is not None and (timezone.is_naive(received_at) or received_at > timezone.now()):
        errors["received_at"] = _("Give a past time with a time zone.")
    if errors:
        raise ValidationError(errors)
    files = _attachment_rows(attachments)
    if visit is not None:
        case = case or visit.case
        collector = collector or visit.collector
    received_at = received_at or timezone.now()
    acknowledge_by, decide_by = complaint_deadlines(received_at=received_at, zone=borrower.zone)
    label = actor_fields(actor)["actor_label"]
    is_dispute = category in DISPUTE_CATEGORIES
    with transaction.atomic():
        preexisting = False
        if is_dispute:
            preexisting = _dispute_hold_place(actor=actor, borrower_id=borrower.pk)
        complaint = Complaint.objects.create(
            borrower=borrower, case=case, visit=visit, collector=collector, team_id=_team_of(case, collector),
            category=category, text=text, channel=channel, filed_by_label=label, received_at=received_at,
            acknowledge_due_at=acknowledge_by, decide_due_at=decide_by, is_dispute=is_dispute,
            dispute_flag_preexisting=preexisting,
        )
        for upload, sha256, size in files:
            if complaint.attachments.filter(sha256=sha256).exists():
                continue
            attachment = ComplaintAttachment(
                complaint=complaint, original_name=(upload.name or "")[:200],
                content_type=(upload.content_type or "")[:100], size_bytes=size, sha256=sha256,
                uploaded_by_label=label,
            )
            attachment.file.save(sha256, upload, save=False)
            attachment.save()
        _event(complaint, ComplaintEventKind.FILED, actor, note=ComplaintChannel(channel).label, at=received_at)
        audit_record(
            actor=actor, action="feedback.complaint.filed", target=complaint,
            data={"borrower": borrower.pk, "case": case.pk if case else None, "visit": visit.pk if visit else None,
                  "collector": collector.pk if collector else None, "category": category, "channel": channel,
                  "attachments": [sha256 for _upload, sha256, _size in files], "dispute": is_dispute},
        )
        _tell_borrower_after_commit(complaint, "complaint_received", actor)
        if is_dispute and case is not None:
            case_id = case.pk
            transaction.on_commit(lambda: _cancel_visits(actor, case_id, complaint.reference), robust=True)
    return complaint


# ---------------------------------------------------------------- the workflow


def _locked(complaint_id: int) -> Complaint:
    return Complaint.objects.select_for_update(of=("self",)).select_related("borrower").get(pk=complaint_id)


def _move(complaint: Complaint, status: str) -> str:
    if not complaint.can_move_to(status):
        raise ValidationError(
            _("A complaint that is %(current)s cannot become %(target)s.")
            % {"current": complaint.get_status_display(), "target": ComplaintStatus(status).label}
        )
    before = complaint.status
    complaint.status = status
    return before


def _event(complaint: Complaint, kind: str, actor: Actor, note: str = "", at: dt.datetime | None = None) -> None:
    fields = actor_fields(actor)
    ComplaintEvent.objects.create(
        complaint=complaint, kind=kind, status=complaint.status, actor=fields["actor"],
        actor_label=fields["actor_label"], note=note, at=at or timezone.now(),
    )


def complaint_acknowledge(*, actor: Actor, complaint_id: int, note: str = "") -> Complaint:
    """Tell the borrower the complaint has been received and is being looked at; stops the first clock."""
    with transaction.atomic():
        complaint = _locked(complaint_id)
        _move(complaint, ComplaintStatus.ACKNOWLEDGED)
        now = timezone.now()
        complaint.acknowledged_at = now
        if now > complaint.acknowledge_due_at and complaint.acknowledge_breached_at is None:
            complaint.acknowledge_breached_at = complaint.acknowledge_due_at
        if complaint.handler_id is None and isinstance(actor, AbstractBaseUser):
            complaint.handler = actor  # type: ignore[assignment]
        complaint.save(update_fields=["status", "acknowledged_at", "acknowledge_breached_at", "handler"])
        _event(complaint, ComplaintEventKind.ACKNOWLEDGED, actor, note)
        audit_record(actor=actor, action="feedback.complaint.acknowledged", target=complaint,
                     data={"late": complaint.acknowledge_breached_at is not None})
        _tell_borrower_after_commit(complaint, "complaint_acknowledged", actor)
    return complaint


def complaint_assign(*, actor: Actor, complaint_id: int, handler: AbstractBaseUser) -> Complaint:
    """Give an open complaint to a handler who may handle complaints."""
    if not handler.is_active or not handler.has_perm("feedback.handle_complaints"):  # type: ignore[attr-defined]
        raise ValidationError({"handler": _("That person may not handle complaints.")})
    with transaction.atomic():
        complaint = _locked(complaint_id)
        if not complaint.is_open:
            raise ValidationError(_("A decided complaint cannot be reassigned."))
        if not sees_whole_portfolio(handler) and not (
            complaint.team_id and complaint.team.supervisor_id == handler.pk
        ):
            raise ValidationError({"handler": _("That person may not handle complaints about this team.")})
        before = complaint.handler_id
        complaint.handler = handler  # type: ignore[assignment]
        complaint.save(update_fields=["handler"])
        name = handler.get_full_name() or handler.get_username()  # type: ignore[attr-defined]
        _event(complaint, ComplaintEventKind.ASSIGNED, actor, name)
        audit_record(actor=actor, action="feedback.complaint.assigned", target=complaint,
                     data={"from": before, "to": handler.pk})
    return complaint


def complaint_investigate(*, actor: Actor, complaint_id: int, note: str = "") -> Complaint:
    with transaction.atomic():
        complaint = _locked(complaint_id)
        _move(complaint, ComplaintStatus.INVESTIGATING)
        if complaint.handler_id is None and isinstance(actor, AbstractBaseUser):
            complaint.handler = actor  # type: ignore[assignment]
        complaint.save(update_fields=["status", "handler"])
        _event(complaint, ComplaintEventKind.INVESTIGATING, actor, note)
        audit_record(actor=actor, action="feedback.complaint.investigating", target=complaint)
        _tell_borrower_after_commit(complaint, "complaint_investigating", actor)
    return complaint


def complaint_extend(*, actor: Actor, complaint_id: int, reason: str) -> Complaint:
    """Move the decision deadline once, by the configured number of days, for a stated reason."""
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ValidationError({"reason": _("Give the reason in at least %(count)d characters.") % {"count": MIN_REASON}})
    with transaction.atomic():
        complaint = _locked(complaint_id)
        if not complaint.is_open:
            raise ValidationError(_("A decided complaint has no deadline to extend."))
        if complaint.extended_at is not None:
            raise ValidationError(_("The deadline of a complaint can be extended only once."))
        before = complaint.decide_due_at
        complaint.decide_due_at = sla.add_days(before, extension_days())
        complaint.extended_at = timezone.now()
        complaint.extension_reason = reason[:500]
        complaint.save(update_fields=["decide_due_at", "extended_at", "extension_reason"])
        _event(complaint, ComplaintEventKind.EXTENDED, actor, reason)
        audit_record(actor=actor, action="feedback.complaint.extended", target=complaint,
                     data={"from": before.isoformat(), "to": complaint.decide_due_at.isoformat(), "reason": reason})
        _tell_borrower_after_commit(complaint, "complaint_extended", actor)
    return complaint


def complaint_resolve(*, actor: Actor, complaint_id: int, outcome: str, resolution: str) -> Complaint:
    """Decide the complaint: upheld or not, with the answer the borrower receives.

    A decided dispute lifts the hold; an upheld complaint about conduct sends the collector for review.
    """
    if outcome not in ComplaintOutcome.values:
        raise ValidationError({"outcome": _("Say whether the complaint is upheld.")})
    resolution = (resolution or "").strip()
    if len(resolution) < MIN_REASON:
        raise ValidationError(
            {"resolution": _("Write the decision in at least %(count)d characters.") % {"count": MIN_REASON}}
        )
    with transaction.atomic():
        complaint = _locked(complaint_id)
        _move(complaint, ComplaintStatus.RESOLVED)
        complaint.outcome = outcome
        complaint.decision_text = resolution
        _decide(complaint, actor)
        _event(complaint, ComplaintEventKind.RESOLVED, actor, f"{ComplaintOutcome(outcome).label}: {resolution}")
        audit_record(actor=actor, action="feedback.complaint.resolved", target=complaint,
                     data={"outcome": outcome, "late": complaint.decide_breached_at is not None})
        if outcome == ComplaintOutcome.UPHELD and complaint.category in CONDUCT_CATEGORIES and complaint.collector_id:
            _collector_flag(actor, complaint)
        _tell_borrower_after_commit(complaint, "complaint_resolved", actor)
    return complaint


def complaint_reject(*, actor: Actor, complaint_id: int, reason: str) -> Complaint:
    """Decline to deal with a complaint (a duplicate, not a complaint, out of scope), telling the borrower why."""
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ValidationError({"reason": _("Give the reason in at least %(count)d characters.") % {"count": MIN_REASON}})
    with transaction.atomic():
        complaint = _locked(complaint_id)
        _move(complaint, ComplaintStatus.REJECTED)
        complaint.decision_text = reason
        _decide(complaint, actor)
        _event(complaint, ComplaintEventKind.REJECTED, actor, reason)
        audit_record(actor=actor, action="feedback.complaint.rejected", target=complaint, data={"reason": reason})
        _tell_borrower_after_commit(complaint, "complaint_rejected", actor)
    return complaint


def _decide(complaint: Complaint, actor: Actor) -> None:
    now = timezone.now()
    complaint.decided_at = now
    if complaint.acknowledged_at is None:
        complaint.acknowledged_at = now
        if now > complaint.acknowledge_due_at and complaint.acknowledge_breached_at is None:
            complaint.acknowledge_breached_at = complaint.acknowledge_due_at
    if now > complaint.decide_due_at and complaint.decide_breached_at is None:
        complaint.decide_breached_at = complaint.decide_due_at
    if complaint.handler_id is None and isinstance(actor, AbstractBaseUser):
        complaint.handler = actor  # type: ignore[assignment]
    complaint.save(update_fields=[
        "status", "outcome", "decision_text", "decided_at", "acknowledged_at", "acknowledge_breached_at",
        "decide_breached_at", "handler",
    ])
    if complaint.is_dispute:
        _dispute_hold_release(actor=actor, complaint=complaint)


# ---------------------------------------------------------------- the dispute hold


def _dispute_hold_place(*, actor: Actor, borrower_id: int) -> bool:
    """Turn on the borrower's dispute flag, which the compliance gate reads (rule FLAG-DISPUTE).

    Returns whether it was already on without an open dispute complaint of ours, i.e. set by the bank.
    """
    borrower = Borrower.objects.select_for_update().get(pk=borrower_id)
    ours = Complaint.objects.filter(
        borrower_id=borrower_id, is_dispute=True, status__in=OPEN_COMPLAINT_STATUSES
    ).exists()
    if borrower.has_dispute:
        return not ours
    Borrower.objects.filter(pk=borrower_id).update(has_dispute=True, updated_at=timezone.now())
    audit_record(actor=actor, action="feedback.dispute_hold.placed", target=borrower)
    return False


def _dispute_hold_release(*, actor: Actor, complaint: Complaint) -> None:
    """Lift the dispute flag once the borrower's last open dispute is decided, unless the bank had set it."""
    borrower = Borrower.objects.select_for_update().get(pk=complaint.borrower_id)
    others = Complaint.objects.filter(
        borrower_id=borrower.pk, is_dispute=True, status__in=OPEN_COMPLAINT_STATUSES
    ).exclude(pk=complaint.pk)
    if not borrower.has_dispute or others.exists():
        return
    first = (
        Complaint.objects.filter(borrower_id=borrower.pk, is_dispute=True, received_at__lte=complaint.received_at)
        .order_by("received_at", "pk")
        .first()
    )
    if complaint.dispute_flag_preexisting or (first is not None and first.dispute_flag_preexisting):
        return
    Borrower.objects.filter(pk=borrower.pk).update(has_dispute=False, updated_at=timezone.now())
    audit_record(actor=actor, action="feedback.dispute_hold.released", target=borrower,
                 data={"complaint": complaint.pk})


def _cancel_visits(actor: Actor, case_id: int, reference: str) -> None:
    from doorstep.visits.services import visits_cancel_for_case

    visits_cancel_for_case(actor=actor, case_id=case_id, reason=_("Debt disputed (complaint %(ref)s)") % {"ref": reference})


# ---------------------------------------------------------------- the collector review


def _collector_flag(actor: Actor, complaint: Complaint) -> None:
    from doorstep.collectors.services import collector_review_flag

    collector_review_flag(
        actor=actor,
        collector_id=complaint.collector_id,
        reason=_("Upheld complaint %(ref)s: %(category)s")
        % {"ref": complaint.reference, "category": complaint.get_category_display()},
        source="complaint",
        source_id=complaint.pk,
    )
    _event(complaint, ComplaintEventKind.COLLECTOR_FLAGGED, actor, str(complaint.collector))


# ---------------------------------------------------------------- deadlines


def complaint_breaches_record(*, actor: Actor = "system:daily", now: dt.datetime | None = None) -> dict[str, int]:
    """Record every open complaint whose acknowledgement or decision is now overdue (each breach once)."""
    now = now or timezone.now()
    counts = {"acknowledge": 0, "decide": 0}
    with transaction.atomic():
        late_ack = Complaint.objects.select_for_update().filter(
            status=ComplaintStatus.RECEIVED, acknowledge_due_at__lt=now, acknowledge_breached_at__isnull=True
        )
        for complaint in late_ack:
            complaint.acknowledge_breached_at = complaint.acknowledge_due_at
            complaint.save(update_fields=["acknowledge_breached_at"])
            _event(complaint, ComplaintEventKind.ACKNOWLEDGE_BREACHED, actor, at=now)
            counts["acknowledge"] += 1
        late_decision = Complaint.objects.select_for_update().filter(
            status__in=OPEN_COMPLAINT_STATUSES, decide_due_at__lt=now, decide_breached_at__isnull=True
        )
        for complaint in late_decision:
            complaint.decide_breached_at = complaint.decide_due_at
            complaint.save(update_fields=["decide_breached_at"])
            _event(complaint, ComplaintEventKind.DECIDE_BREACHED, actor, at=now)
            counts["decide"] += 1
        if counts["acknowledge"] or counts["decide"]:
            audit_record(actor=actor, action="feedback.complaint.breaches_recorded", object_type="feedback.complaint",
                         data={**counts, "at": now.isoformat()})
    return counts


# ---------------------------------------------------------------- telling the borrower


def _message_context(complaint: Complaint) -> dict[str, Any]:
    zone = complaint.borrower.zone
    return {
        "reference": complaint.reference,
        "category": complaint.category,
        "received_on": complaint.received_at.astimezone(zone).date().isoformat(),
        "acknowledge_by": complaint.acknowledge_due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        "decide_by": complaint.decide_due_at.astimezone(zone).date().isoformat(),
        "outcome": complaint.outcome,
        "decision": complaint.decision_text,
        "extension_reason": complaint.extension_reason,
        "is_dispute": complaint.is_dispute,
    }


def _tell_borrower_after_commit(complaint: Complaint, template: str, actor: Actor) -> None:
    context = _message_context(complaint)
    key = f"feedback:complaint:{complaint.pk}:{template}"
    borrower, case = complaint.borrower, complaint.case

    def send() -> None:
        from doorstep.notify.services import message_queue

        message_queue(
            actor=actor, template=template, channel="sms", context=context, idempotency_key=key,
            case=case, borrower=borrower, contact=False,
        )

    transaction.on_commit(send, robust=True)
