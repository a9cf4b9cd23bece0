"""A manager opens the validation report of a model a colleague trained, and approves it as the second person."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from doorstep.core.roles import Role, ensure_roles
from doorstep.scoring import services
from doorstep.scoring.models import ModelKind, ModelStatus, ModelVersion
from tests import factories
from tests.browser.conftest import log_in
from tests.conftest import Cast

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.DOORSTEP_VAR_DIR = tmp_path


def test_a_second_manager_reads_the_validation_report_and_approves_the_model(
    browser: Any, desktop: Any, phone: Any, live_server: Any, live_cast: Cast, screenshot: Any
) -> None:
    ensure_roles()
    services.models_train(actor=live_cast.manager, kinds=(ModelKind.SCORECARD,), accounts=600, seed=3)
    scorecard = ModelVersion.objects.get(kind=ModelKind.SCORECARD)
    factories.make_user("manager2", Role.MANAGER, first_name="孙经理")

    log_in(desktop, live_server, "manager2")
    desktop.goto(f"{live_server.url}/scoring/")
    desktop.get_by_role("link", name=str(scorecard)).click()
    expect(desktop.locator("svg.scoring-chart").first).to_be_visible()
    expect(desktop.locator("text=AUC").first).to_be_visible()
    screenshot(desktop, "scoring-report-desktop")
    desktop.fill("#note", "Calibration and stability checked")
    desktop.locator("button.primary", has_text="Approve").or_(desktop.locator("button.primary")).first.click()
    expect(desktop.locator(".message.success")).to_be_visible()
    scorecard.refresh_from_db()
    assert scorecard.status == ModelStatus.APPROVED and scorecard.is_champion
    assert scorecard.decided_by.username == "manager2"

    log_in(phone, live_server, "manager")
    phone.goto(f"{live_server.url}/scoring/models/{scorecard.pk}/")
    expect(phone.locator("svg.scoring-chart").first).to_be_visible()
    assert phone.locator("button.primary").count() == 0
    screenshot(phone, "scoring-report-phone")
