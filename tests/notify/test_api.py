"""The outbox over JSON: scoped like the outbox page, codes hidden, and cancelling only for those who plan."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from doorstep.core.services import api_token_create
from doorstep.notify.models import MessageStatus
from doorstep.notify.services import message_queue

NOON = dt.datetime(2031, 3, 4, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def bearer(user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    _token, raw = api_token_create(actor="system:test", user=user, name="test")
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def outbox(cast):  # type: ignore[no-untyped-def]
    def queue(case, key, **extra):  # type: ignore[no-untyped-def]
        return message_queue(actor="system:test", template="reminder", channel="sms", idempotency_key=key,
                             context={"name": case.borrower.name, "amount": "1.00"}, case=case, not_before=NOON,
                             **extra)

    return {"own": queue(cast.own_case, "a"), "code": queue(cast.own_case, "b", contact=False, secret=True),
            "other": queue(cast.other_team_case, "c")}


def test_a_team_lead_lists_the_teams_messages_without_codes(cast, outbox) -> None:
    response = Client().get("/api/notify/messages", headers=bearer(cast.supervisor))
    assert response.status_code == 200
    data = response.json()
    assert data["total"] == 2 and {m["id"] for m in data["messages"]} == {outbox["own"].pk, outbox["code"].pk}
    code = next(m for m in data["messages"] if m["id"] == outbox["code"].pk)
    assert code["body"] == "" and code["recipient"] == cast.own_case.borrower.phone_masked


def test_filtering_by_case(cast, outbox) -> None:
    response = Client().get(f"/api/notify/messages?case_id={cast.other_team_case.pk}", headers=bearer(cast.manager))
    assert [m["id"] for m in response.json()["messages"]] == [outbox["other"].pk]


def test_a_collector_gets_no_outbox(cast, outbox) -> None:
    assert Client().get("/api/notify/messages", headers=bearer(cast.collector_user)).status_code == 403


def test_cancelling(cast, outbox) -> None:
    url = f"/api/notify/messages/{outbox['own'].pk}/cancel"
    assert Client().post(url, {"reason": "x"}, content_type="application/json",
                         headers=bearer(cast.compliance)).status_code == 403
    other = f"/api/notify/messages/{outbox['other'].pk}/cancel"
    assert Client().post(other, {"reason": "x"}, content_type="application/json",
                         headers=bearer(cast.supervisor)).status_code == 404
    response = Client().post(url, {"reason": "拜访已取消"}, content_type="application/json",
                             headers=bearer(cast.supervisor))
    assert response.status_code == 200 and response.json()["status"] == MessageStatus.CANCELLED
