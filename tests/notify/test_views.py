"""The staff outbox: the manager sees every message, the team lead only their team's, a collector none."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from doorstep.core.models import AuditEvent
from doorstep.notify.services import message_queue

NOON = dt.datetime(2031, 3, 4, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def login(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def messages(cast):  # type: ignore[no-untyped-def]
    def queue(case, key, **extra):  # type: ignore[no-untyped-def]
        return message_queue(actor="system:test", template="reminder", channel=extra.pop("channel", "sms"),
                             context={"name": case.borrower.name, "amount": "3170.50"}, idempotency_key=key,
                             case=case, not_before=NOON, **extra)

    return {
        "own": queue(cast.own_case, "own"),
        "other_team": queue(cast.other_team_case, "other"),
        "code": queue(cast.own_case, "code", contact=False, secret=True),
        "letter": queue(cast.own_case, "letter", channel="letter"),
    }


def test_the_manager_sees_every_message_with_masked_recipients(cast, messages) -> None:
    page = login(cast.manager).get("/notify/")
    text = page.content.decode()
    assert page.status_code == 200
    assert text.count("张伟您好") == 1 and "陈静您好" in text
    assert cast.own_case.borrower.phone_masked in text
    assert "一次性验证码" in text or "One-time code" in text
    from doorstep.core.crypto import decrypt_text

    assert decrypt_text(messages["own"].recipient_encrypted) not in text


def test_a_team_lead_sees_only_the_teams_messages(cast, messages) -> None:
    client = login(cast.supervisor)
    text = client.get("/notify/").content.decode()
    assert "张伟您好" in text and "陈静您好" not in text
    assert client.get(f"/notify/messages/{messages['other_team'].pk}/").status_code == 404
    assert client.get(f"/notify/messages/{messages['own'].pk}/").status_code == 200


def test_collectors_and_outsiders_have_no_outbox(cast, messages) -> None:
    for user in (cast.collector_user, cast.outsider):
        assert login(user).get("/notify/").status_code == 403
    assert Client().get("/notify/").status_code == 302


def test_a_secret_message_is_hidden_everywhere(cast, messages) -> None:
    code = messages["code"]
    page = login(cast.manager).get(f"/notify/messages/{code.pk}/")
    assert code.body not in page.content.decode()
    assert login(cast.manager).get(f"/notify/messages/{code.pk}/letter.pdf").status_code == 404


def test_a_letter_prints_as_a_pdf_and_the_print_is_audited(cast, messages) -> None:
    letter = messages["letter"]
    response = login(cast.supervisor).get(f"/notify/messages/{letter.pk}/letter.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="notify.letter.printed", object_id=str(letter.pk)).exists()
    assert login(cast.supervisor).get(f"/notify/messages/{messages['own'].pk}/letter.pdf").status_code == 404


def test_filters_narrow_the_list(cast, messages) -> None:
    text = login(cast.manager).get("/notify/?channel=letter").content.decode()
    assert "逾期还款提示函" in text and "陈静您好" not in text


def test_the_menu_offers_the_outbox_to_those_who_may_open_it(cast) -> None:
    assert "/notify/" in login(cast.compliance).get("/cases/").content.decode()
    assert 'href="/notify/"' not in login(cast.collector_user).get("/cases/").content.decode()
