"""The arrangements pages and API, for the cast: scoped, routed for approval, and refusing the wrong people."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from doorstep.arrangements.models import PlanStatus, PromiseStatus, PromiseToPay, RepaymentPlan
from doorstep.core.services import api_token_create
from doorstep.portfolio.models import CaseStatus

TODAY = timezone.localdate()


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def bearer(user) -> dict[str, str]:
    _token, raw = api_token_create(actor="system:test", user=user, name="test")
    return {"Authorization": f"Bearer {raw}"}


def test_a_collector_sees_their_case_arrangements_and_not_a_colleagues(cast) -> None:
    client = login(cast.collector_user)
    page = client.get(reverse("arrangements:case", args=[cast.own_case.pk]))
    assert page.status_code == 200
    assert "张伟" in page.content.decode()
    assert client.get(reverse("arrangements:case", args=[cast.colleagues_case.pk])).status_code == 404
    assert login(cast.outsider).get(reverse("arrangements:case", args=[cast.own_case.pk])).status_code == 403


def test_a_collector_records_a_promise_through_the_page(cast) -> None:
    client = login(cast.collector_user)
    response = client.post(
        reverse("arrangements:promise_create", args=[cast.own_case.pk]),
        {"promise-amount": "800.00", "promise-due_on": (TODAY + dt.timedelta(days=5)).isoformat(), "promise-channel": "visit"},
    )
    assert response.status_code == 302
    promise = PromiseToPay.objects.get(case=cast.own_case)
    assert promise.amount == Decimal("800.00") and promise.status == PromiseStatus.PENDING
    bad = client.post(
        reverse("arrangements:promise_create", args=[cast.own_case.pk]),
        {"promise-amount": "800.00", "promise-due_on": (TODAY - dt.timedelta(days=5)).isoformat(), "promise-channel": "visit"},
    )
    assert bad.status_code == 400
    # The colleague cannot record one on this case.
    other = login(cast.other_collector_user).post(
        reverse("arrangements:promise_create", args=[cast.own_case.pk]),
        {"promise-amount": "1.00", "promise-due_on": TODAY.isoformat(), "promise-channel": "call"},
    )
    assert other.status_code == 404


def test_a_plan_above_authority_goes_through_the_supervisors_queue(cast) -> None:
    collector = login(cast.collector_user)
    response = collector.post(
        reverse("arrangements:plan_create", args=[cast.own_case.pk]),
        {"plan-kind": "settlement", "plan-first_due": (TODAY + dt.timedelta(days=7)).isoformat(), "plan-count": "1",
         "plan-discount_percent": "20"},
    )
    plan = RepaymentPlan.objects.get(case=cast.own_case)
    assert response.status_code == 302 and plan.status == PlanStatus.PENDING_APPROVAL
    assert collector.get(reverse("arrangements:approvals")).status_code == 403
    supervisor = login(cast.supervisor)
    queue = supervisor.get(reverse("arrangements:approvals"))
    assert reverse("arrangements:plan", args=[plan.pk]) in queue.content.decode()
    detail = supervisor.get(reverse("arrangements:plan", args=[plan.pk]))
    assert reverse("arrangements:plan_approve", args=[plan.pk]) in detail.content.decode()
    supervisor.post(reverse("arrangements:plan_approve", args=[plan.pk]), {"note": "同意"})
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE
    cast.own_case.refresh_from_db()
    assert cast.own_case.status == CaseStatus.ARRANGEMENT
    pdf = collector.get(reverse("arrangements:plan_agreement", args=[plan.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_the_follow_up_page_answers_for_each_role(cast) -> None:
    for user in (cast.collector_user, cast.supervisor, cast.manager):
        assert login(user).get(reverse("arrangements:follow_ups")).status_code == 200


def test_the_api_records_a_promise_and_proposes_and_approves_a_plan(cast) -> None:
    client = Client()
    response = client.post(
        f"/api/cases/{cast.own_case.pk}/promises",
        json.dumps({"amount": "300.00", "due_on": (TODAY + dt.timedelta(days=3)).isoformat(), "channel": "call"}),
        content_type="application/json", headers=bearer(cast.collector_user),
    )
    assert response.status_code == 201 and response.json()["amount"] == "300.00"
    response = client.post(
        f"/api/cases/{cast.own_case.pk}/plans",
        json.dumps({"kind": "instalments", "first_due": (TODAY + dt.timedelta(days=10)).isoformat(), "count": 18}),
        content_type="application/json", headers=bearer(cast.collector_user),
    )
    body = response.json()
    assert response.status_code == 201 and body["status"] == "pending_approval"
    assert sum(Decimal(item["amount"]) for item in body["instalments"]) == Decimal(body["total"])
    refused = client.post(f"/api/plans/{body['id']}/approve", "{}", content_type="application/json",
                          headers=bearer(cast.collector_user))
    assert refused.status_code == 403
    approved = client.post(f"/api/plans/{body['id']}/approve", "{}", content_type="application/json",
                           headers=bearer(cast.supervisor))
    assert approved.status_code == 200 and approved.json()["status"] == "active"
    view = client.get(f"/api/cases/{cast.own_case.pk}/arrangements", headers=bearer(cast.collector_user)).json()
    assert len(view["promises"]) == 1 and view["plans"][0]["status"] == "active"
    hidden = client.get(f"/api/cases/{cast.own_case.pk}/arrangements", headers=bearer(cast.other_collector_user))
    assert hidden.status_code == 404
