"""Rate limits for the portal's second factor, per client address, kept apart from the staff login's.

Each link also locks itself after MAX_CODE_FAILURES wrong codes (in the database, `services`); this limit
stops one address from working through many links.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

DEFAULT_ADDRESS_ATTEMPTS = 30


def _key(ip_address: str | None) -> str:
    return "portal-attempts:ip:" + (ip_address or "unknown")


def _limit() -> int:
    return int(getattr(settings, "DOORSTEP_PORTAL_ADDRESS_ATTEMPTS", DEFAULT_ADDRESS_ATTEMPTS))


def _window() -> int:
    return int(getattr(settings, "LOGIN_LOCKOUT_SECONDS", 15 * 60))


def address_blocked(ip_address: str | None) -> bool:
    return (cache.get(_key(ip_address)) or 0) >= _limit()


def address_attempt(ip_address: str | None) -> None:
    """Count one attempt (a code asked for, a wrong code, a link that does not open) from this address."""
    key = _key(ip_address)
    cache.add(key, 0, timeout=_window())
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=_window())
