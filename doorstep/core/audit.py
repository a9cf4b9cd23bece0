"""Writing the audit trail. Services call `audit_record` inside their transaction."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import models

from doorstep.core.context import current_origin
from doorstep.core.models import AuditEvent

Actor = AbstractBaseUser | AnonymousUser | str | None


def actor_fields(actor: Actor) -> dict[str, Any]:
    if actor is None:
        return {"actor": None, "actor_label": "system"}
    if isinstance(actor, str):
        return {"actor": None, "actor_label": actor}
    if not actor.is_authenticated:
        return {"actor": None, "actor_label": "anonymous"}
    return {"actor": actor, "actor_label": actor.get_username()}


def audit_record(
    *,
    actor: Actor,
    action: str,
    target: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one entry. `actor` is a user, a system label such as "system:import", or None."""
    if target is not None:
        object_type = target._meta.label_lower
        object_id = target.pk
    origin = current_origin.get()
    return AuditEvent.objects.create(
        **actor_fields(actor),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        ip_address=origin.ip_address,
        user_agent=origin.user_agent,
        data=data or {},
    )
