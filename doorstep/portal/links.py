"""Links to the borrower portal: a signed random key in the URL, its hash and its borrower in the database.

Nothing personal is in the URL. A link expires after DOORSTEP_PORTAL_LINK_DAYS days (default 7), and the
signature is checked before the database is asked, so a forged or mangled link costs one HMAC.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from doorstep.portal.models import PortalLink
from doorstep.portfolio.models import Borrower

LINK_SALT = "doorstep.portal.link"
DEFAULT_LINK_DAYS = 7
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def link_days() -> int:
    return int(getattr(settings, "DOORSTEP_PORTAL_LINK_DAYS", DEFAULT_LINK_DAYS))


def base_url() -> str:
    return str(getattr(settings, "DOORSTEP_PORTAL_BASE_URL", DEFAULT_BASE_URL)).rstrip("/")


def key_hash(key: str) -> str:
    return hashlib.sha256(("doorstep-portal:" + key).encode()).hexdigest()


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=LINK_SALT)


def portal_link(*, borrower: Borrower, purpose: str, visit: object | None = None) -> str:
    """An absolute URL that opens the portal for `borrower` once they pass the second factor."""
    key = secrets.token_urlsafe(18)
    now = timezone.now()
    PortalLink.objects.create(
        key_hash=key_hash(key),
        borrower=borrower,
        purpose=purpose[:40],
        visit=visit,
        created_at=now,
        expires_at=now + dt.timedelta(days=link_days()),
    )
    return base_url() + reverse("portal:open", args=[_signer().sign(key)])


def link_from_token(token: str, *, now: dt.datetime | None = None) -> PortalLink | None:
    """The link behind a token, or None when the token is forged, expired or unknown (one answer for all)."""
    try:
        key = _signer().unsign(token, max_age=dt.timedelta(days=link_days()))
    except signing.BadSignature:
        return None
    link = PortalLink.objects.select_related("borrower").filter(key_hash=key_hash(key)).first()
    if link is None or link.expires_at <= (now or timezone.now()):
        return None
    return link
