"""The demo's training and quality: three courses with question banks and exams, exam results for a few
collectors (one trainee not yet certified), a certificate that expires within 30 days, and a QA sample
with reviews — two reviewers on one visit."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from doorstep.collectors import services
from doorstep.collectors.models import (
    Certificate,
    CertificateKind,
    Choice,
    ClassSession,
    Collector,
    Course,
    CourseModule,
    Enrolment,
    EnrolmentReason,
    Exam,
    ExamAttempt,
    Material,
    QAItem,
    QAReview,
    QASample,
    Question,
    Territory,
)
from doorstep.collectors.training_content import COURSES, EXAMS, MODULES, QUESTIONS
from doorstep.core.demo import DEMO_ACTOR, DemoContext
from doorstep.core.roles import Role

TRAINEE_USERNAME = "trainee01"
TRAINEE_PASSWORD = "demo-collector-2026"  # noqa: S105 -- the published demo password of collectors
TRAINEE_BADGE = "TR0001"
DEMO_ZONE = "Asia/Shanghai"


def _content() -> dict[str, Course]:
    courses = {}
    for code, title, kind, certificate_kind, description in COURSES:
        course, created = Course.objects.get_or_create(
            code=code,
            defaults={"title": title, "kind": kind, "certificate_kind": certificate_kind, "description": description},
        )
        courses[code] = course
        if not created:
            continue
        for position, (topic, module_title, materials) in enumerate(MODULES[code], start=1):
            module = CourseModule.objects.create(course=course, position=position, topic=topic, title=module_title)
            for index, (material_kind, material_title, body) in enumerate(materials, start=1):
                Material.objects.create(
                    module=module, position=index, kind=material_kind, title=material_title,
                    body=body if material_kind == "text" else "", url=body if material_kind == "video" else "",
                )
        for topic, text, correct, wrong in QUESTIONS[code]:
            question = Question.objects.create(course=course, topic=topic, text=text)
            Choice.objects.bulk_create(
                [Choice(question=question, text=correct, is_correct=True)]
                + [Choice(question=question, text=answer) for answer in wrong]
            )
        exam_title, count, mark, attempts, minutes = EXAMS[code]
        Exam.objects.create(course=course, title=exam_title, question_count=count, pass_mark=mark,
                            attempts_allowed=attempts, time_limit_minutes=minutes)
    return courses


def _sit(exam: Exam, collector: Collector, *, at: dt.datetime, right: int, seed: int) -> ExamAttempt:
    """An attempt with `right` correct answers, handed in ten minutes after it started."""
    attempt = services.exam_attempt_start(actor=DEMO_ACTOR, exam=exam, collector=collector, now=at,
                                          rng=random.Random(seed))
    correct = set(Choice.objects.filter(question__course=exam.course_id, is_correct=True).values_list("pk", flat=True))
    answers = {}
    for index, item in enumerate(attempt.paper):
        pool = [choice for choice in item["choices"] if (choice in correct) == (index < right)]
        answers[str(item["question"])] = pool[0]
    return services.exam_attempt_submit(actor=DEMO_ACTOR, attempt_id=attempt.pk, answers=answers,
                                        now=at + dt.timedelta(minutes=10))


def _trainee(team_id: int) -> Collector:
    user, created = User.objects.get_or_create(username=TRAINEE_USERNAME, defaults={"first_name": "林新人"})
    if created or not user.has_usable_password():
        user.password = make_password(TRAINEE_PASSWORD)
        user.save(update_fields=["password"])
    user.groups.add(Group.objects.get_or_create(name=Role.COLLECTOR.value)[0])
    # The trainee starts from the branch's territory centre, like every collector has a base to plan from.
    territory = Territory.objects.filter(teams=team_id).order_by("pk").first()
    collector, _created = Collector.objects.get_or_create(
        user=user,
        defaults={
            "badge_number": TRAINEE_BADGE,
            "team_id": team_id,
            "is_experienced": False,
            "home_latitude": territory.centre_latitude if territory else None,
            "home_longitude": territory.centre_longitude if territory else None,
        },
    )
    if territory is not None:
        collector.territories.add(territory)
    return collector


def _local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZoneInfo(DEMO_ZONE))


def _results(context: DemoContext, courses: dict[str, Course], collectors: list[Collector]) -> int:
    """Exam results for the first collectors; the trainee enrolled in the pre-job course."""
    if ExamAttempt.objects.filter(collector__in=collectors).exists():
        return 0
    annual = courses["annual"].exams.get()
    day = context.snapshot_date - dt.timedelta(days=40)
    sat = 0
    for index, collector in enumerate(collectors[:4]):
        at = _local(day + dt.timedelta(days=index), 14)
        if index == 2:  # failed once, passed a week later
            _sit(annual, collector, at=at, right=3, seed=index * 10)
            at += dt.timedelta(days=7)
            sat += 1
        _sit(annual, collector, at=at, right=5 if index % 2 == 0 else 4, seed=index * 10 + 1)
        sat += 1
    return sat


def _expiring(context: DemoContext, collectors: list[Collector]) -> Certificate | None:
    """One collector whose annual refresher runs out within 30 days of the snapshot."""
    if len(collectors) < 6:
        return None
    collector = collectors[5]
    expires = context.snapshot_date + dt.timedelta(days=20)
    certificate = collector.certificates.filter(kind=CertificateKind.ANNUAL).order_by("-expires_on").first()
    if certificate is None:
        return None
    if certificate.expires_on != expires:
        Certificate.objects.filter(pk=certificate.pk).update(issued_on=expires - dt.timedelta(days=365),
                                                             expires_on=expires, reminded_at=None)
    return certificate


def _session(courses: dict[str, Course], collectors: list[Collector], trainer: User | None,
             context: DemoContext) -> None:
    if ClassSession.objects.exists():
        return
    start = _local(context.snapshot_date + dt.timedelta(days=3), 9, 30)
    session = services.session_save(actor=DEMO_ACTOR, session=ClassSession(
        course=courses["pre-job"], starts_at=start, ends_at=start + dt.timedelta(hours=3),
        place="成都分行培训中心 3 楼", trainer=trainer, capacity=20))
    for collector in collectors:
        services.attendance_record(actor=DEMO_ACTOR, session=session, collector=collector, status="invited")


def _completed_visits() -> list[Any]:
    from doorstep.visits.models import Visit, VisitStatus

    return list(Visit.objects.filter(status=VisitStatus.COMPLETED).order_by("checked_out_at", "pk"))


def _qa(context: DemoContext, reviewers: list[User]) -> int:
    """Sample the completed visits and review two of them, one by two reviewers who disagree on an item."""
    visits = _completed_visits()
    if not visits:
        return 0
    since = min(visit.checked_out_at for visit in visits) - dt.timedelta(minutes=1)
    until = max(visit.checked_out_at for visit in visits) + dt.timedelta(minutes=1)
    services.qa_sample_draw(actor=DEMO_ACTOR, since=since, until=until, share=0.5, rng=random.Random(context.seed))
    if QAReview.objects.exists():
        return QASample.objects.count()
    samples = list(QASample.objects.select_related("collector__team__supervisor").order_by("pk")[:2])
    for index, sample in enumerate(samples):
        lead = sample.collector.team.supervisor
        if lead is None:
            continue
        scores = {item: (2, "") for item in QAItem.values}
        if index == 0:
            scores["options"] = (1, "提到了分期，但没有说明申请渠道")
            sample.double_review = True
            sample.save(update_fields=["double_review"])
        services.qa_review_submit(actor=lead, sample_id=sample.pk, scores=scores, comment="整体规范。")
        if index == 0 and reviewers:
            second = dict(scores)
            second["recording"] = (0, "录音在敲门后才开始")
            services.qa_review_submit(actor=reviewers[0], sample_id=sample.pk, scores=second, comment="录音不完整。")
    return QASample.objects.count()


def demo_run(context: DemoContext) -> None:
    with transaction.atomic():
        courses = _content()
        collectors = list(
            Collector.objects.filter(badge_number__startswith="CD").select_related("team").order_by("badge_number")
        )
        if not collectors:
            return
        trainee = _trainee(collectors[0].team_id)
        services.enrolment_assign(actor=DEMO_ACTOR, collector=trainee, course=courses["pre-job"],
                                  reason=EnrolmentReason.ONBOARDING,
                                  due_on=context.snapshot_date + dt.timedelta(days=14))
        if not trainee.certificates.filter(kind=CertificateKind.ANNUAL).exists():
            # A new hire's first annual certificate comes with the pre-job training; here only the pre-job exam
            # is missing, so passing it makes the trainee field-ready.
            Certificate.objects.create(collector=trainee, kind=CertificateKind.ANNUAL, number="AN-TR0001",
                                       issued_on=context.snapshot_date - dt.timedelta(days=3),
                                       expires_on=context.snapshot_date + dt.timedelta(days=362))
        sat = _results(context, courses, collectors)
        expiring = _expiring(context, collectors)
        trainer = User.objects.filter(username="trainer").first()
        _session(courses, [trainee, *collectors[-1:]], trainer, context)
        lapsed = collectors[-1]
        if not Enrolment.objects.filter(collector=lapsed, course=courses["annual"]).exists():
            services.enrolment_assign(actor=DEMO_ACTOR, collector=lapsed, course=courses["annual"],
                                      reason=EnrolmentReason.YEARLY, due_on=context.snapshot_date)
        services.certificates_daily(actor=DEMO_ACTOR, today=context.snapshot_date, now=timezone.now())
        reviewers = list(User.objects.filter(username="manager"))
        sampled = _qa(context, reviewers)
    context.say(
        f"  {len(courses)} courses, {sat} exam attempts, trainee {TRAINEE_USERNAME} / {TRAINEE_PASSWORD} "
        f"(pre-job exam to take), {'1 certificate expiring within 30 days' if expiring else 'no expiring certificate'}, "
        f"{sampled} visits sampled for quality review"
    )


def demo_late_run(context: DemoContext) -> None:
    """The QA part alone, once the demo's field visits exist (after the other apps' demo steps)."""
    with transaction.atomic():
        sampled = _qa(context, list(User.objects.filter(username="manager")))
    context.say(f"  {sampled} visits sampled for quality review")
