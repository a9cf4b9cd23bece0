"""Getting into the portal: a signed link, the ID's last four characters, a code by SMS. And staying out:
wrong codes lock the link, links expire, one borrower's link never shows another's data, and the portal's
cookie and the staff login never stand in for each other."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from doorstep.core.models import AuditEvent
from doorstep.notify.models import Message, MessageStatus
from doorstep.portal import links, session
from doorstep.portal.models import PortalLink
from doorstep.portal.services import MAX_CODE_FAILURES
from tests.portal.conftest import ZHANG_ID, form_token, latest_code, visitor_for

pytestmark = pytest.mark.django_db


def test_the_link_is_an_absolute_url_with_nothing_personal_in_it(zhang) -> None:
    url = links.portal_link(borrower=zhang, purpose="visit")
    assert url.startswith("https://portal.example.cn/portal/l/")
    for personal in (zhang.name, zhang.customer_id, ZHANG_ID, ZHANG_ID[-4:], zhang.phone_masked[-4:]):
        assert personal not in url
    link = PortalLink.objects.get()
    assert link.borrower == zhang and link.expires_at - link.created_at == dt.timedelta(days=7)
    key = url.rstrip("/").rsplit("/", 1)[1].split(":")[0]
    assert key not in link.key_hash


def test_the_right_id_and_code_open_the_portal_in_chinese(zhang, django_capture_on_commit_callbacks) -> None:
    visitor = visitor_for(zhang)
    page = visitor.open()
    assert page.status_code == 200 and "身份证号码后4位" in page.content.decode()
    visitor.ask_code(ZHANG_ID[-4:], django_capture_on_commit_callbacks)
    message = Message.objects.get(template="portal_code")
    assert message.status == MessageStatus.SENT and not message.is_contact and message.is_secret
    assert message.body == "—"  # erased once sent: staff never read a code
    response = visitor.enter_code(latest_code(zhang))
    assert response.status_code == 302 and response["Location"] == "/portal/"
    home = visitor.client.get("/portal/")
    text = home.content.decode()
    assert home.status_code == 200 and "张伟" in text and "¥3,170.50" in text
    assert AuditEvent.objects.filter(action="portal.session.started", actor_label=f"borrower:{zhang.pk}").exists()


def test_a_wrong_id_gets_the_same_answer_and_no_code(zhang, django_capture_on_commit_callbacks) -> None:
    right, wrong = visitor_for(zhang), visitor_for(zhang)
    right.open()
    wrong.open()
    with django_capture_on_commit_callbacks(execute=True):
        answer_right = right.post("/portal/verify/", {"action": "send", "id_suffix": ZHANG_ID[-4:]}, follow=True)
        answer_wrong = wrong.post("/portal/verify/", {"action": "send", "id_suffix": "9999"}, follow=True)
    assert answer_right.status_code == answer_wrong.status_code == 200
    strip = lambda html: html.replace(right.token, "").replace(wrong.token, "")  # noqa: E731
    assert strip(answer_right.content.decode()) == strip(answer_wrong.content.decode())
    assert Message.objects.filter(template="portal_code").count() == 1
    # Whatever code the wrong-ID visitor tries, it fails, even the one sent to the right visitor's phone.
    response = wrong.enter_code(latest_code(zhang))
    assert response.status_code == 200 and "还有 4 次" in response.content.decode()


def test_five_wrong_codes_lock_the_link_for_good(zhang, django_capture_on_commit_callbacks) -> None:
    visitor = visitor_for(zhang)
    visitor.open()
    visitor.ask_code(ZHANG_ID[-4:], django_capture_on_commit_callbacks)
    code = latest_code(zhang)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for attempt in range(1, MAX_CODE_FAILURES):
        response = visitor.enter_code(wrong)
        assert response.status_code == 200, attempt
    response = visitor.enter_code(wrong)
    assert response.status_code == 403 and "已锁定" in response.content.decode()
    link = PortalLink.objects.get()
    assert link.is_locked and link.failed_attempts == MAX_CODE_FAILURES
    # Now even the right code, a new code, or opening the link again gets nowhere.
    assert visitor.enter_code(code).status_code == 403
    assert visitor.post("/portal/verify/", {"action": "send", "id_suffix": ZHANG_ID[-4:]}).status_code == 403
    assert visitor.client.get(visitor.link_path).status_code == 403
    assert visitor.client.get("/portal/").status_code == 302
    assert AuditEvent.objects.filter(action="portal.link.locked").count() == 1


def test_expired_and_forged_links_fail_alike(zhang, settings) -> None:
    visitor = visitor_for(zhang)
    link = PortalLink.objects.get()
    link.expires_at = timezone.now() - dt.timedelta(seconds=1)
    link.save()
    expired = visitor.client.get(visitor.link_path)
    key = visitor.link_path.split("/l/")[1].split(":")[0]
    forged = Client().get(f"/portal/l/{key}:1aaaaa:forgedsignature/")
    unknown = Client().get(f"/portal/l/{signing.TimestampSigner(salt=links.LINK_SALT).sign('nobody')}/")
    assert expired.status_code == forged.status_code == unknown.status_code == 404
    assert expired.content == forged.content == unknown.content
    assert session.COOKIE_NAME not in expired.cookies


def test_a_link_past_its_signature_age_fails_even_if_the_row_says_otherwise(zhang, settings) -> None:
    visitor = visitor_for(zhang)
    settings.DOORSTEP_PORTAL_LINK_DAYS = 0
    assert visitor.client.get(visitor.link_path).status_code == 404


def test_a_signed_in_session_ends_when_the_link_expires_or_after_an_hour(zhang, django_capture_on_commit_callbacks) -> None:
    visitor = visitor_for(zhang)
    visitor.sign_in(zhang, ZHANG_ID[-4:], django_capture_on_commit_callbacks)
    assert visitor.client.get("/portal/").status_code == 200
    PortalLink.objects.update(verified_at=timezone.now() - dt.timedelta(hours=1, seconds=1))
    response = visitor.client.get("/portal/")
    assert response.status_code == 302 and response["Location"] == "/portal/ended/"


def test_one_borrowers_session_never_shows_anothers_data(zhang, liu, cast, django_capture_on_commit_callbacks) -> None:
    from doorstep.visits.models import Visit, VisitStatus

    liu_visit = Visit.objects.create(
        case=cast.colleagues_case, borrower=liu, purpose="上门沟通还款", window_start=timezone.now() + dt.timedelta(days=1),
        window_end=timezone.now() + dt.timedelta(days=1, hours=1), collector=cast.other_collector,
        created_by_label="test", status=VisitStatus.COMPLETED,
    )
    visitor = visitor_for(zhang)
    visitor.sign_in(zhang, ZHANG_ID[-4:], django_capture_on_commit_callbacks)
    pages = [visitor.client.get(path) for path in ("/portal/", "/portal/visits/", "/portal/plan/", "/portal/complaints/",
                                                    "/portal/pay/")]
    for page in pages:
        assert page.status_code == 200
        assert "刘洋" not in page.content.decode()
    assert "张伟" in pages[0].content.decode()
    assert visitor.client.get(f"/portal/visits/{liu_visit.pk}/rate/").status_code == 404
    response = visitor.post(f"/portal/visits/{liu_visit.pk}/rate/", {"stars": "1", "comment": "x"})
    assert response.status_code == 404
    response = visitor.post("/portal/visits/", {"visit": liu_visit.pk, "action": "confirm"})
    assert response.status_code == 404
    # Liu's own link cannot be finished with Zhang's ID characters.
    other = visitor_for(liu)
    other.open()
    other.ask_code(ZHANG_ID[-4:], django_capture_on_commit_callbacks)
    assert not Message.objects.filter(borrower=liu, template="portal_code").exists()


def test_an_edited_cookie_opens_nothing(zhang, liu, django_capture_on_commit_callbacks) -> None:
    visitor = visitor_for(zhang)
    visitor.sign_in(zhang, ZHANG_ID[-4:], django_capture_on_commit_callbacks)
    other = visitor_for(liu)
    liu_link = PortalLink.objects.get(borrower=liu)
    PortalLink.objects.filter(pk=liu_link.pk).update(verified_at=timezone.now(), session_generation=1)
    raw = visitor.client.cookies[session.COOKIE_NAME].value
    zhang_link = PortalLink.objects.get(borrower=zhang)
    assert raw.startswith(f"{zhang_link.pk}|1|in|")
    attacker = Client()
    attacker.cookies[session.COOKIE_NAME] = raw.replace(f"{zhang_link.pk}|", f"{liu_link.pk}|", 1)
    response = attacker.get("/portal/")
    assert response.status_code == 302 and response["Location"] == "/portal/ended/"
    assert other.client.get("/portal/").status_code == 302


def test_signing_out_ends_every_cookie_of_the_session(zhang, django_capture_on_commit_callbacks) -> None:
    visitor = visitor_for(zhang)
    visitor.sign_in(zhang, ZHANG_ID[-4:], django_capture_on_commit_callbacks)
    stolen = visitor.client.cookies[session.COOKIE_NAME].value
    response = visitor.post("/portal/sign-out/", {})
    assert response.status_code == 302 and response["Location"] == "/portal/signed-out/"
    thief = Client()
    thief.cookies[session.COOKIE_NAME] = stolen
    assert thief.get("/portal/").status_code == 302


def test_posts_without_the_portal_form_token_change_nothing(zhang, django_capture_on_commit_callbacks) -> None:
    visitor = visitor_for(zhang)
    visitor.open()
    response = visitor.client.post("/portal/verify/", {"action": "send", "id_suffix": ZHANG_ID[-4:]})
    assert response.status_code == 403
    assert not PortalLink.objects.filter(codes_sent__gt=0).exists()


def test_the_portal_sets_only_its_own_cookie_on_its_own_path(zhang, django_capture_on_commit_callbacks) -> None:
    visitor = visitor_for(zhang)
    responses = [visitor.client.get(visitor.link_path), visitor.client.get("/portal/verify/")]
    visitor.token = form_token(responses[-1].content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        responses.append(visitor.post("/portal/verify/", {"action": "send", "id_suffix": ZHANG_ID[-4:]}))
    responses.append(visitor.enter_code(latest_code(zhang)))
    for path in ("/portal/", "/portal/visits/", "/portal/complaints/", "/portal/language/en/?next=/portal/"):
        responses.append(visitor.client.get(path))
    for response in responses:
        assert set(response.cookies) <= {session.COOKIE_NAME}, response.cookies
        for morsel in response.cookies.values():
            assert morsel["path"] == "/portal/" and morsel["httponly"] and morsel["samesite"] == "Lax"
        assert "no-store" in response["Cache-Control"]
    # The staff site takes the portal cookie for nothing, even under the staff cookie's name.
    portal_cookie = visitor.client.cookies[session.COOKIE_NAME].value
    staff = Client()
    staff.cookies["sessionid"] = portal_cookie
    staff.cookies[session.COOKIE_NAME] = portal_cookie
    assert staff.get("/cases/").status_code == 302
    assert "/login" in staff.get("/cases/")["Location"]


def test_a_staff_login_never_opens_the_portal(cast) -> None:
    staff = Client()
    staff.force_login(cast.manager)
    assert staff.get("/cases/").status_code == 200
    for path in ("/portal/", "/portal/visits/", "/portal/complaints/", "/portal/badge/"):
        response = staff.get(path)
        assert response.status_code == 302 and response["Location"] == "/portal/ended/"


def test_too_many_attempts_from_one_address_are_refused(zhang, settings) -> None:
    settings.DOORSTEP_PORTAL_ADDRESS_ATTEMPTS = 3
    from django.core.cache import cache

    cache.clear()
    for _ in range(3):
        assert Client().get("/portal/l/nothing:here:atall/").status_code == 404
    visitor = visitor_for(zhang)
    assert visitor.client.get(visitor.link_path).status_code == 429
    cache.clear()


def test_no_personal_data_reaches_the_audit_trail_or_the_urls(zhang, django_capture_on_commit_callbacks) -> None:
    visitor = visitor_for(zhang)
    visitor.sign_in(zhang, ZHANG_ID[-4:], django_capture_on_commit_callbacks)
    for event in AuditEvent.objects.filter(action__startswith="portal."):
        dumped = str(event.data) + event.object_id
        assert ZHANG_ID[-4:] not in dumped and zhang.name not in dumped
    code_message = Message.objects.get(template="portal_code")
    assert ZHANG_ID[-4:] not in code_message.body


def test_the_english_switch_keeps_the_borrower_on_the_page(zhang, django_capture_on_commit_callbacks) -> None:
    visitor = visitor_for(zhang)
    visitor.sign_in(zhang, ZHANG_ID[-4:], django_capture_on_commit_callbacks)
    response = visitor.client.get("/portal/language/en/?next=/portal/visits/")
    assert response["Location"] == "/portal/visits/"
    page = visitor.client.get("/portal/visits/")
    assert "Past visits" in page.content.decode()
    assert visitor.client.get("/portal/language/en/?next=//evil.example/")["Location"] == "/portal/"


def test_no_log_line_carries_a_link_token(zhang, caplog) -> None:
    visitor = visitor_for(zhang)
    key = visitor.link_path.split("/l/")[1]
    with caplog.at_level("DEBUG"):
        Client().get(visitor.link_path.replace(key[:5], "xxxxx"))
        PortalLink.objects.update(locked_at=timezone.now())
        Client().get(visitor.link_path)
    assert all(key.split(":")[0] not in record.getMessage() for record in caplog.records)
    assert all("/portal/l/" not in record.getMessage() for record in caplog.records)
