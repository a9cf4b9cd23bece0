"""Writes owned by core: API tokens. Each function runs in one transaction and leaves an audit entry."""

from __future__ import annotations

import hashlib
import secrets
import string

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.core.audit import Actor, audit_record
from doorstep.core.models import ApiToken

# 43 letters and digits carry 256 bits; no "-" or "_", so a prefix never looks like a command-line option.
TOKEN_ALPHABET = string.ascii_letters + string.digits
TOKEN_LENGTH = 43
PREFIX_LENGTH = 8
NAME_MAX_LENGTH = 100


def api_token_hash(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def _may_manage_tokens(actor: Actor) -> bool:
    # A plain label is a trusted operator on the server (the `doorstep api-token` command).
    if isinstance(actor, str):
        return True
    return actor is not None and actor.is_authenticated and actor.has_perm("core.add_apitoken")  # type: ignore[union-attr]


def api_token_create(*, actor: Actor, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """Issue a bearer token for `user`. The raw token is returned once; only its SHA-256 is stored."""
    if not _may_manage_tokens(actor):
        raise PermissionDenied(_("You may not issue API tokens."))
    name = name.strip()
    if not name:
        raise ValidationError(_("Give the token a name that says which system uses it."))
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(
            _("A token name has at most %(limit)d characters.") % {"limit": NAME_MAX_LENGTH}
        )
    if not user.is_active:
        raise ValidationError(_("Tokens can only be issued to active users."))
    raw_token = "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, prefix=raw_token[:PREFIX_LENGTH], key_hash=api_token_hash(raw_token)
        )
        audit_record(
            actor=actor,
            action="core.api_token.created",
            target=token,
            data={"user": user.get_username(), "name": name, "prefix": token.prefix},
        )
    return token, raw_token


def api_token_revoke(*, actor: Actor, token: ApiToken) -> ApiToken:
    """Revoke a token for good; requests carrying it are refused from now on.

    Token administrators may revoke any token, and anyone may revoke their own (say, after a leak)."""
    owner = actor is not None and not isinstance(actor, str) and actor.pk == token.user_id
    if not (owner or _may_manage_tokens(actor)):
        raise PermissionDenied(_("You may not revoke API tokens."))
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is not None:
            raise ValidationError(_("This token was already revoked."))
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            action="core.api_token.revoked",
            target=locked,
            data={"user": locked.user.get_username(), "name": locked.name, "prefix": locked.prefix},
        )
    return locked
