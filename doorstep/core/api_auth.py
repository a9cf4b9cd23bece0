"""Who is calling the JSON API: a bearer token for other systems, or the logged-in session for our own pages.

Token failures are counted per address; too many lock that address out of token authentication for a while,
so nobody can guess tokens at speed. The session path checks CSRF on unsafe methods, as Django's forms do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth

from doorstep.core.audit import audit_record
from doorstep.core.middleware import client_ip
from doorstep.core.models import ApiToken
from doorstep.core.services import api_token_hash

# Writing last_used_at on every call would turn each read into a write; once a minute says enough.
LAST_USED_PRECISION = dt.timedelta(minutes=1)
MAX_TOKEN_LENGTH = 200


def _failure_key(ip_address: str | None) -> str:
    return "api-auth-fail:ip:" + (ip_address or "unknown")


def _max_failures() -> int:
    return int(settings.API_AUTH_MAX_FAILURES)


def token_auth_locked(ip_address: str | None) -> bool:
    return (cache.get(_failure_key(ip_address)) or 0) >= _max_failures()


def token_auth_failed(ip_address: str | None) -> None:
    key = _failure_key(ip_address)
    cache.add(key, 0, timeout=settings.LOGIN_LOCKOUT_SECONDS)
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS)


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <token>` with a token issued by `doorstep api-token`."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        ip_address = client_ip(request)
        if token_auth_locked(ip_address):
            raise HttpError(429, _("Too many failed token attempts. Try again later."))
        token = token.strip()
        found = None
        if token and len(token) <= MAX_TOKEN_LENGTH:
            found = (
                ApiToken.objects.select_related("user")
                .filter(key_hash=api_token_hash(token), revoked_at__isnull=True, user__is_active=True)
                .first()
            )
        if found is None:
            token_auth_failed(ip_address)
            audit_record(actor="anonymous", action="core.api_token.refused", data={"prefix": token[:8]})
            return None
        now = timezone.now()
        if found.last_used_at is None or now - found.last_used_at >= LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        user = found.user
        # Handlers read request.auth; request.user is set too so that shared code sees the same person.
        request.user = user
        request.api_token = found  # type: ignore[attr-defined]
        return user


class SessionUserAuth(SessionAuth):
    """The logged-in user of the web UI. CSRF is enforced on unsafe methods."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if user.is_authenticated and user.is_active:
            return user
        return None


def api_authentication() -> list[Any]:
    return [TokenAuth(), SessionUserAuth(csrf=True)]


def docs_access(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The API docs and schema: for a logged-in user (others go to the login page) or a valid bearer token.

    They hold no data, but there is no reason to publish the map of the bank's API to the internet.
    """
    for_staff = login_required(view)

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated and request.headers.get("Authorization", "").lower().startswith(
            "bearer "
        ):
            try:
                user = TokenAuth()(request)
            except HttpError as error:
                return JsonResponse({"detail": str(error)}, status=error.status_code)
            if user is None:
                return JsonResponse({"detail": _("Unauthorized")}, status=401)
        return for_staff(request, *args, **kwargs)

    return guarded
