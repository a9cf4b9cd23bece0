"""The JSON API root. Each app adds its router here; OpenAPI docs are served at /api/docs.

Every operation needs a caller: a bearer token (other systems) or the logged-in session (our own pages).
The docs and schema ask for a logged-in user or a token: they reveal no data, but need not be public.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Swagger

from doorstep.arrangements.api import router as arrangements_router
from doorstep.collectors.api import router as collectors_router
from doorstep.core.api_auth import api_authentication, docs_access
from doorstep.feedback.api import router as feedback_router
from doorstep.notify.api import router as notify_router
from doorstep.payments.api import router as payments_router
from doorstep.portfolio.api import router as portfolio_router
from doorstep.reports.api import router as reports_router
from doorstep.scoring.api import router as scoring_router
from doorstep.visits.api import router as visits_router

api = NinjaAPI(
    title="Doorstep API",
    version="1",
    urls_namespace="api",
    auth=api_authentication(),
    docs=Swagger(),
    docs_decorator=docs_access,
)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    # One answer for "does not exist" and "not yours": the difference must not leak.
    return api.create_response(request, {"detail": _("Not found.")}, status=404)


@api.exception_handler(PermissionDenied)
def permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    message = str(exc) or _("You do not have permission to do this.")
    return api.create_response(request, {"detail": message}, status=403)


@api.exception_handler(ValidationError)
def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.messages}, status=422)


api.add_router("/", portfolio_router)
# Each app's router holds its own paths (e.g. "/visits/..."), so all mount at the root.
for router in (
    collectors_router,
    scoring_router,
    notify_router,
    visits_router,
    arrangements_router,
    payments_router,
    feedback_router,
    reports_router,
):
    api.add_router("/", router)
