"""The training and quality pages, as each role sees them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from doorstep.collectors.models import (
    AttemptStatus,
    Certificate,
    CertificateKind,
    ClassSession,
    Course,
    CourseKind,
    Enrolment,
    ExamAttempt,
    QAItem,
    QAReview,
    QASample,
)
from doorstep.collectors.services import enrolment_assign
from doorstep.core.roles import Role
from tests import factories
from tests.collectors.test_training import done_visit, make_course_with_exam, right_answers
from tests.conftest import Cast


def client_for(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def trainer(db):  # type: ignore[no-untyped-def]
    return factories.make_user("trainer", Role.TRAINER, first_name="周培训")


def test_a_collector_takes_the_exam_and_becomes_field_ready(cast: Cast) -> None:
    exam = make_course_with_exam()
    Certificate.objects.create(collector=cast.collector, kind=CertificateKind.ANNUAL, issued_on=timezone.localdate(),
                               expires_on=timezone.localdate() + dt.timedelta(days=365))
    enrolment_assign(actor="system:test", collector=cast.collector, course=exam.course, reason="onboarding")
    client = client_for(cast.collector_user)
    page = client.get(reverse("collectors:my_training"))
    assert page.status_code == 200 and exam.title in page.content.decode()
    started = client.post(reverse("collectors:exam_start", args=[exam.pk]))
    attempt = ExamAttempt.objects.get(collector=cast.collector)
    assert started.url == reverse("collectors:attempt_take", args=[attempt.pk])
    paper = client.get(started.url)
    assert paper.status_code == 200
    body = {f"q{question}": choice for question, choice in right_answers(attempt).items()}
    done = client.post(started.url, body)
    assert done.url == reverse("collectors:attempt_result", args=[attempt.pk])
    result = client.get(done.url).content.decode()
    attempt.refresh_from_db()
    assert attempt.passed and attempt.status == AttemptStatus.SUBMITTED
    assert Certificate.objects.filter(exam_attempt=attempt).exists()
    assert Enrolment.objects.get(collector=cast.collector).completed_at is not None
    assert "PRE-JOB" in result


def test_someone_elses_attempt_is_not_found(cast: Cast) -> None:
    exam = make_course_with_exam()
    client = client_for(cast.collector_user)
    client.post(reverse("collectors:exam_start", args=[exam.pk]))
    attempt = ExamAttempt.objects.get()
    assert client_for(cast.other_collector_user).get(reverse("collectors:attempt_take", args=[attempt.pk])).status_code == 404
    assert client_for(cast.supervisor).get(reverse("collectors:attempt_take", args=[attempt.pk])).status_code == 404


def test_trainer_pages_render_and_a_question_is_added(cast: Cast, trainer) -> None:  # type: ignore[no-untyped-def]
    exam = make_course_with_exam()
    client = client_for(trainer)
    for name, args in [("trainer_home", []), ("course_edit", [exam.course_id]), ("course_new", []),
                       ("module_new", [exam.course_id]), ("question_new", [exam.course_id]),
                       ("exam_new", [exam.course_id]), ("session_list", []), ("results", []),
                       ("certificate_new", []), ("team_status", []), ("scorecard", []),
                       ("collector_detail", [cast.collector.pk]), ("course_read", [exam.course_id])]:
        assert client.get(reverse(f"collectors:{name}", args=args)).status_code == 200, name
    response = client.post(reverse("collectors:question_new", args=[exam.course_id]), {
        "text": "上门催收时至少几人同行？", "topic": "rules", "answer_1": "一人", "answer_2": "两人", "correct": "1",
        "is_active": "on",
    })
    assert response.status_code == 302
    assert exam.course.questions.get(text__startswith="上门").choices.get(is_correct=True).text == "两人"
    start = timezone.now() + dt.timedelta(days=3)
    response = client.post(reverse("collectors:session_list"), {
        "course": exam.course_id, "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"), "place": "锦江支行三楼", "capacity": 20,
    })
    session = ClassSession.objects.get()
    client.post(reverse("collectors:session_detail", args=[session.pk]), {"collector": cast.collector.pk,
                                                                          "status": "present"})
    assert session.attendance.get().status == "present"
    assert client.get(reverse("collectors:session_detail", args=[session.pk])).status_code == 200


def test_collectors_and_team_leads_cannot_open_trainer_pages(cast: Cast) -> None:
    for user in (cast.collector_user, cast.supervisor):
        assert client_for(user).get(reverse("collectors:trainer_home")).status_code == 403


def test_a_team_lead_sees_their_team_and_reviews_a_sampled_visit(cast: Cast, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path
    Course.objects.create(code="conduct", title="行为规范复训", kind=CourseKind.REFRESHER)
    visit = done_visit(cast, attitude="hostile")
    sample = QASample.objects.create(visit=visit, collector=cast.collector, reasons=["hostile"])
    client = client_for(cast.supervisor)
    status = client.get(reverse("collectors:team_status")).content.decode()
    assert cast.collector.display_name in status and cast.other_collector.display_name in status
    queue = client.get(reverse("collectors:qa_queue")).content.decode()
    assert reverse("collectors:qa_review", args=[sample.pk]) in queue
    assert client.get(reverse("collectors:qa_review", args=[sample.pk])).status_code == 200
    form = {f"score_{item}": "2" for item in QAItem.values}
    form["score_conduct"] = "0"
    form["comment_conduct"] = "语气强硬"
    response = client.post(reverse("collectors:qa_review", args=[sample.pk]), form)
    assert response.status_code == 302
    review = QAReview.objects.get()
    assert review.score == 83 and review.items.get(item="conduct").comment == "语气强硬"
    assert client.get(reverse("collectors:collector_detail", args=[cast.collector.pk])).status_code == 200
    # Another team's lead finds nothing.
    stranger = factories.make_user("lead2", Role.SUPERVISOR)
    factories.make_team(name="青羊三组", supervisor=stranger, branch_code="CD003")
    assert client_for(stranger).get(reverse("collectors:qa_review", args=[sample.pk])).status_code == 404
    assert client_for(stranger).get(reverse("collectors:collector_detail", args=[cast.collector.pk])).status_code == 404
    assert client_for(cast.collector_user).get(reverse("collectors:qa_review", args=[sample.pk])).status_code == 403


def test_the_api_gives_each_user_the_training_status_they_may_see(cast: Cast) -> None:
    from doorstep.core.services import api_token_create

    make_course_with_exam()
    Certificate.objects.create(collector=cast.collector, kind=CertificateKind.PRE_JOB, issued_on=timezone.localdate())

    def get(user, url):  # type: ignore[no-untyped-def]
        _token, raw = api_token_create(actor="system:test", user=user, name="test")
        return Client().get(url, headers={"Authorization": f"Bearer {raw}"})

    rows = get(cast.supervisor, "/api/collectors/training-status").json()
    assert {row["badge_number"] for row in rows} == {"CD0001", "CD0002"}
    mine = get(cast.collector_user, "/api/collectors/training-status").json()
    assert [row["badge_number"] for row in mine] == ["CD0001"]
    states = {item["kind"]: item["state"] for item in mine[0]["certificates"]}
    assert states == {"annual": "missing", "pre_job": "valid"} and mine[0]["field_ready"] is False
    assert get(cast.collector_user, f"/api/collectors/{cast.other_collector.pk}/training-status").status_code == 404


def test_handing_in_with_unanswered_questions_asks_once_then_counts_them_wrong(cast: Cast) -> None:
    exam = make_course_with_exam()
    client = client_for(cast.collector_user)
    url = client.post(reverse("collectors:exam_start", args=[exam.pk])).url
    attempt = ExamAttempt.objects.get()
    answers = right_answers(attempt)
    first = str(attempt.paper[0]["question"])
    body = {f"q{question}": choice for question, choice in answers.items() if question != first}
    warned = client.post(url, body)
    assert warned.status_code == 200 and 'name="confirm" value="1"' in warned.content.decode()
    done = client.post(url, {**body, "confirm": "1"})
    assert done.status_code == 302
    attempt.refresh_from_db()
    assert (attempt.correct, attempt.score, attempt.passed) == (3, 75, True)
