"""What a collector does at the door: check in, record, attach, check out; and the safety alerts.

Each state change is one function, one transaction, one audit entry. The compliance gate is asked at
check-in and the attempt goes to the contact ledger whether or not the gate allows it; a refused
check-in leaves the visit exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.collectors.models import Collector
from doorstep.compliance.models import Channel, Place, Purpose
from doorstep.compliance.services import ContactAction, ContactVerdict, contact_outcome, contact_record
from doorstep.core.audit import Actor, audit_record
from doorstep.core.money import MoneyError, money
from doorstep.visits.field_selectors import Confirmation, confirmations_required
from doorstep.visits.models import (
    AlertKind,
    AttachmentKind,
    Attitude,
    DelinquencyReason,
    NextAction,
    PersonMet,
    Visit,
    VisitAlert,
    VisitAttachment,
    VisitResult,
    VisitStatus,
    Willingness,
)

EARTH_RADIUS_M = 6_371_008.8
DEFAULT_FAR_METRES = 300
DEFAULT_OVERDUE_MARGIN_MINUTES = 30
DEFAULT_ATTACHMENT_MAX_BYTES = 25 * 1024 * 1024
HASH_BLOCK = 1 << 20

# What an attachment may be, recognised from its first bytes rather than from what the phone claims.
ATTACHMENT_TYPES: dict[str, str] = {
    "image/jpeg": AttachmentKind.PHOTO,
    "image/png": AttachmentKind.PHOTO,
    "image/webp": AttachmentKind.PHOTO,
    "image/heic": AttachmentKind.PHOTO,
    "audio/mpeg": AttachmentKind.AUDIO,
    "audio/mp4": AttachmentKind.AUDIO,
    "audio/ogg": AttachmentKind.AUDIO,
    "audio/wav": AttachmentKind.AUDIO,
    "audio/webm": AttachmentKind.AUDIO,
    "audio/amr": AttachmentKind.AUDIO,
    "application/pdf": AttachmentKind.DOCUMENT,
}


class FieldError(ValidationError):
    pass


def far_metres() -> int:
    return int(getattr(settings, "DOORSTEP_CHECK_IN_FAR_METRES", DEFAULT_FAR_METRES))


def overdue_margin() -> dt.timedelta:
    return dt.timedelta(
        minutes=int(getattr(settings, "DOORSTEP_VISIT_OVERDUE_MARGIN_MINUTES", DEFAULT_OVERDUE_MARGIN_MINUTES))
    )


def attachment_max_bytes() -> int:
    return int(getattr(settings, "DOORSTEP_VISIT_ATTACHMENT_MAX_BYTES", DEFAULT_ATTACHMENT_MAX_BYTES))


def haversine_metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points in metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _coordinate(value: Decimal | float | str | None, limit: int, name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value)).quantize(Decimal("0.000001"))
    except ArithmeticError as error:
        raise FieldError({name: _("Not a valid position.")}) from error
    if not number.is_finite() or abs(number) > limit:
        raise FieldError({name: _("Not a valid position.")})
    return number


def _position(latitude: Any, longitude: Any) -> tuple[Decimal | None, Decimal | None]:
    lat, lon = _coordinate(latitude, 90, "latitude"), _coordinate(longitude, 180, "longitude")
    if (lat is None) != (lon is None):
        raise FieldError(_("A position needs both latitude and longitude."))
    return lat, lon


def _collector_of(actor: Actor) -> Collector:
    if isinstance(actor, AbstractBaseUser) and actor.is_authenticated:
        collector = Collector.objects.filter(user=actor).first()
        if collector is not None:
            return collector
    raise PermissionDenied(_("Only a collector can do this."))


def _own_visit_locked(actor: Actor, visit_id: int) -> Visit:
    """The visit, locked, if the actor is one of its collectors; PermissionDenied otherwise (also when the
    visit does not exist, so that the answer never tells whether another collector's visit exists)."""
    collector = _collector_of(actor)
    visit = (
        Visit.objects.select_for_update(of=("self",))
        .select_related("borrower", "case")
        .filter(pk=visit_id)
        .filter(Q(collector=collector) | Q(partner=collector))
        .first()
    )
    if visit is None:
        raise PermissionDenied(_("This is not one of your visits."))
    return visit


def _move(visit: Visit, status: str) -> None:
    if not visit.can_move_to(status):
        raise FieldError(
            _("A visit that is %(current)s cannot become %(new)s.")
            % {"current": visit.get_status_display(), "new": VisitStatus(status).label}
        )
    visit.status = status


# ---------------------------------------------------------------- check-in


@dataclass(frozen=True)
class CheckInResult:
    visit: Visit
    verdict: ContactVerdict
    distance_m: int | None
    far: bool

    @property
    def allowed(self) -> bool:
        return self.verdict.allowed


def visit_check_in(
    *,
    actor: AbstractBaseUser,
    visit_id: int,
    latitude: Decimal | float | str | None,
    longitude: Decimal | float | str | None,
    accuracy_m: int | None = None,
    confirmations: Mapping[str, bool],
    enters_residence: bool = False,
    at: dt.datetime | None = None,
) -> CheckInResult:
    """Ask the gate whether the visit may go ahead now and record the contact in the ledger.

    Allowed: the visit is checked in with the position, its distance to the address (flagged, with an
    alert for the team lead, when far) and the confirmations given. Refused: the ledger holds the
    refused attempt and the visit is unchanged; the caller shows `verdict.reasons`.
    """
    at = at or timezone.now()
    lat, lon = _position(latitude, longitude)
    if lat is None or lon is None:
        raise FieldError(_("Your position is needed to check in. Allow location access and try again."))
    with transaction.atomic():
        visit = _own_visit_locked(actor, visit_id)
        if visit.status != VisitStatus.SCHEDULED:
            _move(visit, VisitStatus.CHECKED_IN)
        planned_day = timezone.localtime(visit.window_start).date()
        if timezone.localtime(at).date() != planned_day:
            raise FieldError(_("This visit is planned for %(day)s.") % {"day": planned_day.isoformat()})
        required: list[Confirmation] = confirmations_required(visit=visit)
        given = {item.code: bool(confirmations.get(item.code)) for item in required}
        missing = [str(item.label) for item in required if item.required and not given[item.code]]
        if enters_residence and "entry_consent" in given and not given["entry_consent"]:
            missing.append(_("The borrower agreed to let us in"))
        if missing:
            raise FieldError(_("Confirm before you go on: %(items)s.") % {"items": "; ".join(missing)})
        action = ContactAction(
            case_id=visit.case_id,
            channel=Channel.VISIT,
            start=at,
            end=at + dt.timedelta(minutes=visit.service_minutes),
            purpose=Purpose.COLLECT,
            place=Place.HOME,
            collector_ids=tuple(member.pk for member in visit.collectors),
            recorded=given.get("recording", False),
            enters_residence=enters_residence,
            entry_consent=given.get("entry_consent", False),
            notice_given=visit.notice_sent_at is not None or given.get("notice_given", False),
        )
        event, verdict = contact_record(actor=actor, action=action)
        if not verdict.allowed:
            return CheckInResult(visit=visit, verdict=verdict, distance_m=None, far=False)
        target_lat = visit.latitude if visit.latitude is not None else visit.borrower.latitude
        target_lon = visit.longitude if visit.longitude is not None else visit.borrower.longitude
        distance: int | None = None
        if target_lat is not None and target_lon is not None:
            distance = round(haversine_metres(float(lat), float(lon), float(target_lat), float(target_lon)))
        far = distance is not None and distance > far_metres()
        _move(visit, VisitStatus.CHECKED_IN)
        visit.checked_in_at = at
        visit.check_in_latitude, visit.check_in_longitude = lat, lon
        visit.check_in_accuracy_m = max(0, int(accuracy_m)) if accuracy_m is not None else None
        visit.check_in_distance_m = distance
        visit.check_in_far = far
        visit.confirmations = {**given, "enters_residence": enters_residence}
        visit.contact_event_id = event.pk
        visit.save(
            update_fields=[
                "status", "checked_in_at", "check_in_latitude", "check_in_longitude", "check_in_accuracy_m",
                "check_in_distance_m", "check_in_far", "confirmations", "contact_event_id",
            ]
        )
        if far:
            VisitAlert.objects.create(
                kind=AlertKind.FAR_CHECK_IN,
                collector=_collector_of(actor),
                visit=visit,
                raised_at=at,
                latitude=lat,
                longitude=lon,
                note=_("Checked in %(metres)s m from the address.") % {"metres": distance},
            )
        audit_record(
            actor=actor,
            action="visits.visit.checked_in",
            target=visit,
            data={
                "at": at.isoformat(), "distance_m": distance, "far": far, "confirmations": visit.confirmations,
                "contact_event": event.pk, "rule_set": verdict.rule_set_version,
            },
        )
    return CheckInResult(visit=visit, verdict=verdict, distance_m=distance, far=far)


# ---------------------------------------------------------------- the record


@dataclass(frozen=True)
class VisitRecord:
    """What the collector found and agreed at the door."""

    person_met: str
    result: str
    attitude: str = ""
    willingness: str = ""
    delinquency_reason: str = ""
    notes: str = ""
    next_action: str = ""
    follow_up_on: dt.date | None = None
    promise_amount: Decimal | None = None
    promise_due_on: dt.date | None = None

    def validate(self, today: dt.date) -> None:
        errors: dict[str, str] = {}
        choices = {
            "person_met": PersonMet, "result": VisitResult, "attitude": Attitude, "willingness": Willingness,
            "delinquency_reason": DelinquencyReason, "next_action": NextAction,
        }
        for name, enum in choices.items():
            value = getattr(self, name)
            if value and value not in enum.values:
                errors[name] = _("Choose one of the options.")
        for name in ("person_met", "result"):
            if not getattr(self, name):
                errors[name] = _("This is needed.")
        if self.person_met == PersonMet.NOBODY and self.result in (
            VisitResult.PAID, VisitResult.PROMISE, VisitResult.PLAN_REQUESTED, VisitResult.REFUSED
        ):
            errors["result"] = _("Nobody was met, so nothing can have been agreed or refused.")
        if self.result == VisitResult.PROMISE:
            if self.person_met != PersonMet.BORROWER:
                errors["person_met"] = _("Only the borrower can promise to pay.")
            if self.promise_amount is None or self.promise_amount <= 0:
                errors["promise_amount"] = _("Give the amount promised.")
            if self.promise_due_on is None:
                errors["promise_due_on"] = _("Give the date promised.")
            elif self.promise_due_on < today:
                errors["promise_due_on"] = _("The promised date cannot be in the past.")
        if self.follow_up_on is not None and self.follow_up_on < today:
            errors["follow_up_on"] = _("The follow-up date cannot be in the past.")
        if self.next_action and self.next_action != NextAction.NONE and self.follow_up_on is None:
            errors["follow_up_on"] = _("Say when the next action is due.")
        if errors:
            raise FieldError(errors)


def visit_promise(visit: Visit) -> Any | None:
    """The promise to pay taken at this visit, if the arrangements app holds one."""
    try:
        from doorstep.arrangements.models import PromiseToPay
    except ImportError:
        return None
    return PromiseToPay.objects.filter(visit=visit).order_by("-pk").first()


def _promise_record(**kwargs: Any) -> Any | None:
    """`arrangements.services.promise_record`, when the arrangements app provides it. A record saved again
    (a correction) does not take the same promise twice."""
    try:
        from doorstep.arrangements.services import promise_record
    except ImportError:
        return None
    earlier = visit_promise(kwargs["visit"])
    if earlier is not None and earlier.amount == kwargs["amount"] and earlier.due_on == kwargs["due_on"]:
        return earlier
    return promise_record(**kwargs)


def visit_record(*, actor: AbstractBaseUser, visit_id: int, record: VisitRecord) -> Visit:
    """Save what happened at the door while checked in (again if corrected). A promise to pay is
    recorded with the arrangements app in the same transaction."""
    today = timezone.localdate()
    if record.promise_amount is not None:
        try:
            record = VisitRecord(**{**record.__dict__, "promise_amount": money(record.promise_amount)})
        except MoneyError as error:
            raise FieldError({"promise_amount": _("Not an amount.")}) from error
    record.validate(today)
    with transaction.atomic():
        visit = _own_visit_locked(actor, visit_id)
        if visit.status != VisitStatus.CHECKED_IN:
            raise FieldError(_("Check in before you record the visit."))
        visit.person_met = record.person_met
        visit.attitude = record.attitude if record.person_met != PersonMet.NOBODY else ""
        visit.willingness = record.willingness if record.person_met != PersonMet.NOBODY else ""
        visit.delinquency_reason = record.delinquency_reason if record.person_met != PersonMet.NOBODY else ""
        visit.result = record.result
        visit.notes = record.notes.strip()
        visit.next_action = record.next_action
        visit.follow_up_on = record.follow_up_on
        visit.save(
            update_fields=[
                "person_met", "attitude", "willingness", "delinquency_reason", "result", "notes",
                "next_action", "follow_up_on",
            ]
        )
        promise_id = None
        if record.result == VisitResult.PROMISE:
            promise = _promise_record(
                actor=actor, case=visit.case, amount=record.promise_amount, due_on=record.promise_due_on,
                channel="visit", visit=visit, note=visit.notes[:300],
            )
            promise_id = getattr(promise, "pk", None)
        audit_record(
            actor=actor,
            action="visits.visit.recorded",
            target=visit,
            data={
                "person_met": visit.person_met, "attitude": visit.attitude, "willingness": visit.willingness,
                "reason": visit.delinquency_reason, "result": visit.result, "next_action": visit.next_action,
                "follow_up_on": visit.follow_up_on.isoformat() if visit.follow_up_on else None,
                "promise": (
                    {"amount": str(record.promise_amount), "due_on": record.promise_due_on.isoformat(),
                     "promise_id": promise_id}
                    if record.result == VisitResult.PROMISE and record.promise_due_on else None
                ),
            },
        )
    return visit


# ---------------------------------------------------------------- attachments


def sniff_content_type(head: bytes) -> str | None:
    """The attachment's type from its first bytes, or None for anything not accepted."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"heim", b"hevc"):
            return "image/heic"
        return "audio/mp4"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "audio/webm"
    if head.startswith(b"#!AMR"):
        return "audio/amr"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def file_sha256(handle: Any) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(HASH_BLOCK), b""):
        digest.update(block)
    return digest.hexdigest()


def visit_attachment_add(*, actor: AbstractBaseUser, visit_id: int, upload: UploadedFile) -> VisitAttachment:
    """Keep a photo, recording or document of the visit under its SHA-256. The same file twice on one
    visit is kept once."""
    if upload.size is None or upload.size == 0:
        raise FieldError({"file": _("The file is empty.")})
    if upload.size > attachment_max_bytes():
        raise FieldError(
            {"file": _("The file is larger than %(mb)s MB.") % {"mb": attachment_max_bytes() // (1024 * 1024)}}
        )
    upload.seek(0)
    head = upload.read(32)
    content_type = sniff_content_type(head)
    if content_type is None:
        raise FieldError({"file": _("Only photos (JPEG, PNG, WebP, HEIC), audio recordings and PDF files.")})
    upload.seek(0)
    sha256 = file_sha256(upload)
    upload.seek(0)
    with transaction.atomic():
        visit = _own_visit_locked(actor, visit_id)
        if visit.status not in (VisitStatus.CHECKED_IN, VisitStatus.COMPLETED):
            raise FieldError(_("Attach files once you have checked in."))
        existing = VisitAttachment.objects.filter(visit=visit, sha256=sha256).first()
        if existing is not None:
            return existing
        attachment = VisitAttachment(
            visit=visit,
            kind=ATTACHMENT_TYPES[content_type],
            original_name=(upload.name or "file")[-200:],
            content_type=content_type,
            size_bytes=upload.size,
            sha256=sha256,
            uploaded_at=timezone.now(),
            uploaded_by=actor,
        )
        attachment.file.save(sha256, upload, save=False)
        try:
            with transaction.atomic():
                attachment.save()
        except IntegrityError:
            attachment.file.delete(save=False)
            raise
        audit_record(
            actor=actor,
            action="visits.visit.attachment_added",
            target=visit,
            data={"attachment": attachment.pk, "sha256": sha256, "kind": attachment.kind,
                  "content_type": content_type, "size_bytes": attachment.size_bytes},
        )
    return attachment


def attachment_add_bytes(*, actor: AbstractBaseUser, visit_id: int, name: str, data: bytes) -> VisitAttachment:
    """`visit_attachment_add` for content already in memory (the API, the demo)."""
    upload = ContentFile(data, name=name)
    return visit_attachment_add(actor=actor, visit_id=visit_id, upload=upload)  # type: ignore[arg-type]


# ---------------------------------------------------------------- check-out


def visit_check_out(
    *,
    actor: AbstractBaseUser,
    visit_id: int,
    latitude: Decimal | float | str | None = None,
    longitude: Decimal | float | str | None = None,
    at: dt.datetime | None = None,
) -> Visit:
    """Leave the door: the visit is completed, and the ledger entry gets what happened."""
    at = at or timezone.now()
    lat, lon = _position(latitude, longitude)
    with transaction.atomic():
        visit = _own_visit_locked(actor, visit_id)
        _move(visit, VisitStatus.COMPLETED)
        if not visit.result:
            raise FieldError(_("Record what happened before you check out."))
        if visit.checked_in_at and at < visit.checked_in_at:
            raise FieldError(_("Check-out cannot come before check-in."))
        visit.checked_out_at = at
        visit.check_out_latitude, visit.check_out_longitude = lat, lon
        visit.save(update_fields=["status", "checked_out_at", "check_out_latitude", "check_out_longitude"])
        if visit.contact_event_id:
            from doorstep.compliance.models import ContactEvent

            event = ContactEvent.objects.filter(pk=visit.contact_event_id).first()
            if event is not None:
                contact_outcome(
                    actor=actor,
                    contact_event=event,
                    connected=visit.person_met not in ("", PersonMet.NOBODY),
                    right_party=visit.person_met == PersonMet.BORROWER,
                    outcome_code=visit.result,
                    ended_at=at,
                )
        VisitAlert.objects.filter(
            visit=visit, kind=AlertKind.OVERDUE, acknowledged_at__isnull=True
        ).update(note=_("Checked out at %(time)s.") % {"time": timezone.localtime(at).strftime("%H:%M")})
        audit_record(
            actor=actor,
            action="visits.visit.checked_out",
            target=visit,
            data={"at": at.isoformat(), "result": visit.result,
                  "minutes": round((at - visit.checked_in_at).total_seconds() / 60) if visit.checked_in_at else None},
        )
    return visit


# ---------------------------------------------------------------- safety


def _supervisor_tell(*, actor: Actor, alert: VisitAlert, template: str) -> None:
    """Queue a staff message about the alert to the collector's team lead (in the staff app)."""
    try:
        from doorstep.notify.services import message_queue
    except ImportError:
        return
    collector = Collector.objects.select_related("team__supervisor", "user").get(pk=alert.collector_id)
    lead = collector.team.supervisor
    if lead is None:
        return
    message_queue(
        actor=actor,
        template=template,
        channel="app",
        context={
            "alert_id": alert.pk,
            "kind": alert.kind,
            "collector_name": collector.display_name,
            "badge_number": collector.badge_number,
            "team_name": collector.team.name,
            "latitude": str(alert.latitude) if alert.latitude is not None else "",
            "longitude": str(alert.longitude) if alert.longitude is not None else "",
            "raised_at": timezone.localtime(alert.raised_at).strftime("%Y-%m-%d %H:%M"),
            "visit_id": alert.visit_id,
            "note": alert.note,
        },
        idempotency_key=f"visit-alert-{alert.pk}",
        collector=collector,
        contact=False,
        recipient=lead.get_username(),
    )


def alert_sos_raise(
    *,
    actor: AbstractBaseUser,
    latitude: Decimal | float | str | None,
    longitude: Decimal | float | str | None,
    visit_id: int | None = None,
    note: str = "",
    at: dt.datetime | None = None,
) -> VisitAlert:
    """A collector asks for help: the team lead sees an SOS alert with the position at once."""
    at = at or timezone.now()
    lat, lon = _position(latitude, longitude)
    with transaction.atomic():
        collector = _collector_of(actor)
        visit = _own_visit_locked(actor, visit_id) if visit_id else None
        alert = VisitAlert.objects.create(
            kind=AlertKind.SOS, collector=collector, visit=visit, raised_at=at, latitude=lat, longitude=lon,
            note=note.strip()[:300],
        )
        audit_record(
            actor=actor,
            action="visits.alert.sos_raised",
            target=alert,
            data={"visit": visit_id, "latitude": str(lat) if lat is not None else None,
                  "longitude": str(lon) if lon is not None else None},
        )
        transaction.on_commit(
            lambda: _supervisor_tell(actor=actor, alert=alert, template="visit_sos"), robust=True
        )
    return alert


def alerts_overdue_raise(*, now: dt.datetime, actor: Actor = "system:visit-alerts") -> int:
    """One alert for each visit checked in and not checked out within its planned minutes plus the margin.
    Safe to run as often as wanted: a visit gets one such alert."""
    margin = overdue_margin()
    candidates = (
        Visit.objects.filter(status=VisitStatus.CHECKED_IN, checked_in_at__lte=now - margin)
        .exclude(alerts__kind=AlertKind.OVERDUE)
        .select_related("collector__team")
        .only("id", "checked_in_at", "service_minutes", "collector", "check_in_latitude", "check_in_longitude")
    )
    raised: list[VisitAlert] = []
    for visit in candidates:
        due = visit.checked_in_at + dt.timedelta(minutes=visit.service_minutes) + margin
        if due > now:
            continue
        with transaction.atomic():
            locked = Visit.objects.select_for_update().filter(pk=visit.pk, status=VisitStatus.CHECKED_IN).first()
            if locked is None or VisitAlert.objects.filter(visit=locked, kind=AlertKind.OVERDUE).exists():
                continue
            minutes = round((now - visit.checked_in_at).total_seconds() / 60)
            alert = VisitAlert.objects.create(
                kind=AlertKind.OVERDUE, collector=visit.collector, visit=locked, raised_at=now,
                latitude=visit.check_in_latitude, longitude=visit.check_in_longitude,
                note=_("At the door for %(minutes)s minutes (planned %(planned)s).")
                % {"minutes": minutes, "planned": visit.service_minutes},
            )
            audit_record(actor=actor, action="visits.alert.overdue_raised", target=alert,
                         data={"visit": visit.pk, "minutes": minutes})
            transaction.on_commit(
                lambda alert=alert: _supervisor_tell(actor=actor, alert=alert, template="visit_overdue"),
                robust=True,
            )
            raised.append(alert)
    return len(raised)
