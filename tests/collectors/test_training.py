"""Training, certificates and the field: who may go to the door, exams, and the review loop."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from doorstep.collectors.models import (
    AttemptStatus,
    CaseAssignment,
    Certificate,
    CertificateKind,
    Choice,
    Course,
    CourseKind,
    Enrolment,
    EnrolmentReason,
    Exam,
    ExamAttempt,
    FlagSource,
    Question,
    ReviewFlag,
)
from doorstep.collectors.selectors import field_ready_collector_ids, missing_certificates
from doorstep.collectors.services import (
    certificate_record,
    certificates_daily,
    collector_review_flag,
    exam_attempt_start,
    exam_attempt_submit,
)
from doorstep.compliance.services import ContactAction, caches_clear, check
from doorstep.core.models import AuditEvent
from doorstep.core.roles import Role
from tests import factories
from tests.conftest import Cast

TODAY = dt.date(2026, 11, 28)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def certify(collector, *, on: dt.date = TODAY, annual_expires: dt.date | None = None) -> None:  # type: ignore[no-untyped-def]
    Certificate.objects.create(collector=collector, kind=CertificateKind.PRE_JOB, issued_on=on - dt.timedelta(days=400))
    Certificate.objects.create(
        collector=collector,
        kind=CertificateKind.ANNUAL,
        issued_on=on - dt.timedelta(days=100),
        expires_on=annual_expires or on + dt.timedelta(days=265),
    )


def make_course_with_exam(*, questions: int = 6, per_attempt: int = 4, certificate: str = CertificateKind.PRE_JOB,
                          kind: str = CourseKind.PRE_JOB, code: str = "pre-job") -> Exam:
    course = Course.objects.create(code=code, title="上岗培训", kind=kind, certificate_kind=certificate)
    for number in range(questions):
        question = Question.objects.create(course=course, text=f"第{number + 1}题")
        Choice.objects.create(question=question, text=f"正确{number}", is_correct=True)
        for wrong in range(3):
            Choice.objects.create(question=question, text=f"错误{number}-{wrong}")
    return Exam.objects.create(course=course, title="上岗考试", question_count=per_attempt, pass_mark=75,
                               attempts_allowed=2, time_limit_minutes=20)


def right_answers(attempt: ExamAttempt) -> dict[str, int]:
    correct = set(Choice.objects.filter(is_correct=True).values_list("pk", flat=True))
    return {str(item["question"]): next(c for c in item["choices"] if c in correct) for item in attempt.paper}


def wrong_answers(attempt: ExamAttempt) -> dict[str, int]:
    correct = set(Choice.objects.filter(is_correct=True).values_list("pk", flat=True))
    return {str(item["question"]): next(c for c in item["choices"] if c not in correct) for item in attempt.paper}


def test_only_collectors_with_every_required_certificate_are_field_ready(cast: Cast) -> None:
    certify(cast.collector)
    certify(cast.other_collector, annual_expires=TODAY - dt.timedelta(days=1))
    assert field_ready_collector_ids(on=TODAY) == {cast.collector.pk}
    assert missing_certificates(on=TODAY, collector_ids={cast.other_collector.pk}) == {
        cast.other_collector.pk: {CertificateKind.ANNUAL}
    }
    # The day it expires it still counts; the day after it does not.
    assert cast.collector.pk not in field_ready_collector_ids(on=TODAY + dt.timedelta(days=266))


def test_an_inactive_collector_is_never_field_ready(cast: Cast) -> None:
    certify(cast.collector)
    cast.collector.is_active = False
    cast.collector.save()
    assert field_ready_collector_ids(on=TODAY) == set()


def test_an_expired_certificate_blocks_the_gate_too(cast: Cast) -> None:
    certify(cast.collector)
    certify(cast.other_collector, annual_expires=TODAY - dt.timedelta(days=1))
    caches_clear()
    start = dt.datetime.combine(TODAY + dt.timedelta(days=1), dt.time(10), tzinfo=dt.UTC) + dt.timedelta(hours=-8)
    action = ContactAction(
        case_id=cast.own_case.pk, channel="visit", start=start, end=start + dt.timedelta(minutes=30),
        collector_ids=(cast.collector.pk, cast.other_collector.pk),
    )
    verdict = check(action)
    assert not verdict.allowed
    refusals = [hit for hit in verdict.hits if hit["rule_id"] == "CN-A2"]
    assert [hit["params"]["collector"] for hit in refusals] == [cast.other_collector.display_name]

    certificate_record(actor="system:test", collector=cast.other_collector,
                       kind=CertificateKind.ANNUAL, number="AN-2", issued_on=TODAY, expires_on=TODAY + dt.timedelta(days=365))
    caches_clear()
    renewed = check(action)
    assert "CN-A2" not in renewed.rule_ids
    assert cast.other_collector.pk in field_ready_collector_ids(on=TODAY + dt.timedelta(days=1))


def test_an_exam_is_scored_correctly_whatever_the_order(cast: Cast) -> None:
    exam = make_course_with_exam()
    now = timezone.now()
    papers = []
    for seed in range(2):
        attempt = exam_attempt_start(actor=cast.collector_user, exam=exam, collector=cast.collector, now=now,
                                     rng=random.Random(seed))
        papers.append([(item["question"], tuple(item["choices"])) for item in attempt.paper])
        assert len(attempt.paper) == 4
        if seed == 0:
            answers = wrong_answers(attempt)
            first_question = str(attempt.paper[0]["question"])
            answers[first_question] = right_answers(attempt)[first_question]
            done = exam_attempt_submit(actor=cast.collector_user, attempt_id=attempt.pk, answers=answers, now=now)
            assert (done.correct, done.score, done.passed) == (1, 25, False)
            assert not Certificate.objects.filter(collector=cast.collector).exists()
        else:
            done = exam_attempt_submit(actor=cast.collector_user, attempt_id=attempt.pk,
                                       answers=right_answers(attempt), now=now + dt.timedelta(minutes=5))
            assert (done.correct, done.score, done.passed, done.status) == (4, 100, True, AttemptStatus.SUBMITTED)
    assert papers[0] != papers[1]
    certificate = Certificate.objects.get(collector=cast.collector, exam_attempt=done)
    assert certificate.kind == CertificateKind.PRE_JOB
    assert AuditEvent.objects.filter(action="collectors.exam_attempt.submitted").count() == 2


def test_answers_after_the_time_limit_do_not_count(cast: Cast) -> None:
    exam = make_course_with_exam()
    now = timezone.now()
    attempt = exam_attempt_start(actor=cast.collector_user, exam=exam, collector=cast.collector, now=now)
    late = exam_attempt_submit(actor=cast.collector_user, attempt_id=attempt.pk, answers=right_answers(attempt),
                               now=now + dt.timedelta(minutes=21))
    assert (late.status, late.passed, late.score) == (AttemptStatus.TIMED_OUT, False, 0)
    again = exam_attempt_start(actor=cast.collector_user, exam=exam, collector=cast.collector, now=now)
    exam_attempt_submit(actor=cast.collector_user, attempt_id=again.pk, answers={}, now=now)
    with pytest.raises(ValidationError, match="No attempts left"):
        exam_attempt_start(actor=cast.collector_user, exam=exam, collector=cast.collector, now=now)


def test_an_answer_not_on_the_paper_is_ignored(cast: Cast) -> None:
    exam = make_course_with_exam()
    attempt = exam_attempt_start(actor=cast.collector_user, exam=exam, collector=cast.collector)
    outside = Choice.objects.exclude(question_id__in=[item["question"] for item in attempt.paper]).filter(
        is_correct=True).first()
    answers = {str(item["question"]): outside.pk for item in attempt.paper}
    done = exam_attempt_submit(actor=cast.collector_user, attempt_id=attempt.pk, answers=answers)
    assert done.correct == 0 and done.answers == {}


def test_iibf_certificate_needs_number_and_expiry(cast: Cast) -> None:
    trainer = factories.make_user("trainer", Role.TRAINER)
    with pytest.raises(ValidationError, match="IIBF"):
        certificate_record(actor=trainer, collector=cast.collector, kind=CertificateKind.IIBF_DRA, number="",
                           issued_on=TODAY, expires_on=None)
    certificate = certificate_record(actor=trainer, collector=cast.collector, kind=CertificateKind.IIBF_DRA,
                                     number="IIBF/DRA/2026/001", issued_on=TODAY, expires_on=TODAY + dt.timedelta(days=1095))
    assert certificate.recorded_by == trainer


def test_expiry_reminds_thirty_days_ahead_and_then_flags_open_cases(cast: Cast) -> None:
    refresher = Course.objects.create(code="annual", title="年度复训", kind=CourseKind.REFRESHER,
                                      certificate_kind=CertificateKind.ANNUAL)
    certify(cast.collector, annual_expires=TODAY + dt.timedelta(days=30))
    certify(cast.other_collector, annual_expires=TODAY + dt.timedelta(days=31))
    summary = certificates_daily(actor="system:daily", today=TODAY)
    assert (summary.reminded, summary.expired, summary.enrolled) == (1, 0, 1)
    assert Enrolment.objects.get(collector=cast.collector).course == refresher
    assert certificates_daily(actor="system:daily", today=TODAY).reminded == 0  # once only

    later = certificates_daily(actor="system:daily", today=TODAY + dt.timedelta(days=31))
    assert later.expired == 1 and later.cases_flagged == 1
    flagged = CaseAssignment.objects.get(case=cast.own_case, ended_at__isnull=True)
    assert flagged.reassign_flagged_at is not None and "Annual" in flagged.reassign_reason
    colleague = CaseAssignment.objects.get(case=cast.colleagues_case, ended_at__isnull=True)
    assert colleague.reassign_flagged_at is None

    from doorstep.collectors.services import case_assign

    fresh = case_assign(actor=cast.supervisor, case=cast.own_case, team=cast.team, collector=cast.other_collector,
                        reason="证书过期，改派")
    assert fresh.reassign_flagged_at is None


def test_a_review_flag_assigns_the_refresher_once_per_source(cast: Cast) -> None:
    refresher = Course.objects.create(code="conduct", title="行为规范复训", kind=CourseKind.REFRESHER)
    collector_review_flag(actor="system:feedback", collector_id=cast.collector.pk, reason="投诉属实：言语威胁",
                          source="complaint", source_id=17)
    collector_review_flag(actor="system:feedback", collector_id=cast.collector.pk, reason="投诉属实：言语威胁",
                          source="complaint", source_id=17)
    flag = ReviewFlag.objects.get(collector=cast.collector)
    assert flag.source == FlagSource.COMPLAINT and flag.enrolment.course == refresher
    assert flag.enrolment.reason == EnrolmentReason.REVIEW
    assert Enrolment.objects.filter(collector=cast.collector).count() == 1


# ---------------------------------------------------------------- quality assurance

def done_visit(cast: Cast, *, minutes: int = 25, far: bool = False, attitude: str = "cooperative",
               audio: bool = True, collector=None):  # type: ignore[no-untyped-def]
    from django.core.files.base import ContentFile

    from doorstep.visits.models import AttachmentKind, Visit, VisitAttachment, VisitStatus

    start = timezone.now() - dt.timedelta(hours=3)
    visit = Visit.objects.create(
        case=cast.own_case, borrower=cast.own_case.borrower, status=VisitStatus.COMPLETED, purpose="上门催收",
        window_start=start, window_end=start + dt.timedelta(hours=1), collector=collector or cast.collector,
        partner=cast.other_collector if collector is None else None, created_by_label="test",
        checked_in_at=start, checked_out_at=start + dt.timedelta(minutes=minutes), check_in_far=far,
        attitude=attitude, result="promise",
    )
    if audio:
        attachment = VisitAttachment(visit=visit, kind=AttachmentKind.AUDIO, original_name="a.m4a",
                                     content_type="audio/mp4", size_bytes=3, sha256=f"{visit.pk:064d}",
                                     uploaded_by=cast.collector_user)
        attachment.file.save("a.m4a", ContentFile(b"abc"), save=False)
        attachment.save()
    return visit


def full_marks(score: int = 2) -> dict[str, tuple[int, str]]:
    from doorstep.collectors.models import QAItem

    return {item: (score, "") for item in QAItem.values}


def test_the_sampler_picks_every_risk_based_visit_and_a_random_share(cast: Cast, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from doorstep.collectors.models import QASample, SampleReason
    from doorstep.collectors.services import qa_sample_draw

    settings.MEDIA_ROOT = tmp_path
    short = done_visit(cast, minutes=3)
    far = done_visit(cast, far=True)
    hostile = done_visit(cast, attitude="hostile")
    silent = done_visit(cast, audio=False)
    plain = [done_visit(cast) for _ in range(10)]
    complained = done_visit(cast)
    try:
        from doorstep.feedback.models import Complaint  # noqa: F401
        from doorstep.feedback.services import complaint_file

        complaint_file(actor=f"borrower:{cast.own_case.borrower_id}", borrower=cast.own_case.borrower,
                       category="threat_insult", text="催收员态度恶劣", channel="phone", case=cast.own_case,
                       visit=complained, collector=cast.collector)
        expect_complaint = True
    except ImportError:
        expect_complaint = False
    now = timezone.now()
    samples = qa_sample_draw(actor="system:qa", since=now - dt.timedelta(days=1), until=now, share=0.2,
                             rng=random.Random(3))
    reasons = {sample.visit_id: sample.reasons for sample in samples}
    assert reasons[short.pk] == [SampleReason.SHORT]
    assert reasons[far.pk] == [SampleReason.FAR]
    assert reasons[hostile.pk] == [SampleReason.HOSTILE]
    assert reasons[silent.pk] == [SampleReason.NO_RECORDING]
    if expect_complaint:
        assert reasons[complained.pk] == [SampleReason.COMPLAINT]
        assert QASample.objects.get(visit=complained).double_review
    randoms = [visit.pk for visit in plain if visit.pk in reasons]
    assert len(randoms) == 2 and all(reasons[pk] == [SampleReason.RANDOM] for pk in randoms)
    # Drawing again picks nothing twice.
    again = qa_sample_draw(actor="system:qa", since=now - dt.timedelta(days=1), until=now, share=1.0)
    assert {sample.visit_id for sample in again} == {visit.pk for visit in plain} - set(randoms)


def test_a_low_qa_score_assigns_the_refresher_and_follow_up_reviews_show_the_change(cast: Cast, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from doorstep.collectors.models import FlagOutcome, QASample, SampleReason
    from doorstep.collectors.services import qa_review_submit, qa_sample_draw

    settings.MEDIA_ROOT = tmp_path
    refresher = Course.objects.create(code="conduct", title="行为规范复训", kind=CourseKind.REFRESHER)
    visit = done_visit(cast, attitude="hostile")
    now = timezone.now()
    qa_sample_draw(actor="system:qa", since=now - dt.timedelta(days=1), until=now, share=0)
    sample = QASample.objects.get(visit=visit)
    scores = full_marks(0)
    scores["introduced"] = (2, "出示了工牌")
    review = qa_review_submit(actor=cast.supervisor, sample_id=sample.pk, scores=scores, comment="威胁性言语")
    assert review.score == 16
    flag = ReviewFlag.objects.get(collector=cast.collector)
    assert (flag.source, flag.source_id, flag.enrolment.course) == (FlagSource.QA, review.pk, refresher)

    # The next two visits are sampled as follow-ups (not a third); two good reviews close the flag as improved.
    follows = [done_visit(cast) for _ in range(3)]
    qa_sample_draw(actor="system:qa", since=now - dt.timedelta(days=1), until=timezone.now(), share=0)
    picked = list(QASample.objects.filter(visit__in=follows).order_by("visit_id"))
    assert [sample.reasons for sample in picked] == [[SampleReason.FOLLOW_UP]] * 2
    for follow_sample in picked:
        qa_review_submit(actor=cast.supervisor, sample_id=follow_sample.pk, scores=full_marks(2))
    flag.refresh_from_db()
    assert flag.outcome == FlagOutcome.IMPROVED and flag.follow_up_score == 100


def test_two_reviewers_are_compared_item_by_item(cast: Cast, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from django.core.exceptions import PermissionDenied

    from doorstep.collectors.models import QASample
    from doorstep.collectors.services import qa_review_submit

    settings.MEDIA_ROOT = tmp_path
    visit = done_visit(cast)
    sample = QASample.objects.create(visit=visit, collector=cast.collector, reasons=["random"], double_review=True)
    qa_review_submit(actor=cast.supervisor, sample_id=sample.pk, scores=full_marks(2))
    sample.refresh_from_db()
    assert sample.completed_at is None
    with pytest.raises(PermissionDenied):
        qa_review_submit(actor=cast.collector_user, sample_id=sample.pk, scores=full_marks(2))
    second = full_marks(2)
    second["options"] = (0, "没有提供还款方案")
    qa_review_submit(actor=cast.manager, sample_id=sample.pk, scores=second)
    sample.refresh_from_db()
    assert sample.completed_at is not None
    assert sample.agreement == 83 and sample.disagreement


def test_the_daily_step_puts_untrained_collectors_on_the_pre_job_course(cast: Cast) -> None:
    exam = make_course_with_exam()
    certify(cast.collector)
    summary = certificates_daily(actor="system:daily", today=TODAY)
    assert summary.enrolled == 1
    enrolment = Enrolment.objects.get()
    assert (enrolment.collector, enrolment.course, enrolment.reason) == (
        cast.other_collector, exam.course, EnrolmentReason.ONBOARDING
    )
    assert certificates_daily(actor="system:daily", today=TODAY).enrolled == 0


def test_in_india_only_agency_staff_need_the_iibf_certificate(cast: Cast) -> None:
    from doorstep.compliance.models import Agency

    agency = Agency.objects.create(name="Recovery Partners Pvt Ltd")
    agency.teams.add(cast.team)
    other_team = factories.make_team(name="In-house", branch_code="MU001")
    in_house = factories.make_collector(factories.make_user("inhouse", Role.COLLECTOR), other_team, "MU0001")
    assert field_ready_collector_ids(on=TODAY, jurisdiction="IN") == {in_house.pk}
    certificate_record(actor="system:test", collector=cast.collector, kind=CertificateKind.IIBF_DRA,
                       number="IIBF/DRA/2026/17", issued_on=TODAY - dt.timedelta(days=10),
                       expires_on=TODAY + dt.timedelta(days=1000))
    assert field_ready_collector_ids(on=TODAY, jurisdiction="IN") == {in_house.pk, cast.collector.pk}
