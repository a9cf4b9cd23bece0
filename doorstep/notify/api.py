"""The outbox over JSON: list the messages you may see (recipients masked, one-time codes hidden), and cancel
one that has not gone out. Each operation is one selector or one service."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from doorstep.core.roles import Role, has_role
from doorstep.notify import selectors, services
from doorstep.notify.models import Message, MessageChannel, MessageStatus

router = Router(tags=["notify"])

MAX_PAGE_SIZE = 200
# Who may stop a message: the people who plan the contacts, not those who only read the outbox.
CANCEL_ROLES = (Role.ADMIN, Role.MANAGER, Role.SUPERVISOR)


class MessageQuery(Schema):
    case_id: int | None = Field(None, description="Only this case's messages")
    status: MessageStatus | None = None
    channel: MessageChannel | None = None
    limit: int = Field(50, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(0, ge=0)


class MessageOut(Schema):
    id: int
    channel: str
    template: str
    language: str
    status: str
    recipient: str = Field(description="Masked; the full address never leaves Doorstep through the API")
    subject: str
    body: str = Field(description="Empty for one-time codes, which staff never read")
    case_id: int | None
    collector_badge: str | None
    is_contact: bool
    send_after: dt.datetime
    sent_at: dt.datetime | None
    attempts: int
    last_error: str
    hold_rules: list[str]


class MessagePageOut(Schema):
    total: int
    limit: int
    offset: int
    messages: list[MessageOut]


class CancelIn(Schema):
    reason: str = Field(min_length=1, max_length=300)


def _out(message: Message) -> MessageOut:
    return MessageOut(
        id=message.pk,
        channel=message.channel,
        template=message.template,
        language=message.language,
        status=message.status,
        recipient=message.recipient_masked,
        subject="" if message.is_secret else message.subject,
        body="" if message.is_secret else message.body,
        case_id=message.case_id,
        collector_badge=message.collector.badge_number if message.collector_id else None,  # type: ignore[union-attr]
        is_contact=message.is_contact,
        send_after=message.send_after,
        sent_at=message.sent_at,
        attempts=message.attempts,
        last_error=message.last_error,
        hold_rules=[hit.get("rule_id", "") for hit in message.hold_reasons or []],
    )


@router.get("/notify/messages", response=MessagePageOut, summary="The outbox messages you may see")
def message_list(request: HttpRequest, query: Query[MessageQuery]) -> MessagePageOut:
    messages = selectors.outbox_list(
        user=request.auth,  # type: ignore[attr-defined]
        status=query.status or "",
        channel=query.channel or "",
    )
    if query.case_id is not None:
        messages = messages.filter(case_id=query.case_id)
    total = messages.count()
    page = list(messages[query.offset : query.offset + query.limit])
    return MessagePageOut(total=total, limit=query.limit, offset=query.offset, messages=[_out(m) for m in page])


@router.post("/notify/messages/{int:message_id}/cancel", response=MessageOut, summary="Stop a message not yet sent")
def message_cancel(request: HttpRequest, message_id: int, payload: CancelIn) -> MessageOut:
    user = request.auth  # type: ignore[attr-defined]
    message = selectors.message_get(user=user, message_id=message_id)
    if not has_role(user, *CANCEL_ROLES):
        raise PermissionDenied(_("You may not cancel messages."))
    return _out(services.message_cancel(actor=user, message_id=message.pk, reason=payload.reason))
