from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from doorstep.core import throttle
from doorstep.core.audit import audit_record
from doorstep.core.middleware import client_ip


class LoginView(auth_views.LoginView):
    template_name = "core/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        username = request.POST.get("username", "")
        if throttle.login_locked(username, client_ip(request)):
            messages.error(request, _("Too many failed attempts. Try again in a few minutes."))
            audit_record(actor="anonymous", action="core.login.locked", data={"username": username[:150]})
            return self.get(request, *args, **kwargs)
        response = super().post(request, *args, **kwargs)
        if request.user.is_authenticated:
            throttle.login_succeeded(username)
            audit_record(actor=request.user, action="core.login.succeeded")
        else:
            throttle.login_failed(username, client_ip(request))
            audit_record(actor="anonymous", action="core.login.failed", data={"username": username[:150]})
        return response


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Everyone who works cases starts on the case list (a collector's is scoped to their own)."""
    if request.user.has_perm("portfolio.view_case"):
        return redirect(reverse("portfolio:case_list"))
    return render(request, "core/home.html")
