"""A team lead opens the team's field day, cancels a visit with a reason, and sees the route re-planned
without it: on a phone and on a desktop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from doorstep.visits import planning, services
from doorstep.visits.models import DayPlan, PlanStatus, PlanStop, VisitStatus
from tests.browser.conftest import log_in
from tests.conftest import Cast
from tests.visits.conftest import MONDAY, FieldTeam, clock, field  # noqa: F401

SHOTS = Path("/tmp/shots/visits-plan")


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def plan_monday(field: FieldTeam) -> DayPlan:  # noqa: F811
    supervisor, team = field.cast.supervisor, field.cast.team
    services.visits_allocate(actor=supervisor, day=MONDAY, team_ids=[team.pk])
    services.visits_schedule(actor=supervisor, day=MONDAY, team_ids=[team.pk])
    return planning.day_plan_build(actor=supervisor, team=team, day=MONDAY)


def cancel_a_visit(page: Any, live_server: Any, field: FieldTeam, name: str) -> None:  # noqa: F811
    plan = plan_monday(field)
    stops = list(PlanStop.objects.filter(route__plan=plan).select_related("visit__borrower").order_by("sequence"))
    assert len(stops) == 6
    target = stops[2].visit
    log_in(page, live_server, "lead")
    page.goto(f"{live_server.url}/visits/plans/{field.cast.team.pk}/{MONDAY.isoformat()}/")
    assert page.locator(".crew .stop-row").count() == 6
    assert page.locator("svg.route-picture .route-stop").count() == 6
    shot(page, f"{name}-1-team-day")

    page.locator(".stop-row", has_text=target.borrower.name).get_by_role("link").click()
    page.wait_for_url(f"**/visits/plans/visit/{target.pk}/")
    shot(page, f"{name}-2-visit")
    page.fill("#id_cancel-reason", "借款人来电：已全额还款")
    page.locator(f"form[action$='/visit/{target.pk}/cancel/'] button").click()
    page.wait_for_url(f"**/visits/plans/{field.cast.team.pk}/{MONDAY.isoformat()}/")

    assert page.locator(".message").count() == 1
    assert page.locator(".crew .stop-row").count() == 5
    assert target.borrower.name not in page.locator(".crew").inner_text()
    assert "借款人来电：已全额还款" in page.locator("body").inner_text()
    assert page.locator("svg.route-picture .route-stop").count() == 5
    assert "2" in page.locator(".plan-head").inner_text()
    shot(page, f"{name}-3-replanned")

    target.refresh_from_db()
    assert target.status == VisitStatus.CANCELLED
    current = DayPlan.objects.get(team=field.cast.team, day=MONDAY, status=PlanStatus.PUBLISHED)
    assert current.version == 2
    assert page.console_errors == []


def test_a_lead_cancels_a_visit_on_a_phone_and_sees_the_route_replanned(
    phone: Any, live_server: Any, live_cast: Cast, field: FieldTeam,  # noqa: F811
) -> None:
    cancel_a_visit(phone, live_server, field, "phone")


def test_a_lead_cancels_a_visit_on_a_desktop(
    desktop: Any, live_server: Any, live_cast: Cast, field: FieldTeam,  # noqa: F811
) -> None:
    cancel_a_visit(desktop, live_server, field, "desktop")
