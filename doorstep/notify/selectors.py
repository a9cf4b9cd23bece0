"""Reads of the outbox, scoped to the person asking."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from doorstep.compliance.reasons import reason_text
from doorstep.core.roles import Role, sees_whole_portfolio, user_roles
from doorstep.notify.models import Message
from doorstep.portfolio.models import Case
from doorstep.portfolio.selectors import case_list

User = AbstractBaseUser | AnonymousUser
OUTBOX_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.COMPLIANCE, Role.SUPERVISOR})


def outbox_for_case(*, case: Case) -> QuerySet[Message]:
    """Every message about one case, newest first (for pages that have already checked the case is visible)."""
    return Message.objects.filter(case=case).order_by("-created_at", "-id")


def may_see_outbox(user: User) -> bool:
    return bool(user_roles(user) & OUTBOX_ROLES)


def outbox_list(*, user: User, status: str = "", channel: str = "", template: str = "") -> QuerySet[Message]:
    """The messages `user` may see: all for bank-wide roles; a team lead's cases and collectors for a team lead."""
    if not may_see_outbox(user):
        raise PermissionDenied(_("You may not see the outbox."))
    messages = Message.objects.select_related("case", "collector__user").order_by("-created_at", "-id")
    if not sees_whole_portfolio(user):
        visible_cases = case_list(user=user).values("pk")
        messages = messages.filter(Q(case__in=visible_cases) | Q(collector__team__supervisor=user))
    if status:
        messages = messages.filter(status=status)
    if channel:
        messages = messages.filter(channel=channel)
    if template:
        messages = messages.filter(template=template)
    return messages


def message_get(*, user: User, message_id: int) -> Message:
    message = outbox_list(user=user).filter(pk=message_id).first()
    if message is None:
        raise Http404("no such message")
    return message


def message_reasons(message: Message) -> list[dict[str, Any]]:
    """Why the gate held the message, in the reader's language."""
    return [{**hit, "reason": reason_text(hit)} for hit in message.hold_reasons or []]
