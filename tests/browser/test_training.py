"""A new collector takes the pre-job exam on a phone, passes, receives the certificate and becomes
assignable; a team lead reviews a sampled visit on the desktop."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from django.utils import timezone

from doorstep.collectors.models import (
    Certificate,
    CertificateKind,
    Choice,
    Course,
    CourseKind,
    ExamAttempt,
    QAReview,
    QASample,
)
from doorstep.collectors.selectors import field_ready_collector_ids
from doorstep.collectors.services import enrolment_assign
from doorstep.core.roles import Role
from tests import factories
from tests.browser.conftest import log_in
from tests.collectors.test_training import done_visit, make_course_with_exam
from tests.conftest import Cast

SHOTS = Path(os.environ.get("DOORSTEP_SHOTS", "/tmp/shots/training"))


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_new_collector_passes_the_exam_on_a_phone_and_becomes_assignable(
    live_server: Any, live_cast: Cast, phone: Any
) -> None:
    cast = live_cast
    user = factories.make_user("newbie", Role.COLLECTOR, first_name="林新人")
    newbie = factories.make_collector(user, cast.team, "CD0099")
    today = timezone.localdate()
    Certificate.objects.create(collector=newbie, kind=CertificateKind.ANNUAL, issued_on=today,
                               expires_on=today + dt.timedelta(days=365))
    exam = make_course_with_exam(questions=8, per_attempt=5)
    enrolment_assign(actor="system:test", collector=newbie, course=exam.course, reason="onboarding")
    assert newbie.pk not in field_ready_collector_ids(on=today)

    log_in(phone, live_server, "newbie")
    phone.goto(f"{live_server.url}/collectors/training/")
    phone.locator(".ready-card.not-ready").wait_for()
    shoot(phone, "phone-my-training-before")
    phone.click(f"#exam-start-{exam.pk}")
    phone.locator("#exam-form").wait_for()
    attempt = ExamAttempt.objects.get(collector=newbie)
    timer = phone.locator("#exam-timer").inner_text()
    assert ":" in timer
    shoot(phone, "phone-exam")
    correct = set(Choice.objects.filter(is_correct=True).values_list("pk", flat=True))
    for item in attempt.paper:
        right = next(choice for choice in item["choices"] if choice in correct)
        phone.check(f"input[name='q{item['question']}'][value='{right}']")
    # The answers are shown in the order of the paper, which is not the bank's order for every question.
    shown = phone.locator(f"input[name='q{attempt.paper[0]['question']}']").evaluate_all(
        "inputs => inputs.map(input => Number(input.value))")
    assert shown == attempt.paper[0]["choices"]
    phone.click("#exam-hand-in")
    phone.wait_for_url(f"**/collectors/training/attempts/{attempt.pk}/result/")
    phone.locator(".result.ready").wait_for()
    shoot(phone, "phone-exam-passed")
    assert phone.console_errors == []
    body = phone.locator("main").inner_text()
    certificate = Certificate.objects.get(collector=newbie, kind=CertificateKind.PRE_JOB)
    assert certificate.number in body
    assert newbie.pk in field_ready_collector_ids(on=today)
    # The page fits the phone: nothing wider than the screen.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_team_lead_reviews_a_sampled_visit(live_server: Any, live_cast: Cast, desktop: Any, settings,
                                             tmp_path) -> None:  # type: ignore[no-untyped-def]
    cast = live_cast
    settings.MEDIA_ROOT = tmp_path
    Course.objects.create(code="conduct", title="行为规范复训", kind=CourseKind.REFRESHER)
    visit = done_visit(cast, attitude="hostile", minutes=4)
    sample = QASample.objects.create(visit=visit, collector=cast.collector, reasons=["short", "hostile"])
    log_in(desktop, live_server, cast.supervisor.username)
    desktop.goto(f"{live_server.url}/collectors/team/")
    desktop.locator(".status-table").wait_for()
    shoot(desktop, "desktop-team-status")
    desktop.goto(f"{live_server.url}/collectors/qa/")
    desktop.click(f"#review-{sample.pk}")
    desktop.wait_for_url(f"**/collectors/qa/{sample.pk}/")
    shoot(desktop, "desktop-qa-review-form")
    for item in ("introduced", "purpose", "truthful", "recording"):
        desktop.check(f"input[name='score_{item}'][value='2']")
    desktop.check("input[name='score_conduct'][value='0']")
    desktop.check("input[name='score_options'][value='0']")
    desktop.fill("#id_comment_conduct", "对借款人提高音量，有威胁意味")
    desktop.fill("#id_comment", "行为不规范，需复训。")
    desktop.click("#review-save")
    desktop.wait_for_url("**/collectors/qa/")
    shoot(desktop, "desktop-qa-after-review")
    review = QAReview.objects.get(sample=sample)
    assert review.score == 66 and review.reviewer == cast.supervisor
    desktop.goto(f"{live_server.url}/collectors/people/{cast.collector.pk}/")
    shoot(desktop, "desktop-collector-record")
    assert desktop.console_errors == []


def test_a_trainer_adds_a_question_and_a_collector_reads_the_course_on_a_phone(
    live_server: Any, live_cast: Cast, desktop: Any, phone: Any
) -> None:
    cast = live_cast
    factories.make_user("trainer", Role.TRAINER, first_name="周培训")
    exam = make_course_with_exam()
    from doorstep.collectors.models import CourseModule, Material

    module = CourseModule.objects.create(course=exam.course, position=1, topic="rules", title="催收规则与行为禁令")
    Material.objects.create(module=module, title="八类禁止行为", body="严禁暴力或以暴力相威胁；严禁侮辱、诽谤。")
    Material.objects.create(module=module, kind="video", title="示范对话", url="https://training.example.cn/v/1")
    desktop.goto(f"{live_server.url}/login/")
    desktop.fill("#id_username", "trainer")
    desktop.fill("#id_password", "correct-horse-battery")
    desktop.click("button.primary")
    desktop.wait_for_url(lambda url: "/login/" not in url)
    desktop.goto(f"{live_server.url}/collectors/trainer/")
    shoot(desktop, "desktop-trainer-courses")
    desktop.goto(f"{live_server.url}/collectors/trainer/courses/{exam.course_id}/questions/new/")
    desktop.fill("#id_text", "上门催收至少几人同行？")
    desktop.fill("#id_answer_1", "一人")
    desktop.fill("#id_answer_2", "两人")
    desktop.check("input[name='correct'][value='1']")
    shoot(desktop, "desktop-question-form")
    desktop.click("button.primary")
    desktop.wait_for_url(f"**/collectors/trainer/courses/{exam.course_id}/")
    shoot(desktop, "desktop-course-edit")
    assert exam.course.questions.get(text="上门催收至少几人同行？").choices.get(is_correct=True).text == "两人"
    assert desktop.console_errors == []

    enrolment_assign(actor="system:test", collector=cast.collector, course=exam.course, reason="manual")
    log_in(phone, live_server, cast.collector_user.username)
    phone.goto(f"{live_server.url}/collectors/training/courses/{exam.course_id}/")
    phone.get_by_text("八类禁止行为").wait_for()
    shoot(phone, "phone-course")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
