from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from doorstep.portfolio import selectors


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    cases = selectors.case_list(user=request.user).select_related("borrower").order_by("-days_past_due")[:50]
    return render(request, "portfolio/case_list.html", {"cases": cases})


@login_required
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.case_get(user=request.user, case_id=case_id)
    return render(request, "portfolio/case_detail.html", {"case": case})
