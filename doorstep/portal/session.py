"""The portal's own short session: a signed cookie, named and scoped to /portal/ only.

The staff site never reads it (its session is `sessionid`, signed with another salt, stored server-side),
and the portal never reads the staff session: a logged-in employee has no portal access. The cookie holds
no personal data: the link's row id, a generation number that sign-in and sign-out raise (so an older
cookie opens nothing), the stage (pending second factor, or signed in), a form token, and the language.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import asdict, dataclass, replace

from django.conf import settings
from django.http import HttpRequest, HttpResponse

COOKIE_NAME = "doorstep_portal"
COOKIE_PATH = "/portal/"
COOKIE_SALT = "doorstep.portal.session"
PENDING = "pending"
SIGNED_IN = "in"
DEFAULT_SESSION_SECONDS = 15 * 60
DEFAULT_SESSION_MAX_SECONDS = 60 * 60
PORTAL_LANGUAGES = ("zh-hans", "en")


def session_seconds() -> int:
    """Idle time after which the borrower must pass the second factor again."""
    return int(getattr(settings, "DOORSTEP_PORTAL_SESSION_SECONDS", DEFAULT_SESSION_SECONDS))


def session_max_age() -> dt.timedelta:
    """However active, a portal session ends this long after the second factor."""
    return dt.timedelta(seconds=int(getattr(settings, "DOORSTEP_PORTAL_SESSION_MAX_SECONDS", DEFAULT_SESSION_MAX_SECONDS)))


def default_language() -> str:
    code = settings.LANGUAGE_CODE.lower()
    return code if code in PORTAL_LANGUAGES else PORTAL_LANGUAGES[0]


@dataclass(frozen=True)
class PortalState:
    link_id: int | None
    generation: int
    stage: str
    form_token: str
    language: str

    @property
    def signed_in(self) -> bool:
        return self.stage == SIGNED_IN and self.link_id is not None


def state_new(*, link_id: int | None, generation: int, stage: str, language: str) -> PortalState:
    return PortalState(link_id, generation, stage, secrets.token_urlsafe(24), language)


def state_read(request: HttpRequest) -> PortalState | None:
    raw = request.get_signed_cookie(COOKIE_NAME, default=None, salt=COOKIE_SALT, max_age=session_seconds())
    if not raw:
        return None
    try:
        link, generation, stage, token, language = raw.split("|")
        state = PortalState(int(link) if link else None, int(generation), stage, token, language)
    except ValueError:
        return None
    if state.stage not in (PENDING, SIGNED_IN) or state.language not in PORTAL_LANGUAGES or len(token) < 20:
        return None
    return state


def state_with_language(state: PortalState | None, language: str) -> PortalState:
    if state is None:
        return state_new(link_id=None, generation=0, stage=PENDING, language=language)
    return replace(state, language=language)


def state_write(response: HttpResponse, state: PortalState) -> None:
    values = asdict(state)
    raw = "|".join(
        str(values[name] if values[name] is not None else "")
        for name in ("link_id", "generation", "stage", "form_token", "language")
    )
    response.set_signed_cookie(
        COOKIE_NAME,
        raw,
        salt=COOKIE_SALT,
        max_age=session_seconds(),
        path=COOKIE_PATH,
        secure=bool(settings.SESSION_COOKIE_SECURE),
        httponly=True,
        samesite="Lax",
    )


def state_clear(response: HttpResponse) -> None:
    response.delete_cookie(COOKIE_NAME, path=COOKIE_PATH, samesite="Lax")
