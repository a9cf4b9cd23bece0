"""Every write to the outbox: queueing (through the compliance gate), cancelling, dispatching, delivering.

A message to a borrower that is a collection contact asks the gate twice: when it is queued (to find
the earliest time it may go, never inside quiet hours) and again when it is due, because the ledger may
have changed in between. It is recorded in the contact ledger when it is handed over for sending, or
when the gate refuses it outright. One-time codes and messages to staff are not collection contacts.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.collectors.models import Collector
from doorstep.compliance.models import Channel as ContactChannel
from doorstep.compliance.services import ContactAction, ContactVerdict, check, contact_record
from doorstep.core.audit import Actor, actor_fields, audit_record
from doorstep.core.crypto import decrypt_text, encrypt_text
from doorstep.core.masking import mask_phone
from doorstep.notify import backends
from doorstep.notify.models import Message, MessageChannel, MessageStatus
from doorstep.notify.rendering import language_of, message_render
from doorstep.portfolio.models import ACTIVE_CASE_STATUSES, Borrower, Case

logger = logging.getLogger(__name__)

GATE_CHANNELS = {
    MessageChannel.SMS: ContactChannel.SMS,
    MessageChannel.LETTER: ContactChannel.LETTER,
    MessageChannel.EMAIL: ContactChannel.EMAIL,
}
SECRET_ERASED = "—"  # noqa: S105 -- the placeholder left where a one-time code was


class NotifyError(ValidationError):
    pass


def mask_address(value: str) -> str:
    """Keep the province and city a postman would read first; hide the street and number."""
    value = " ".join(value.split())
    if len(value) <= 6:
        return "*" * len(value)
    return value[:6] + "****"


def mask_email(value: str) -> str:
    local, _at, domain = value.partition("@")
    return (local[:1] + "***@" + domain) if domain else mask_phone(value)


def _recipient(
    *, channel: str, borrower: Borrower | None, collector: Collector | None, recipient: str
) -> tuple[str, str]:
    """The address the message goes to, and how it is shown on screen."""
    if recipient:
        maskers = {MessageChannel.EMAIL: mask_email, MessageChannel.LETTER: mask_address, MessageChannel.SMS: mask_phone}
        # A staff login name is no personal data of a borrower: the app channel shows it as it is.
        return recipient, maskers.get(channel, str)(recipient)  # type: ignore[call-overload]
    if borrower is not None and collector is None:
        if channel == MessageChannel.SMS:
            return decrypt_text(borrower.phone_encrypted), borrower.phone_masked
        if channel == MessageChannel.LETTER:
            return f"{borrower.name}\n{borrower.address}", f"{borrower.name[:1]}** · {mask_address(borrower.address)}"
    if collector is not None and channel == MessageChannel.APP:
        return collector.user.get_username(), collector.display_name
    raise NotifyError(_("There is no address on file for this message."))


def _contact_case(case: Case | None, borrower: Borrower | None) -> Case:
    if case is not None:
        return case
    found = None
    if borrower is not None:
        found = (
            Case.objects.filter(borrower=borrower, status__in=ACTIVE_CASE_STATUSES).order_by("-opened_on").first()
            or Case.objects.filter(borrower=borrower).order_by("-opened_on").first()
        )
    if found is None:
        raise NotifyError(_("A collection contact needs the borrower's case."))
    return found


def _action(message: Message, at: dt.datetime) -> ContactAction:
    return ContactAction(
        case_id=message.case_id,  # type: ignore[arg-type]
        channel=GATE_CHANNELS[message.channel],  # type: ignore[index]
        start=at,
        contact_point_hash=message.borrower.phone_hash if message.channel == MessageChannel.SMS else "",  # type: ignore[union-attr]
        notice_given=True,
    )


def _reasons(verdict: ContactVerdict | None) -> list[dict[str, Any]]:
    """The refusals, kept as the gate's hits so that each reader sees the sentence in their language."""
    if verdict is None:
        return []
    return [hit for hit in verdict.hits if hit.get("severity") == "refuse"]


def _hold(message: Message, *, actor: Actor, at: dt.datetime, verdict: ContactVerdict | None = None) -> None:
    """The gate refused the message outright: record the attempt in the ledger and hold the message."""
    event, recorded = contact_record(actor=actor, action=_action(message, at))
    message.status = MessageStatus.HELD
    message.contact_event = event
    message.hold_reasons = _reasons(recorded) or _reasons(verdict)
    message.save(update_fields=["status", "contact_event", "hold_reasons"])
    audit_record(
        actor=actor,
        action="notify.message.held",
        target=message,
        data={"rules": [reason["rule_id"] for reason in message.hold_reasons], "template": message.template},
    )


def message_queue(
    *,
    actor: Actor,
    template: str,
    channel: str,
    context: dict[str, Any],
    idempotency_key: str,
    case: Case | None = None,
    borrower: Borrower | None = None,
    collector: Collector | None = None,
    language: str | None = None,
    not_before: dt.datetime | None = None,
    contact: bool = True,
    recipient: str = "",
    secret: bool = False,
) -> Message:
    """Render and queue one message. The same `idempotency_key` always returns the first message made with it.

    For a collection contact (`contact=True`, to a borrower) the gate picks the send time: `not_before`
    (or now) if allowed, else the earliest allowed time; a contact it refuses outright is held, with its
    reasons, and the refusal is recorded in the ledger. `recipient` overrides the address on file;
    `secret` marks a message staff must never read (a one-time code).
    """
    if channel not in MessageChannel.values:
        raise NotifyError(_("Unknown channel."))
    if not idempotency_key or len(idempotency_key) > 200:
        raise NotifyError(_("A message needs an idempotency key of at most 200 characters."))
    if not_before is not None and timezone.is_naive(not_before):
        raise NotifyError(_("Times must carry a time zone."))
    existing = Message.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    if case is not None and borrower is None:
        borrower = case.borrower
    is_contact = bool(contact and borrower is not None and collector is None and channel in GATE_CHANNELS)
    if is_contact:
        case = _contact_case(case, borrower)
    address, masked = _recipient(channel=channel, borrower=borrower, collector=collector, recipient=recipient)
    chosen = language or getattr(borrower, "language", "") or None
    rendered = message_render(template=template, channel=channel, language=language_of(chosen), context=context)
    now = timezone.now()
    send_at = max(not_before or now, now)
    try:
        with transaction.atomic():
            message = Message.objects.create(
                channel=channel,
                template=template,
                language=rendered.language,
                subject=rendered.subject,
                body=rendered.body,
                is_secret=secret,
                recipient_encrypted=encrypt_text(address),
                recipient_masked=masked[:120],
                case=case,
                borrower=borrower,
                collector=collector,
                is_contact=is_contact,
                send_after=send_at,
                idempotency_key=idempotency_key,
                created_by_label=actor_fields(actor)["actor_label"],
                created_at=now,
            )
            verdict = check(_action(message, send_at)) if is_contact else None
            if verdict is not None and not verdict.allowed and verdict.earliest_allowed is None:
                _hold(message, actor=actor, at=send_at, verdict=verdict)
            else:
                if verdict is not None and not verdict.allowed:
                    message.send_after = verdict.earliest_allowed  # type: ignore[assignment]
                    message.save(update_fields=["send_after"])
                audit_record(
                    actor=actor,
                    action="notify.message.queued",
                    target=message,
                    data={"template": template, "channel": channel, "send_after": message.send_after.isoformat(),
                          "case": message.case_id, "collector": message.collector_id},
                )
    except IntegrityError:
        existing = Message.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return existing
    return message


def message_cancel(*, actor: Actor, message_id: int, reason: str) -> Message:
    """Stop a message that has not gone out. Cancelling a cancelled message changes nothing."""
    reason = reason.strip()
    if not reason:
        raise NotifyError(_("Give a reason."))
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message_id)
        if message.status == MessageStatus.CANCELLED:
            return message
        if not message.can_move_to(MessageStatus.CANCELLED):
            raise NotifyError(_("A message that was sent or failed cannot be cancelled."))
        previous = message.status
        message.status = MessageStatus.CANCELLED
        message.cancelled_reason = reason[:300]
        message.save(update_fields=["status", "cancelled_reason"])
        audit_record(
            actor=actor,
            action="notify.message.cancelled",
            target=message,
            data={"from": previous, "reason": reason[:300]},
        )
    return message


def messages_cancel_for(*, actor: Actor, case: Case, templates: Sequence[str], reason: str) -> int:
    """Cancel the case's messages of these templates that have not gone out (a visit called off)."""
    ids = list(
        Message.objects.filter(
            case=case, template__in=list(templates), status__in=[MessageStatus.QUEUED, MessageStatus.READY]
        ).values_list("pk", flat=True)
    )
    for message_id in ids:
        message_cancel(actor=actor, message_id=message_id, reason=reason)
    return len(ids)


# ---------------------------------------------------------------- dispatch


@dataclass
class DispatchResult:
    ready: int = 0
    sent: int = 0
    held: int = 0
    deferred: int = 0
    failed: int = 0

    @property
    def handled(self) -> int:
        return self.ready + self.sent + self.held + self.failed


DISPATCH_ACTOR = "system:notify"


def _release(message_id: int, now: dt.datetime) -> str:
    """Judge one due message again and move it on: ready (for the backend), deferred, held or gone."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(of=("self",)).select_related("borrower").filter(pk=message_id).first()
        )
        if message is None or message.status != MessageStatus.QUEUED or message.send_after > now:
            return "skipped"
        if message.is_contact:
            verdict = check(_action(message, now))
            if not verdict.allowed and verdict.earliest_allowed is not None and verdict.earliest_allowed > now:
                message.send_after = verdict.earliest_allowed
                message.save(update_fields=["send_after"])
                return "deferred"
            event, recorded = contact_record(actor=DISPATCH_ACTOR, action=_action(message, now))
            message.contact_event = event
            if not recorded.allowed:
                message.status = MessageStatus.HELD
                message.hold_reasons = _reasons(recorded)
                message.save(update_fields=["status", "contact_event", "hold_reasons"])
                audit_record(
                    actor=DISPATCH_ACTOR,
                    action="notify.message.held",
                    target=message,
                    data={"rules": [reason["rule_id"] for reason in message.hold_reasons]},
                )
                return "held"
        message.status = MessageStatus.READY
        message.next_attempt_at = None
        message.save(update_fields=["status", "contact_event", "next_attempt_at"])
        audit_record(actor=DISPATCH_ACTOR, action="notify.message.released", target=message,
                     data={"template": message.template, "channel": message.channel})
    return "ready"


def message_mark_sent(*, message_id: int, provider_id: str, at: dt.datetime | None = None) -> Message:
    """The backend or the gateway has the message. A secret message's text is erased now."""
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message_id)
        if message.status == MessageStatus.SENT:
            return message
        if not message.can_move_to(MessageStatus.SENT):
            raise NotifyError(_("This message can no longer be sent."))
        message.status = MessageStatus.SENT
        message.sent_at = at or timezone.now()
        message.provider_id = provider_id[:120]
        message.last_error = ""
        message.next_attempt_at = None
        fields = ["status", "sent_at", "provider_id", "last_error", "next_attempt_at"]
        if message.is_secret:
            message.body = SECRET_ERASED
            fields.append("body")
        message.save(update_fields=fields)
        audit_record(actor=DISPATCH_ACTOR, action="notify.message.sent", target=message,
                     data={"provider_id": message.provider_id, "attempts": message.attempts})
    return message


def message_mark_failed(*, message_id: int, error: str, final: bool, retry_at: dt.datetime | None = None) -> Message:
    """A delivery attempt failed: try again at `retry_at`, or give up (`final`)."""
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message_id)
        if message.status != MessageStatus.READY:
            return message
        message.last_error = error[:300]
        fields = ["last_error", "next_attempt_at"]
        if final:
            message.status = MessageStatus.FAILED
            message.next_attempt_at = None
            fields.append("status")
        else:
            message.next_attempt_at = retry_at
        message.save(update_fields=fields)
        audit_record(
            actor=DISPATCH_ACTOR,
            action="notify.message.failed" if final else "notify.message.retry_scheduled",
            target=message,
            data={"error": error[:300], "attempts": message.attempts},
        )
    return message


def _deliver_direct(message_ids: Sequence[int], backend: str, result: DispatchResult, now: dt.datetime) -> None:
    deliver = backends.DIRECT_DELIVERY[backend]
    for message in Message.objects.filter(pk__in=list(message_ids), status=MessageStatus.READY).order_by("pk"):
        try:
            provider_id = deliver(message)
        except OSError as error:
            logger.warning("notify: delivering message %s failed: %s", message.pk, error.strerror)
            message_mark_failed(message_id=message.pk, error=str(error.strerror or error), final=True)
            result.failed += 1
        else:
            message_mark_sent(message_id=message.pk, provider_id=provider_id, at=now)
            result.sent += 1


def outbox_dispatch(
    *, now: dt.datetime | None = None, limit: int = 500, message_ids: Sequence[int] | None = None
) -> int:
    """Hand the due messages (at most `limit`; only `message_ids` if given) to the configured backend.

    Returns how many were handed over or held; `outbox_dispatch_run` gives the details.
    """
    return outbox_dispatch_run(now=now, limit=limit, message_ids=message_ids).handled


def outbox_dispatch_run(
    *,
    now: dt.datetime | None = None,
    limit: int = 500,
    message_ids: Sequence[int] | None = None,
    backend: str | None = None,
) -> DispatchResult:
    """`outbox_dispatch` with the counts of each outcome; `backend` overrides the setting (the demo's file)."""
    now = now or timezone.now()
    backend = backend or backends.backend_name()
    if backend not in backends.BACKENDS:
        raise ValueError(f"unknown notify backend {backend!r}")
    due = Message.objects.filter(status=MessageStatus.QUEUED, send_after__lte=now)
    if message_ids is not None:
        due = due.filter(pk__in=list(message_ids))
    ids = list(due.order_by("send_after", "pk").values_list("pk", flat=True)[:limit])
    result = DispatchResult()
    released = []
    for message_id in ids:
        outcome = _release(message_id, now)
        if outcome == "ready":
            released.append(message_id)
        elif outcome == "held":
            result.held += 1
        elif outcome == "deferred":
            result.deferred += 1
    if backend in backends.DIRECT_DELIVERY:
        _deliver_direct(released, backend, result, now)
    else:
        result.ready += len(released)
    return result
