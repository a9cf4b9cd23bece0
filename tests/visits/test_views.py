"""The supervisor's pages: a lead sees their team's day and acts on it; a manager sees every team;
collectors and other leads get 404."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from doorstep.core.roles import Role
from doorstep.visits import planning, services
from doorstep.visits.models import DayPlan, PlanStatus, PlanStop, Visit, VisitStatus
from tests import factories
from tests.visits.conftest import MONDAY, FieldTeam


def planned(field: FieldTeam, committed) -> DayPlan:  # type: ignore[no-untyped-def]
    supervisor, team = field.cast.supervisor, field.cast.team
    committed(services.visits_allocate, actor=supervisor, day=MONDAY, team_ids=[team.pk])
    committed(services.visits_schedule, actor=supervisor, day=MONDAY, team_ids=[team.pk])
    return planning.day_plan_build(actor=supervisor, team=team, day=MONDAY)


def logged_in(client: Client, user) -> Client:  # type: ignore[no-untyped-def]
    client.force_login(user)
    return client


def day_url(field: FieldTeam) -> str:
    return reverse("visits:team_day", args=[field.cast.team.pk, MONDAY.isoformat()])


def test_the_lead_sees_the_crews_route_and_progress(client: Client, field: FieldTeam, committed) -> None:
    planned(field, committed)
    response = logged_in(client, field.cast.supervisor).get(day_url(field))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<svg" in body and "route-picture" in body
    assert field.cast.own_case.borrower.name in body
    assert field.cast.collector.badge_number in body


def test_the_lead_has_field_plans_in_the_menu_and_collectors_do_not(client: Client, field: FieldTeam) -> None:
    body = logged_in(client, field.cast.supervisor).get(reverse("visits:plans"), follow=True).content.decode()
    assert reverse("visits:plans") in body
    other = Client()
    other.force_login(field.cast.collector_user)
    assert other.get(reverse("visits:plans")).status_code == 404


def test_collectors_outsiders_and_other_leads_get_404(client: Client, field: FieldTeam, committed) -> None:
    planned(field, committed)
    visit = Visit.objects.first()
    other_lead = factories.make_user("lead9", Role.SUPERVISOR)
    for user in (field.cast.collector_user, field.cast.outsider, other_lead):
        c = Client()
        c.force_login(user)
        assert c.get(day_url(field)).status_code == 404
        assert c.get(reverse("visits:visit_detail", args=[visit.pk])).status_code == 404
        assert c.post(reverse("visits:visit_cancel", args=[visit.pk]), {"cancel-reason": "x"}).status_code == 404


def test_the_manager_sees_every_team(client: Client, field: FieldTeam, committed) -> None:
    planned(field, committed)
    factories.make_team(name="青羊三组", branch_code="CD003")
    body = logged_in(client, field.cast.manager).get(reverse("visits:plans") + f"?day={MONDAY}").content.decode()
    assert field.cast.team.name in body and "青羊三组" in body
    assert logged_in(client, field.cast.manager).get(day_url(field)).status_code == 200


def test_cancelling_with_a_reason_replans_the_day(client: Client, field: FieldTeam, committed,
                                                  django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    plan = planned(field, committed)
    visit = PlanStop.objects.filter(route__plan=plan).order_by("sequence").first().visit
    c = logged_in(client, field.cast.supervisor)
    assert c.post(reverse("visits:visit_cancel", args=[visit.pk]), {"cancel-reason": ""}).status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        response = c.post(reverse("visits:visit_cancel", args=[visit.pk]), {"cancel-reason": "借款人已还款"})
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == VisitStatus.CANCELLED
    current = DayPlan.objects.get(team=field.cast.team, day=MONDAY, status=PlanStatus.PUBLISHED)
    assert current.version == 2
    assert visit.pk not in set(PlanStop.objects.filter(route__plan=current).values_list("visit_id", flat=True))


def test_the_lead_records_an_answer_given_by_phone(client: Client, field: FieldTeam, committed) -> None:
    planned(field, committed)
    visit = Visit.objects.first()
    c = logged_in(client, field.cast.supervisor)
    page = c.get(reverse("visits:visit_detail", args=[visit.pk]))
    assert page.status_code == 200
    response = c.post(reverse("visits:visit_answer", args=[visit.pk]),
                      {"answer-answer": "confirmed", "answer-channel": "phone", "answer-note": ""})
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.response == "confirmed" and visit.response_channel == "phone"


def test_the_day_plan_through_the_api(client: Client, field: FieldTeam, committed) -> None:
    plan = planned(field, committed)
    url = f"/api/visits/teams/{field.cast.team.pk}/days/{MONDAY.isoformat()}"
    body = logged_in(client, field.cast.supervisor).get(url).json()
    assert body["version"] == plan.version and len(body["routes"][0]["stops"]) == 6
    other = Client()
    other.force_login(field.cast.collector_user)
    assert other.get(url).status_code == 404


def test_the_lead_gives_a_case_to_another_collector_with_a_reason(client: Client, field: FieldTeam,
                                                                  committed) -> None:
    from doorstep.collectors.models import CaseAssignment

    planned(field, committed)
    visit = Visit.objects.get(case=field.cast.own_case)
    c = logged_in(client, field.cast.supervisor)
    url = reverse("visits:case_reassign", args=[visit.pk])
    assert c.post(url, {"case-collector": field.cast.other_collector.pk, "case-reason": ""}).status_code == 400
    response = c.post(url, {"case-collector": field.cast.other_collector.pk, "case-reason": "借款人要求更换"})
    assert response.status_code == 302
    current = CaseAssignment.objects.get(case=field.cast.own_case, ended_at__isnull=True)
    assert current.collector == field.cast.other_collector and current.reason == "借款人要求更换"


def test_the_case_goes_only_to_a_collector_certified_today(client: Client, field: FieldTeam, committed) -> None:
    planned(field, committed)
    visit = Visit.objects.get(case=field.cast.own_case)
    newcomer = factories.make_collector(factories.make_user("newcomer"), field.cast.team, "CD0041")
    c = logged_in(client, field.cast.supervisor)
    offered = c.get(reverse("visits:visit_detail", args=[visit.pk])).context["case_form"].fields["collector"].queryset
    assert field.cast.other_collector in offered and newcomer not in offered
    response = c.post(reverse("visits:case_reassign", args=[visit.pk]),
                      {"case-collector": newcomer.pk, "case-reason": "借款人要求更换"})
    assert response.status_code == 400
