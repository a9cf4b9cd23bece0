"""A collector walks through a visit on a phone: Today, the brief, check-in with a faked position, the
record (a promise to pay), check-out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from doorstep.compliance.models import ContactEvent
from doorstep.visits.models import Visit, VisitStatus
from tests.browser.conftest import CHROMIUM_ARGS, PHONE, log_in  # noqa: F401
from tests.conftest import Cast
from tests.visits.field_factories import FieldCast, build_field_cast, daytime_zone

SHOTS = Path("/tmp/shots/visits-field")
DOOR = {"latitude": 30.65712, "longitude": 104.08105, "accuracy": 10}  # about 15 m from 张伟's address


@pytest.fixture
def field_phone(browser: Any) -> Iterator[Any]:
    """A phone that says it stands at the borrower's door."""
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2, locale="zh-CN",
        geolocation=DOOR, permissions=["geolocation"],
    )
    page = context.new_page()
    # A shared CI machine can be slow; a phone on a field network is slower still.
    page.set_default_timeout(30_000)
    page.set_default_navigation_timeout(60_000)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.console_errors = errors
    yield page
    context.close()


@pytest.fixture
def field_day(live_cast: Cast, settings: Any, tmp_path: Path) -> FieldCast:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return build_field_cast(live_cast, timezone.localdate(), zone=daytime_zone())


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_collector_carries_out_a_visit_on_a_phone(field_phone: Any, live_server: Any, field_day: FieldCast) -> None:
    page = field_phone
    visit = field_day.visit
    log_in(page, live_server, "collector")

    page.goto(f"{live_server.url}/visits/field/")
    stops = page.locator(".stop-list .stop")
    assert stops.count() == 2
    assert "张伟" in stops.nth(0).inner_text() and "王芳" in stops.nth(1).inner_text()
    assert page.locator("svg.route-picture .route-stop").count() == 2
    shot(page, "01-today")

    page.locator(".stop-list .stop-link").first.click()
    page.wait_for_url(f"{live_server.url}/visits/field/stops/{visit.pk}/")
    assert visit.borrower.phone_masked in page.content()
    shot(page, "02-brief")

    page.check("input[name=confirm_id_shown]")
    page.check("input[name=confirm_recording]")
    page.locator("#check-in button[type=submit]").click()
    page.wait_for_selector("#record")
    visit.refresh_from_db()
    assert visit.status == VisitStatus.CHECKED_IN
    assert visit.check_in_distance_m is not None and visit.check_in_distance_m < 50
    assert not visit.check_in_far
    shot(page, "03-checked-in")

    assert page.locator("fieldset.promise").is_hidden()
    page.locator("label.choice", has=page.locator("input[name=person_met][value=borrower]")).click()
    page.locator("label.choice", has=page.locator("input[name=result][value=promise]")).click()
    assert page.locator("fieldset.promise").is_visible()
    due = timezone.localdate() + dt.timedelta(days=7)
    page.fill("input[name=promise_amount]", "1000.00")
    page.fill("input[name=promise_due_on]", due.isoformat())
    page.select_option("select[name=attitude]", "cooperative")
    page.select_option("select[name=willingness]", "partial")
    page.select_option("select[name=delinquency_reason]", "income_loss")
    page.fill("textarea[name=notes]", "本人在家，答应一周内先还一千元。")
    page.select_option("select[name=next_action]", "call")
    page.fill("input[name=follow_up_on]", (due + dt.timedelta(days=1)).isoformat())
    shot(page, "04-record-form")
    page.locator("#record button[type=submit]").click()
    page.wait_for_selector("#check-out button:not([disabled])")
    visit.refresh_from_db()
    assert (visit.result, visit.person_met) == ("promise", "borrower")
    from doorstep.arrangements.models import PromiseToPay

    assert PromiseToPay.objects.get(visit_id=visit.pk).amount == Decimal("1000.00")
    shot(page, "05-recorded")

    page.locator("#check-out button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/visits/field/")
    visit.refresh_from_db()
    assert visit.status == VisitStatus.COMPLETED
    assert visit.check_out_latitude is not None
    event = ContactEvent.objects.get(pk=visit.contact_event_id)
    assert (event.verdict, event.outcome_code) == ("allowed", "promise")
    assert "completed" in page.locator(".stop-list .stop").first.get_attribute("class")
    shot(page, "06-back-to-today")
    assert page.console_errors == []


def test_the_sos_button_sends_the_position(field_phone: Any, live_server: Any, field_day: FieldCast) -> None:
    from doorstep.visits.models import VisitAlert

    page = field_phone
    log_in(page, live_server, "collector")
    page.goto(f"{live_server.url}/visits/field/stops/{field_day.visit.pk}/")
    page.locator(".sos-handle").click()
    shot(page, "07-sos-open")
    with page.expect_navigation():
        page.locator(".sos-button").click()
    page.wait_for_selector(".messages .message")
    alert = VisitAlert.objects.get()
    assert (alert.kind, alert.visit_id) == ("sos", field_day.visit.pk)
    assert abs(float(alert.latitude) - DOOR["latitude"]) < 1e-5
    shot(page, "08-sos-sent")
    assert Visit.objects.get(pk=field_day.visit.pk).status == VisitStatus.SCHEDULED
