from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from doorstep.core.context import RequestOrigin, current_origin


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: a forwarded-for header is trivially forged unless a known proxy sets it.
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        origin = RequestOrigin(client_ip(request), request.META.get("HTTP_USER_AGENT", "")[:300])
        token = current_origin.set(origin)
        try:
            return self.get_response(request)
        finally:
            current_origin.reset(token)
