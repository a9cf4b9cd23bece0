"""Login throttling: too many failures for one username or from one address lock both out for a while."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def _keys(username: str, ip_address: str | None) -> list[str]:
    keys = ["login-fail:user:" + hashlib.sha256(username.strip().lower().encode()).hexdigest()]
    if ip_address:
        keys.append("login-fail:ip:" + ip_address)
    return keys


def login_locked(username: str, ip_address: str | None) -> bool:
    limit = settings.LOGIN_MAX_FAILURES
    return any((cache.get(key) or 0) >= limit for key in _keys(username, ip_address))


def login_failed(username: str, ip_address: str | None) -> None:
    for key in _keys(username, ip_address):
        cache.add(key, 0, timeout=settings.LOGIN_LOCKOUT_SECONDS)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS)


def login_succeeded(username: str) -> None:
    cache.delete(_keys(username, None)[0])
