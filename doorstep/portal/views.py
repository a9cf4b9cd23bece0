"""The borrower portal's pages. Access comes only from the portal cookie (see `session`), never from the
staff login; forms carry the portal's own token instead of Django's CSRF cookie, so the portal sets no
cookie but its own. Views are thin: check the form, read through `selectors`, call one service."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from doorstep.core.middleware import client_ip
from doorstep.portal import forms, selectors, services, session, throttle
from doorstep.portal.links import link_from_token
from doorstep.portal.models import PortalLink
from doorstep.portfolio.models import Borrower
from doorstep.visits.models import BorrowerResponse, ResponseChannel, VisitStatus

View = Callable[..., HttpResponse]
LINK_PREFIX = "/portal/l/"


@dataclass(frozen=True)
class PortalAccess:
    link: PortalLink
    borrower: Borrower

    @property
    def actor(self) -> str:
        return services.borrower_actor(self.borrower.pk)


def _signed_in_access(state: session.PortalState | None) -> PortalAccess | None:
    if state is None or not state.signed_in:
        return None
    link = PortalLink.objects.select_related("borrower").filter(pk=state.link_id).first()
    now = timezone.now()
    if (
        link is None
        or link.is_locked
        or link.session_generation != state.generation
        or link.verified_at is None
        or now - link.verified_at > session.session_max_age()
        or link.expires_at <= now
    ):
        return None
    return PortalAccess(link, link.borrower)


def _form_token_ok(request: HttpRequest, state: session.PortalState | None) -> bool:
    sent = request.POST.get("portal_token", "")
    return state is not None and bool(sent) and secrets.compare_digest(sent, state.form_token)


def _finish(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    new_state = getattr(request, "portal_state_out", None)
    if new_state == "clear":
        session.state_clear(response)
    elif new_state is not None:
        session.state_write(response, new_state)
    elif request.portal_state is not None:  # type: ignore[attr-defined]
        session.state_write(response, request.portal_state)  # type: ignore[attr-defined]
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = "noindex, nofollow"
    if request.path.startswith(LINK_PREFIX):
        _unlogged(response)
    return response


def portal_page(*, signed_in: bool = True) -> Callable[[View], View]:
    """Wrap a portal view: language from the portal cookie, the form token on every POST, and (for pages
    behind the second factor) a live portal session; the response renews the cookie and is never cached."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            state = session.state_read(request)
            request.portal_state = state  # type: ignore[attr-defined]
            language = state.language if state else session.default_language()
            translation.activate(language)
            request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
            if request.method == "POST" and not _form_token_ok(request, state):
                response = render(request, "portal/problem.html", {"problem": "form"}, status=403)
                return _finish(request, response)
            if signed_in:
                access = _signed_in_access(state)
                if access is None:
                    request.portal_state_out = "clear"  # type: ignore[attr-defined]
                    return _finish(request, HttpResponseRedirect(reverse("portal:ended")))
                request.portal = access  # type: ignore[attr-defined]
            return _finish(request, view(request, *args, **kwargs))

        return wrapper

    return decorate


def _render(request: HttpRequest, template: str, context: dict[str, Any] | None = None, status: int = 200) -> HttpResponse:
    state = getattr(request, "portal_state_out", None) or request.portal_state  # type: ignore[attr-defined]
    base = {
        "portal_token": state.form_token if isinstance(state, session.PortalState) else "",
        "signed_in": hasattr(request, "portal"),
        "bank_name": selectors.bank_name(),
        "hotline": selectors.bank_hotline(),
        # A link's own address holds its token: the language switch must not carry it on.
        "current_path": reverse("portal:verify") if request.path.startswith(LINK_PREFIX) else request.path,
    }
    if hasattr(request, "portal"):
        base["borrower"] = request.portal.borrower  # type: ignore[attr-defined]
    base.update(context or {})
    return render(request, template, base, status=status)


# ---------------------------------------------------------------- getting in


def _unlogged(response: HttpResponse) -> HttpResponse:
    # Django logs every 4xx answer with its path, and this path holds a link's token: a log must not
    # collect working (or nearly working) links. The audit trail and the rate limit record the attempt.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


@portal_page(signed_in=False)
def open_link(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the SMS or letter. It leads to the second factor; the token leaves the address bar."""
    address = client_ip(request)
    if throttle.address_blocked(address):
        return _render(request, "portal/problem.html", {"problem": "busy"}, status=429)
    link = link_from_token(token)
    if link is None:
        throttle.address_attempt(address)
        return _render(request, "portal/problem.html", {"problem": "link"}, status=404)
    if link.is_locked:
        return _render(request, "portal/problem.html", {"problem": "locked"}, status=403)
    state = request.portal_state  # type: ignore[attr-defined]
    language = state.language if state else session.default_language()
    if state is not None and state.link_id == link.pk and _signed_in_access(state) is not None:
        return HttpResponseRedirect(reverse("portal:home"))
    request.portal_state_out = session.state_new(  # type: ignore[attr-defined]
        link_id=link.pk, generation=link.session_generation, stage=session.PENDING, language=language
    )
    response = HttpResponseRedirect(reverse("portal:verify"))
    response["Referrer-Policy"] = "no-referrer"
    return response


def _pending_link(request: HttpRequest) -> PortalLink | None:
    state = request.portal_state  # type: ignore[attr-defined]
    if state is None or state.link_id is None:
        return None
    return PortalLink.objects.filter(pk=state.link_id).first()


@portal_page(signed_in=False)
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """The second factor: the last four characters of the ID number, then the code sent to the phone on file."""
    link = _pending_link(request)
    if link is None:
        return _render(request, "portal/problem.html", {"problem": "link"}, status=404)
    if _signed_in_access(request.portal_state) is not None:  # type: ignore[attr-defined]
        return HttpResponseRedirect(reverse("portal:home"))
    if link.is_locked:
        return _render(request, "portal/problem.html", {"problem": "locked"}, status=403)
    address = client_ip(request)
    id_form, code_form = forms.IdSuffixForm(), forms.CodeForm()
    step = "code" if request.GET.get("step") == "code" else "id"
    notice = ""
    if request.method == "POST":
        if throttle.address_blocked(address):
            return _render(request, "portal/problem.html", {"problem": "busy"}, status=429)
        if request.POST.get("action") == "send":
            id_form = forms.IdSuffixForm(request.POST)
            if id_form.is_valid():
                throttle.address_attempt(address)
                outcome = services.code_request(
                    link_id=link.pk, id_suffix=id_form.cleaned_data["id_suffix"], language=translation.get_language()
                )
                if outcome == "locked":
                    return _render(request, "portal/problem.html", {"problem": "locked"}, status=403)
                if outcome == "exhausted":
                    return _render(request, "portal/problem.html", {"problem": "codes"}, status=429)
                return HttpResponseRedirect(reverse("portal:verify") + "?" + urlencode({"step": "code"}))
        else:
            step = "code"
            code_form = forms.CodeForm(request.POST)
            if code_form.is_valid():
                generation = services.code_verify(link_id=link.pk, code=code_form.cleaned_data["code"])
                if generation is not None:
                    request.portal_state_out = session.state_new(  # type: ignore[attr-defined]
                        link_id=link.pk, generation=generation, stage=session.SIGNED_IN,
                        language=translation.get_language(),
                    )
                    return HttpResponseRedirect(reverse("portal:home"))
                throttle.address_attempt(address)
                link.refresh_from_db()
                if link.is_locked:
                    return _render(request, "portal/problem.html", {"problem": "locked"}, status=403)
                code_form = forms.CodeForm()
                notice = _(
                    "That code is not right, or it has expired. You have %(left)s tries left before this link locks."
                ) % {"left": services.MAX_CODE_FAILURES - link.failed_attempts}
    return _render(
        request,
        "portal/verify.html",
        {"step": step, "id_form": id_form, "code_form": code_form, "notice": notice, "minutes": services.code_minutes()},
    )


@portal_page(signed_in=False)
def ended(request: HttpRequest) -> HttpResponse:
    return _render(request, "portal/problem.html", {"problem": "ended"})


@portal_page(signed_in=False)
def language(request: HttpRequest, code: str) -> HttpResponse:
    if code not in session.PORTAL_LANGUAGES:
        raise Http404("no such language")
    request.portal_state_out = session.state_with_language(request.portal_state, code)  # type: ignore[attr-defined]
    target = request.GET.get("next", "")
    if not target.startswith("/portal/") or target.startswith("//") or "\\" in target or "/l/" in target:
        target = reverse("portal:home")
    return HttpResponseRedirect(target)


@portal_page()
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    services.session_end(link_id=request.portal.link.pk)  # type: ignore[attr-defined]
    request.portal_state_out = session.state_with_language(None, translation.get_language())  # type: ignore[attr-defined]
    return HttpResponseRedirect(reverse("portal:signed_out"))


@portal_page(signed_in=False)
def signed_out(request: HttpRequest) -> HttpResponse:
    return _render(request, "portal/problem.html", {"problem": "signed_out"})


# ---------------------------------------------------------------- the borrower's pages


def _access(request: HttpRequest) -> PortalAccess:
    return request.portal  # type: ignore[attr-defined,no-any-return]


@portal_page()
def home(request: HttpRequest) -> HttpResponse:
    borrower = _access(request).borrower
    return _render(
        request,
        "portal/home.html",
        {
            "debt": selectors.borrower_debt(borrower=borrower),
            "upcoming": selectors.upcoming_visits(borrower=borrower)[:1],
            "zone": borrower.zone,
        },
    )


@portal_page()
def pay(request: HttpRequest) -> HttpResponse:
    borrower = _access(request).borrower
    return _render(
        request,
        "portal/pay.html",
        {"ways": selectors.payment_ways(), "debt": selectors.borrower_debt(borrower=borrower)},
    )


def _move_form(visit: Any, zone: dt.tzinfo, data: Any = None) -> forms.MoveForm:
    from doorstep.visits.selectors import visit_slots

    slots = visit_slots(visit=visit) if visit.status == VisitStatus.SCHEDULED else []
    return forms.MoveForm(data, slots=slots[:12], zone=zone, prefix=f"move-{visit.pk}")


@portal_page()
@require_http_methods(["GET", "POST"])
def visits(request: HttpRequest) -> HttpResponse:
    """The coming visit: confirm it, move it to another time that passes the gate, or decline it with a reason."""
    from doorstep.visits.services import visit_answer_record

    access = _access(request)
    borrower, zone = access.borrower, access.borrower.zone
    errors: dict[int, list[str]] = {}
    decline_forms: dict[int, forms.DeclineForm] = {}
    move_forms: dict[int, forms.MoveForm] = {}
    if request.method == "POST":
        visit = selectors.visit_get(borrower=borrower, visit_id=_int(request.POST.get("visit")))
        action = request.POST.get("action")
        answer: dict[str, Any] | None = None
        if action == "confirm":
            answer = {"answer": BorrowerResponse.CONFIRMED}
        elif action == "decline":
            form = forms.DeclineForm(request.POST, prefix=f"decline-{visit.pk}")
            decline_forms[visit.pk] = form
            if form.is_valid():
                answer = {"answer": BorrowerResponse.DECLINED, "note": form.cleaned_data["reason"]}
        elif action == "move":
            move = _move_form(visit, zone, request.POST)
            move_forms[visit.pk] = move
            if move.is_valid():
                answer = {"answer": BorrowerResponse.RESCHEDULED, "new_window_start": move.chosen()}
        if answer is not None:
            try:
                visit_answer_record(actor=access.actor, visit_id=visit.pk, channel=ResponseChannel.PORTAL, **answer)
            except (ValidationError, PermissionDenied) as error:
                errors[visit.pk] = _messages(error)
            else:
                done = {"confirm": "confirmed", "decline": "declined", "move": "moved"}[str(action)]
                return HttpResponseRedirect(reverse("portal:visits") + "?" + urlencode({"done": done}))
    upcoming = selectors.upcoming_visits(borrower=borrower)
    cards = []
    for visit in upcoming:
        cards.append(
            {
                "visit": visit,
                "decline": decline_forms.get(visit.pk) or forms.DeclineForm(prefix=f"decline-{visit.pk}"),
                "move": move_forms.get(visit.pk) or _move_form(visit, zone),
                "errors": errors.get(visit.pk, []),
                "answerable": visit.status == VisitStatus.SCHEDULED,
            }
        )
    past = selectors.past_visits(borrower=borrower)
    rated = selectors.rated_visit_ids(borrower=borrower)
    return _render(
        request,
        "portal/visits.html",
        {"cards": cards, "past": past, "rated": rated, "zone": zone, "done": request.GET.get("done", "")},
    )


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as error:
        raise Http404("bad id") from error


def _messages(error: Exception) -> list[str]:
    if isinstance(error, ValidationError):
        return [str(message) for message in error.messages]
    return [str(error) or _("This cannot be done.")]


@portal_page()
@require_http_methods(["GET", "POST"])
def badge(request: HttpRequest) -> HttpResponse:
    """Check the person at the door: their badge number gives name, photo, duty and assignment."""
    from doorstep.visits.selectors import badge_check

    access = _access(request)
    form = forms.BadgeForm(request.POST or None)
    result = None
    if request.method == "POST" and form.is_valid():
        result = badge_check(
            badge_number=form.cleaned_data["badge_number"], borrower_id=access.borrower.pk, at=timezone.now()
        )
    return _render(request, "portal/badge.html", {"form": form, "result": result, "zone": access.borrower.zone})


@portal_page()
@require_POST
def badge_report(request: HttpRequest) -> HttpResponse:
    """One tap: the badge did not check out, so a complaint is filed with what the check found."""
    from doorstep.feedback.models import ComplaintCategory, ComplaintChannel
    from doorstep.feedback.services import complaint_file
    from doorstep.visits.selectors import badge_check

    access = _access(request)
    form = forms.BadgeForm(request.POST)
    if not form.is_valid():
        return HttpResponseRedirect(reverse("portal:badge"))
    number = form.cleaned_data["badge_number"]
    now = timezone.now()
    result = badge_check(badge_number=number, borrower_id=access.borrower.pk, at=now)
    if not result.found:
        finding = _("Doorstep knows no collector with this badge number.")
    elif not result.assigned_to_borrower:
        finding = _("The badge belongs to %(name)s, who is not assigned to me.") % {"name": result.name}
    elif not result.on_duty:
        finding = _("The badge belongs to %(name)s, who is assigned to me but not on duty now.") % {"name": result.name}
    else:
        finding = _("The badge belongs to %(name)s, but I want to report this visit.") % {"name": result.name}
    local = now.astimezone(access.borrower.zone)
    text = _("Someone came to my door at %(time)s and showed badge number %(badge)s. %(finding)s") % {
        "time": local.strftime("%Y-%m-%d %H:%M"), "badge": number, "finding": finding,
    }
    try:
        complaint = complaint_file(
            actor=access.actor,
            borrower=access.borrower,
            category=ComplaintCategory.OTHER,
            text=text,
            channel=ComplaintChannel.PORTAL,
            case=result.visit.case if result.visit is not None else selectors.borrower_case(borrower=access.borrower),
            visit=result.visit,
            collector=result.collector,
        )
    except ValidationError as error:
        return _render(request, "portal/badge.html", {"form": form, "result": result, "errors": _messages(error),
                                                      "zone": access.borrower.zone})
    return HttpResponseRedirect(reverse("portal:complaints") + "?" + urlencode({"filed": complaint.pk}))


@portal_page()
@require_http_methods(["GET", "POST"])
def plan(request: HttpRequest) -> HttpResponse:
    """Ask for a repayment plan with the affordability form, and see the plans and requests on the case."""
    from doorstep.arrangements.models import RequestSource
    from doorstep.arrangements.services import plan_request

    access = _access(request)
    case = selectors.borrower_case(borrower=access.borrower)
    form = forms.PlanRequestForm(request.POST or None)
    errors: list[str] = []
    if case is not None and request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            plan_request(
                actor=access.actor,
                case=case,
                monthly_income=data["monthly_income"],
                monthly_expenses=data["monthly_expenses"],
                dependants=data["dependants"],
                proposed_monthly=data["proposed_monthly"],
                source=RequestSource.PORTAL,
                note=data["note"] or "",
            )
        except ValidationError as error:
            errors = _messages(error)
        else:
            return HttpResponseRedirect(reverse("portal:plan") + "?" + urlencode({"done": "requested"}))
    current = selectors.arrangements(case=case) if case is not None else None
    requests = []
    if current is not None:
        for item in current.open_requests:
            findings = [str(selectors.AFFORDABILITY_FINDINGS.get(code, "")) for code in item.reasons or []]
            requests.append({"request": item, "findings": [text for text in findings if text]})
    return _render(
        request,
        "portal/plan.html",
        {"case": case, "form": form, "errors": errors, "arrangements": current, "requests": requests,
         "done": request.GET.get("done", "")},
    )


@portal_page()
@require_http_methods(["GET", "POST"])
def rate(request: HttpRequest, visit_id: int) -> HttpResponse:
    from doorstep.feedback.models import RatingSource
    from doorstep.feedback.services import rating_record

    access = _access(request)
    visit = selectors.visit_get(borrower=access.borrower, visit_id=visit_id)
    already = visit.pk in selectors.rated_visit_ids(borrower=access.borrower)
    form = forms.RatingForm(request.POST or None)
    errors: list[str] = []
    if request.method == "POST" and not already and form.is_valid():
        try:
            rating_record(
                actor=access.actor, visit=visit, stars=form.cleaned_data["stars"],
                comment=form.cleaned_data["comment"], source=RatingSource.PORTAL,
            )
        except ValidationError as error:
            errors = _messages(error)
        else:
            return HttpResponseRedirect(reverse("portal:visits") + "?" + urlencode({"done": "rated"}))
    return _render(
        request, "portal/rate.html",
        {"visit": visit, "form": form, "errors": errors, "already": already, "zone": access.borrower.zone},
    )


def _visit_choices(borrower: Borrower) -> list[tuple[int, str]]:
    zone = borrower.zone
    choices = []
    for visit in selectors.borrower_visits(borrower=borrower).exclude(status=VisitStatus.CANCELLED)[:10]:
        start = visit.window_start.astimezone(zone)
        choices.append((visit.pk, f"{start:%Y-%m-%d %H:%M} · {visit.collector.display_name}"))
    return choices


@portal_page()
@require_http_methods(["GET", "POST"])
def complaints(request: HttpRequest) -> HttpResponse:
    """File a complaint (with photos or recordings) and follow the ones already filed."""
    from doorstep.feedback.models import ComplaintChannel
    from doorstep.feedback.services import complaint_file

    access = _access(request)
    borrower = access.borrower
    choices = _visit_choices(borrower)
    form = forms.ComplaintForm(request.POST or None, request.FILES or None, visits=choices)
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        visit = selectors.visit_get(borrower=borrower, visit_id=data["visit"]) if data["visit"] else None
        try:
            complaint = complaint_file(
                actor=access.actor,
                borrower=borrower,
                category=data["category"],
                text=data["text"],
                channel=ComplaintChannel.PORTAL,
                case=visit.case if visit is not None else selectors.borrower_case(borrower=borrower),
                visit=visit,
                attachments=data["attachments"],
            )
        except ValidationError as error:
            errors = _messages(error)
        else:
            return HttpResponseRedirect(reverse("portal:complaints") + "?" + urlencode({"filed": complaint.pk}))
    filed_id = _int(request.GET["filed"]) if request.GET.get("filed", "").isdigit() else None
    listed = selectors.complaints(borrower=borrower)
    filed = next((complaint for complaint in listed if complaint.pk == filed_id), None)
    return _render(
        request,
        "portal/complaints.html",
        {"form": form, "errors": errors, "complaints": listed, "filed": filed, "zone": borrower.zone},
    )
