"""Every write about who works a case. Each function runs in one transaction and leaves an audit entry."""

from __future__ import annotations

import calendar
import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.apps import apps as django_apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Avg, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.collectors.models import (
    QA_ITEM_MAX,
    QA_LOW_SCORE,
    AttemptStatus,
    Attendance,
    AttendanceStatus,
    CaseAssignment,
    Certificate,
    CertificateKind,
    Choice,
    ClassSession,
    Collector,
    Course,
    CourseKind,
    CourseModule,
    Enrolment,
    EnrolmentReason,
    Exam,
    ExamAttempt,
    FlagOutcome,
    FlagSource,
    Material,
    MaterialKind,
    QAItem,
    QAReview,
    QAReviewItem,
    QASample,
    Question,
    ReviewFlag,
    SampleReason,
    Team,
)
from doorstep.core.audit import Actor, actor_fields, audit_record
from doorstep.core.bulk import bulk_insert
from doorstep.core.roles import Role, has_role
from doorstep.portfolio.models import ACTIVE_CASE_STATUSES, Case

# How many ids go into one `IN (...)` list: below SQLite's limit on bound parameters.
ID_CHUNK = 5_000


@dataclass(frozen=True)
class PlannedAssignment:
    """One line of a batch: this case goes to this team, and to this collector of it (or to the team only)."""

    case_id: int
    team_id: int
    collector_id: int | None = None


@dataclass(frozen=True)
class BulkAssignmentResult:
    assigned: int
    reassigned: int
    unchanged: int

    @property
    def changed(self) -> int:
        return self.assigned + self.reassigned


def _may_assign(actor: Actor, team_ids: set[int]) -> bool:
    """System jobs, administrators and managers assign anywhere; a team lead only among their own teams."""
    if actor is None or isinstance(actor, str):
        return True
    if not actor.is_authenticated:
        return False
    if has_role(actor, Role.ADMIN, Role.MANAGER):
        return True
    if has_role(actor, Role.SUPERVISOR):
        supervised = set(Team.objects.filter(pk__in=team_ids, supervisor=actor).values_list("pk", flat=True))
        return supervised == team_ids
    return False


def _clean_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Say why the case is being assigned."))
    if len(reason) > 300:
        raise ValidationError(_("The reason may be at most 300 characters."))
    return reason


def _check_collector(collector: Collector | None, team: Team) -> None:
    if collector is None:
        return
    if collector.team_id != team.pk:
        raise ValidationError(
            _("%(collector)s does not belong to team %(team)s.") % {"collector": collector, "team": team}
        )
    if not collector.is_active:
        raise ValidationError(_("%(collector)s is not active and cannot take cases.") % {"collector": collector})


def case_assign(
    *, actor: Actor, case: Case, team: Team, collector: Collector | None = None, reason: str
) -> CaseAssignment:
    """Give `case` to `team` (and to `collector` of that team), ending its current assignment.

    Assigning a case to where it already is changes nothing and returns the current assignment.
    """
    reason = _clean_reason(reason)
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if locked.status not in ACTIVE_CASE_STATUSES:
            raise ValidationError(
                _("A case that is %(status)s cannot be assigned.") % {"status": locked.get_status_display()}
            )
        team = Team.objects.get(pk=team.pk)
        if collector is not None:
            # Read again under the lock: a collector moved or deactivated a moment ago must not get the case.
            collector = Collector.objects.select_for_update().select_related("user").get(pk=collector.pk)
        _check_collector(collector, team)
        current = CaseAssignment.objects.select_for_update().filter(case=locked, ended_at__isnull=True).first()
        involved = {team.pk} | ({current.team_id} if current else set())
        if not _may_assign(actor, involved):
            raise PermissionDenied(_("You may not assign cases of this team."))
        collector_id = collector.pk if collector else None
        if current is not None and current.team_id == team.pk and current.collector_id == collector_id:
            return current
        now = timezone.now()
        if current is not None:
            current.ended_at = now
            current.save(update_fields=["ended_at"])
        assignment = CaseAssignment.objects.create(
            case=locked,
            team=team,
            collector=collector,
            assigned_at=now,
            assigned_by=actor_fields(actor)["actor"],
            reason=reason,
        )
        audit_record(
            actor=actor,
            action="collectors.case.reassigned" if current else "collectors.case.assigned",
            target=locked,
            data={
                "assignment": assignment.pk,
                "team": team.pk,
                "collector": collector_id,
                "from_team": current.team_id if current else None,
                "from_collector": current.collector_id if current else None,
                "reason": reason,
            },
        )
    return assignment


def _chunks(values: list[int]) -> list[list[int]]:
    return [values[start : start + ID_CHUNK] for start in range(0, len(values), ID_CHUNK)]


def cases_assign_bulk(*, actor: Actor, assignments: list[PlannedAssignment], reason: str) -> BulkAssignmentResult:
    """Apply a whole batch of assignments at once: all of them, or, if any line is wrong, none.

    Lines that name where the case already is are left alone. The new rows go in with one bulk insert,
    and the batch leaves one audit entry; each assignment row keeps who made it, when and why.
    """
    reason = _clean_reason(reason)
    if not assignments:
        return BulkAssignmentResult(0, 0, 0)
    case_ids = [line.case_id for line in assignments]
    repeated = [case_id for case_id, count in Counter(case_ids).items() if count > 1]
    if repeated:
        raise ValidationError(_("Case %(case)s appears more than once in the batch.") % {"case": repeated[0]})
    team_ids = {line.team_id for line in assignments}
    teams = Team.objects.in_bulk(team_ids)
    missing_teams = team_ids - set(teams)
    if missing_teams:
        raise ValidationError(_("There is no team %(team)s.") % {"team": min(missing_teams)})

    with transaction.atomic():
        collector_ids = {line.collector_id for line in assignments if line.collector_id is not None}
        collectors = Collector.objects.select_for_update().select_related("user").in_bulk(collector_ids)
        for line in assignments:
            if line.collector_id is None:
                continue
            if line.collector_id not in collectors:
                raise ValidationError(_("There is no collector %(collector)s.") % {"collector": line.collector_id})
            _check_collector(collectors[line.collector_id], teams[line.team_id])

        active: set[int] = set()
        current: dict[int, tuple[int, int | None]] = {}
        for chunk in _chunks(case_ids):
            active.update(
                Case.objects.select_for_update()
                .filter(pk__in=chunk, status__in=ACTIVE_CASE_STATUSES)
                .values_list("pk", flat=True)
            )
            for case_id, team_id, collector_id in (
                CaseAssignment.objects.select_for_update()
                .filter(case_id__in=chunk, ended_at__isnull=True)
                .values_list("case_id", "team_id", "collector_id")
            ):
                current[case_id] = (team_id, collector_id)
        inactive = [case_id for case_id in case_ids if case_id not in active]
        if inactive:
            raise ValidationError(
                _("Case %(case)s does not exist or is no longer in collection.") % {"case": inactive[0]}
            )
        involved = team_ids | {team_id for team_id, _collector in current.values()}
        if not _may_assign(actor, involved):
            raise PermissionDenied(_("You may not assign cases of these teams."))

        changes = [line for line in assignments if current.get(line.case_id) != (line.team_id, line.collector_id)]
        ending = [line.case_id for line in changes if line.case_id in current]
        now = timezone.now()
        for chunk in _chunks(ending):
            CaseAssignment.objects.filter(case_id__in=chunk, ended_at__isnull=True).update(ended_at=now)
        assigned_by = actor_fields(actor)["actor"]
        frame = pl.DataFrame(
            {
                "case_id": [line.case_id for line in changes],
                "team_id": [line.team_id for line in changes],
                "collector_id": [line.collector_id for line in changes],
                "assigned_at": [now] * len(changes),
                "assigned_by_id": [assigned_by.pk if assigned_by else None] * len(changes),
                "reason": [reason] * len(changes),
                "ended_at": [None] * len(changes),
                "reassign_flagged_at": [None] * len(changes),
                "reassign_reason": [""] * len(changes),
            },
            schema={
                "case_id": pl.Int64,
                "team_id": pl.Int64,
                "collector_id": pl.Int64,
                "assigned_at": pl.Datetime("us", "UTC"),
                "assigned_by_id": pl.Int64,
                "reason": pl.String,
                "ended_at": pl.Datetime("us", "UTC"),
                "reassign_flagged_at": pl.Datetime("us", "UTC"),
                "reassign_reason": pl.String,
            },
        )
        bulk_insert(table=CaseAssignment._meta.db_table, frame=frame)
        result = BulkAssignmentResult(
            assigned=len(changes) - len(ending), reassigned=len(ending), unchanged=len(assignments) - len(changes)
        )
        if changes:
            audit_record(
                actor=actor,
                action="collectors.case.assigned_bulk",
                object_type=CaseAssignment._meta.label_lower,
                data={
                    "assigned": result.assigned,
                    "reassigned": result.reassigned,
                    "unchanged": result.unchanged,
                    "by_team": {str(team_id): count for team_id, count in Counter(line.team_id for line in changes).items()},
                    "reason": reason,
                },
            )
    return result


# ---------------------------------------------------------------------------------------------------------
# Training: enrolments, exams, certificates and their expiry; the review loop.
# ---------------------------------------------------------------------------------------------------------

# Handed in this long after the deadline still counts (the page's own clock and the network).
EXAM_GRACE = dt.timedelta(seconds=30)
REMINDER_DAYS = 30
REFRESHER_DUE_DAYS = 30


def _is_user(actor: Actor) -> bool:
    return actor is not None and not isinstance(actor, str) and actor.is_authenticated


def _may_manage_training(actor: Actor) -> bool:
    return not _is_user(actor) or actor.has_perm("collectors.manage_training")  # type: ignore[union-attr]


def _may_review(actor: Actor, collector: Collector) -> bool:
    """Team leads review their own teams' visits; managers and administrators any."""
    if not _is_user(actor):
        return True
    if not actor.has_perm("collectors.review_quality"):  # type: ignore[union-attr]
        return False
    if has_role(actor, Role.ADMIN, Role.MANAGER, Role.COMPLIANCE):
        return True
    if getattr(actor, "collector", None) is not None and actor.collector.pk == collector.pk:  # type: ignore[union-attr]
        return False
    return Team.objects.filter(pk=collector.team_id, supervisor=actor).exists()


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def enrolment_assign(
    *, actor: Actor, collector: Collector, course: Course, reason: str, due_on: dt.date | None = None, note: str = ""
) -> Enrolment:
    """Put `course` on the collector's list; an open enrolment in the same course is returned as it is."""
    if reason == EnrolmentReason.MANUAL and not _may_manage_training(actor):
        raise PermissionDenied(_("You may not assign courses."))
    with transaction.atomic():
        Collector.objects.select_for_update().get(pk=collector.pk)
        existing = Enrolment.objects.filter(collector=collector, course=course, completed_at__isnull=True).first()
        if existing is not None:
            return existing
        enrolment = Enrolment.objects.create(
            collector=collector, course=course, reason=reason, due_on=due_on, note=note[:300]
        )
        audit_record(
            actor=actor,
            action="collectors.enrolment.assigned",
            target=enrolment,
            data={"collector": collector.pk, "course": course.pk, "reason": reason},
        )
    return enrolment


def refresher_course() -> Course | None:
    """The course a collector is sent to after a complaint or a low review, and yearly."""
    return (
        Course.objects.filter(is_active=True, kind=CourseKind.REFRESHER)
        .order_by("-certificate_kind", "code")
        .first()
    )


def exam_attempts_left(*, exam: Exam, collector: Collector) -> int:
    """Attempts left since the collector last passed (a pass opens a fresh allowance for next year)."""
    attempts = ExamAttempt.objects.filter(exam=exam, collector=collector).order_by("number")
    used = 0
    for attempt in attempts:
        used = 0 if attempt.passed else used + 1
    return max(exam.attempts_allowed - used, 0)


def exam_attempt_start(
    *, actor: Actor, exam: Exam, collector: Collector, now: dt.datetime | None = None, rng: random.Random | None = None
) -> ExamAttempt:
    """Draw the paper: `question_count` questions of the course's bank in random order, each with its
    answers shuffled. An attempt still running is returned instead of a new one."""
    now = now or timezone.now()
    rng = rng or random.SystemRandom()
    if _is_user(actor) and getattr(actor, "collector", None) != collector and not _may_manage_training(actor):
        raise PermissionDenied(_("You may sit only your own exams."))
    with transaction.atomic():
        Collector.objects.select_for_update().get(pk=collector.pk)
        running = ExamAttempt.objects.filter(exam=exam, collector=collector, status=AttemptStatus.IN_PROGRESS).first()
        if running is not None:
            if now <= running.deadline + EXAM_GRACE:
                return running
            _attempt_close(running, answers={}, now=now, timed_out=True)
        if not exam.is_active:
            raise ValidationError(_("This exam is closed."))
        if exam_attempts_left(exam=exam, collector=collector) <= 0:
            raise ValidationError(_("No attempts left at this exam. Ask your trainer."))
        bank = list(
            Question.objects.filter(course=exam.course_id, is_active=True)
            .prefetch_related("choices")
            .order_by("pk")
        )
        bank = [question for question in bank if any(choice.is_correct for choice in question.choices.all())]
        if len(bank) < exam.question_count:
            raise ValidationError(_("The question bank has too few questions for this exam."))
        drawn = rng.sample(bank, exam.question_count)
        paper = []
        for question in drawn:
            choice_ids = [choice.pk for choice in question.choices.all()]
            rng.shuffle(choice_ids)
            paper.append({"question": question.pk, "choices": choice_ids})
        number = (ExamAttempt.objects.filter(exam=exam, collector=collector).aggregate(Max("number"))["number__max"] or 0) + 1
        attempt = ExamAttempt.objects.create(
            exam=exam,
            collector=collector,
            number=number,
            started_at=now,
            deadline=now + dt.timedelta(minutes=exam.time_limit_minutes),
            paper=paper,
        )
        audit_record(
            actor=actor,
            action="collectors.exam_attempt.started",
            target=attempt,
            data={"exam": exam.pk, "collector": collector.pk, "number": number},
        )
    return attempt


def _attempt_close(attempt: ExamAttempt, *, answers: dict[str, int], now: dt.datetime, timed_out: bool) -> None:
    correct_ids = set(
        Choice.objects.filter(question_id__in=[item["question"] for item in attempt.paper], is_correct=True)
        .values_list("pk", flat=True)
    )
    kept: dict[str, int] = {}
    for item in attempt.paper:
        given = answers.get(str(item["question"]))
        if given is not None and int(given) in item["choices"]:
            kept[str(item["question"])] = int(given)
    correct = sum(1 for choice_id in kept.values() if choice_id in correct_ids) if not timed_out else 0
    total = len(attempt.paper) or 1
    attempt.answers = kept
    attempt.correct = correct
    attempt.score = (correct * 100) // total
    attempt.passed = not timed_out and attempt.score >= attempt.exam.pass_mark
    attempt.status = AttemptStatus.TIMED_OUT if timed_out else AttemptStatus.SUBMITTED
    attempt.submitted_at = now
    attempt.save(update_fields=["answers", "correct", "score", "passed", "status", "submitted_at"])


def exam_attempt_submit(
    *, actor: Actor, attempt_id: int, answers: dict[str, int], now: dt.datetime | None = None
) -> ExamAttempt:
    """Score an attempt. Answers handed in after the time limit do not count: the attempt fails as out of
    time. A pass completes the course and, when the course earns one, issues the certificate."""
    now = now or timezone.now()
    with transaction.atomic():
        attempt = ExamAttempt.objects.select_for_update().select_related("exam__course", "collector").get(pk=attempt_id)
        if _is_user(actor) and getattr(actor, "collector", None) != attempt.collector:
            raise PermissionDenied(_("You may hand in only your own exam."))
        if attempt.status != AttemptStatus.IN_PROGRESS:
            raise ValidationError(_("This attempt has already been handed in."))
        timed_out = now > attempt.deadline + EXAM_GRACE
        _attempt_close(attempt, answers=answers, now=now, timed_out=timed_out)
        certificate = None
        if attempt.passed:
            course = attempt.exam.course
            Enrolment.objects.filter(collector=attempt.collector, course=course, completed_at__isnull=True).update(
                completed_at=now
            )
            if course.certificate_kind:
                issued = timezone.localdate(now)
                certificate = Certificate.objects.create(
                    collector=attempt.collector,
                    kind=course.certificate_kind,
                    number=f"{course.code.upper()}-{attempt.collector.badge_number}-{attempt.pk}",
                    issued_on=issued,
                    expires_on=add_months(issued, course.validity_months) if course.validity_months else None,
                    recorded_by=actor_fields(actor)["actor"],
                    recorded_at=now,
                    exam_attempt=attempt,
                )
        audit_record(
            actor=actor,
            action="collectors.exam_attempt.submitted",
            target=attempt,
            data={
                "score": attempt.score,
                "passed": attempt.passed,
                "timed_out": timed_out,
                "certificate": certificate.pk if certificate else None,
            },
        )
    return attempt


def certificate_record(
    *,
    actor: Actor,
    collector: Collector,
    kind: str,
    number: str,
    issued_on: dt.date,
    expires_on: dt.date | None,
    document: UploadedFile | None = None,
) -> Certificate:
    """A certificate earned outside Doorstep (an IIBF recovery-agent certificate, classroom training),
    recorded with its document."""
    if not _may_manage_training(actor):
        raise PermissionDenied(_("You may not record certificates."))
    number = number.strip()
    if kind == CertificateKind.IIBF_DRA and (not number or expires_on is None):
        raise ValidationError(_("An IIBF certificate needs its number and expiry date."))
    if expires_on is not None and expires_on < issued_on:
        raise ValidationError(_("A certificate cannot expire before it is issued."))
    if kind not in CertificateKind.values:
        raise ValidationError(_("Unknown kind of certificate."))
    with transaction.atomic():
        Collector.objects.select_for_update().get(pk=collector.pk)
        certificate = Certificate(
            collector=collector,
            kind=kind,
            number=number[:64],
            issued_on=issued_on,
            expires_on=expires_on,
            recorded_by=actor_fields(actor)["actor"],
        )
        if document is not None:
            certificate.document.save(document.name, document, save=False)
        certificate.save()
        audit_record(
            actor=actor,
            action="collectors.certificate.recorded",
            target=certificate,
            data={"collector": collector.pk, "kind": kind, "number": certificate.number,
                  "issued_on": issued_on.isoformat(), "expires_on": expires_on.isoformat() if expires_on else None},
        )
    return certificate


def _renewed(certificate: Certificate) -> bool:
    """A later certificate of the same kind runs past this one's expiry."""
    return (
        Certificate.objects.filter(collector_id=certificate.collector_id, kind=certificate.kind)
        .exclude(pk=certificate.pk)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gt=certificate.expires_on))
        .exists()
    )


def _message_to_collector(*, certificate: Certificate, template: str) -> None:
    try:
        from doorstep.notify.services import message_queue
    except ImportError:
        return
    language = "zh-hans"
    message_queue(
        actor="system:daily",
        template=template,
        channel="app",
        context={
            "collector": certificate.collector.display_name,
            "kind": CertificateKind(certificate.kind).label if certificate.kind in CertificateKind.values else certificate.kind,
            "number": certificate.number,
            "expires_on": certificate.expires_on,
        },
        idempotency_key=f"collectors:{template}:{certificate.pk}:{certificate.expires_on}",
        collector=certificate.collector,
        language=language,
        contact=False,
    )


@dataclass(frozen=True)
class CertificateRunSummary:
    reminded: int
    expired: int
    cases_flagged: int
    enrolled: int


def certificates_daily(*, actor: Actor, today: dt.date, now: dt.datetime | None = None) -> CertificateRunSummary:
    """Remind collectors 30 days before a certificate expires (and enrol them in the refresher); when one
    has expired without renewal, flag the collector's open cases for reassignment."""
    now = now or timezone.now()
    reminded = expired = flagged = enrolled = 0
    refresher = refresher_course()
    with transaction.atomic():
        due = (
            Certificate.objects.select_for_update()
            .select_related("collector__user")
            .filter(reminded_at__isnull=True, expires_on__gte=today,
                    expires_on__lte=today + dt.timedelta(days=REMINDER_DAYS), collector__is_active=True)
            .order_by("pk")
        )
        for certificate in due:
            certificate.reminded_at = now
            certificate.save(update_fields=["reminded_at"])
            if _renewed(certificate):
                continue
            reminded += 1
            course = Course.objects.filter(is_active=True, certificate_kind=certificate.kind).order_by(
                "-kind", "code").first() or refresher
            if course is not None and not Enrolment.objects.filter(
                collector_id=certificate.collector_id, course=course, completed_at__isnull=True
            ).exists():
                enrolment_assign(actor=actor, collector=certificate.collector, course=course,
                                 reason=EnrolmentReason.YEARLY, due_on=certificate.expires_on)
                enrolled += 1
            # The outbox row is written with the reminder mark, in this transaction; it is sent after commit.
            _message_to_collector(certificate=certificate, template="certificate_expiring")
        lapsed = (
            Certificate.objects.select_for_update()
            .select_related("collector__user")
            .filter(expiry_handled_at__isnull=True, expires_on__lt=today)
            .order_by("pk")
        )
        for certificate in lapsed:
            certificate.expiry_handled_at = now
            certificate.save(update_fields=["expiry_handled_at"])
            if _renewed(certificate):
                continue
            expired += 1
            reason = _("%(kind)s certificate expired on %(day)s") % {
                "kind": CertificateKind(certificate.kind).label if certificate.kind in CertificateKind.values else certificate.kind, "day": certificate.expires_on.isoformat()
            }
            flagged += CaseAssignment.objects.filter(
                collector_id=certificate.collector_id, ended_at__isnull=True, reassign_flagged_at__isnull=True
            ).update(reassign_flagged_at=now, reassign_reason=reason[:300])
            _message_to_collector(certificate=certificate, template="certificate_expired")
        enrolled += _onboarding_enrol(actor=actor, today=today)
        audit_record(
            actor=actor,
            action="collectors.certificates.daily",
            object_type=Certificate._meta.label_lower,
            data={"day": today.isoformat(), "reminded": reminded, "expired": expired, "cases_flagged": flagged,
                  "enrolled": enrolled},
        )
    return CertificateRunSummary(reminded, expired, flagged, enrolled)


def _onboarding_enrol(*, actor: Actor, today: dt.date) -> int:
    """Active collectors without a valid pre-job certificate are put on the pre-job course (once)."""
    course = Course.objects.filter(is_active=True, certificate_kind=CertificateKind.PRE_JOB).order_by("code").first()
    if course is None:
        return 0
    trained = Certificate.objects.filter(kind=CertificateKind.PRE_JOB, issued_on__lte=today).filter(
        Q(expires_on__isnull=True) | Q(expires_on__gte=today)
    ).values("collector_id")
    enrolled = Enrolment.objects.filter(course=course, completed_at__isnull=True).values("collector_id")
    count = 0
    for collector in Collector.objects.filter(is_active=True).exclude(pk__in=trained).exclude(pk__in=enrolled):
        enrolment_assign(actor=actor, collector=collector, course=course, reason=EnrolmentReason.ONBOARDING,
                         due_on=today + dt.timedelta(days=REFRESHER_DUE_DAYS))
        count += 1
    return count


def collector_quality_score(*, collector_id: int, since: dt.datetime | None = None,
                            until: dt.datetime | None = None) -> int | None:
    """The mean of the collector's QA review scores in the period, or None without reviews."""
    reviews = QAReview.objects.filter(sample__collector_id=collector_id)
    if since is not None:
        reviews = reviews.filter(submitted_at__gte=since)
    if until is not None:
        reviews = reviews.filter(submitted_at__lt=until)
    mean = reviews.aggregate(mean=Avg("score"))["mean"]
    return round(mean) if mean is not None else None


FLAG_SOURCE_ALIASES = {"feedback": FlagSource.COMPLAINT, "feedback.complaint": FlagSource.COMPLAINT,
                       "qa_review": FlagSource.QA, "supervisor": FlagSource.MANUAL}


def collector_review_flag(
    *, actor: Actor, collector_id: int, reason: str, source: str, source_id: int | None = None
) -> None:
    """Put a collector under follow-up after an upheld conduct complaint or a low QA score: the refresher
    course is assigned and the next visits are sampled for review. Calling again for the same source
    record changes nothing."""
    source = FLAG_SOURCE_ALIASES.get(source, source)
    if source not in FlagSource.values:
        raise ValidationError(_("Unknown source of a review flag: %(source)s.") % {"source": source})
    reason = reason.strip()[:300] or str(FlagSource(source).label)
    with transaction.atomic():
        collector = Collector.objects.select_for_update().get(pk=collector_id)
        if source_id is not None and ReviewFlag.objects.filter(source=source, source_id=source_id).exists():
            return
        enrolment = None
        course = refresher_course()
        if course is not None:
            enrolment = enrolment_assign(
                actor=actor,
                collector=collector,
                course=course,
                reason=EnrolmentReason.REVIEW,
                due_on=timezone.localdate() + dt.timedelta(days=REFRESHER_DUE_DAYS),
                note=reason,
            )
        flag = ReviewFlag.objects.create(
            collector=collector,
            reason=reason,
            source=source,
            source_id=source_id,
            raised_by_label=actor_fields(actor)["actor_label"],
            enrolment=enrolment,
            baseline_score=collector_quality_score(
                collector_id=collector.pk, since=timezone.now() - dt.timedelta(days=90)
            ),
        )
        audit_record(
            actor=actor,
            action="collectors.review_flag.raised",
            target=flag,
            data={"collector": collector.pk, "source": source, "source_id": source_id, "reason": reason,
                  "enrolment": enrolment.pk if enrolment else None},
        )


def _flags_follow_up(*, collector_id: int, now: dt.datetime) -> None:
    """Close open flags whose follow-up reviews are all in, saying whether the collector improved."""
    for flag in ReviewFlag.objects.select_for_update().filter(collector_id=collector_id, outcome=FlagOutcome.OPEN):
        scores = list(
            QAReview.objects.filter(sample__collector_id=collector_id, submitted_at__gt=flag.raised_at)
            .order_by("submitted_at")
            .values_list("score", flat=True)[: flag.follow_up_reviews]
        )
        if len(scores) < flag.follow_up_reviews:
            continue
        flag.follow_up_score = round(sum(scores) / len(scores))
        better = flag.follow_up_score >= QA_LOW_SCORE and (
            flag.baseline_score is None or flag.follow_up_score > flag.baseline_score
        )
        flag.outcome = FlagOutcome.IMPROVED if better else FlagOutcome.NOT_IMPROVED
        flag.closed_at = now
        flag.save(update_fields=["follow_up_score", "outcome", "closed_at"])
        audit_record(
            actor="system:qa",
            action="collectors.review_flag.closed",
            target=flag,
            data={"outcome": flag.outcome, "before": flag.baseline_score, "after": flag.follow_up_score},
        )


# ---------------------------------------------------------------------------------------------------------
# Quality assurance: sampling visits and reviewing them against the checklist.
# ---------------------------------------------------------------------------------------------------------

SHORT_VISIT = dt.timedelta(minutes=5)
DOUBLE_REVIEW_SHARE = 0.2
# Two reviewers whose scores of one item differ by this much (of 0..2), or whose totals differ by this
# many points, are flagged for a calibration talk.
ITEM_GAP = 2
TOTAL_GAP = 25


def _complained_visit_ids(visit_ids: list[int]) -> set[int]:
    try:
        complaint = django_apps.get_model("feedback", "Complaint")
    except LookupError:
        return set()
    found: set[int] = set()
    for chunk in _chunks(visit_ids):
        found.update(complaint.objects.filter(visit_id__in=chunk).values_list("visit_id", flat=True))
    return found


def _follow_ups_wanted() -> dict[int, int]:
    """Per collector under follow-up, how many more of their visits to sample: the follow-up reviews of
    their open flags, less the visits sampled since the flag was raised."""
    wanted: dict[int, int] = {}
    for flag in ReviewFlag.objects.filter(outcome=FlagOutcome.OPEN).order_by("raised_at"):
        sampled = QASample.objects.filter(collector_id=flag.collector_id, sampled_at__gt=flag.raised_at).count()
        wanted[flag.collector_id] = max(wanted.get(flag.collector_id, 0), flag.follow_up_reviews - sampled)
    return wanted


def visit_risk_reasons(visits: list[Any]) -> dict[int, list[str]]:
    """Why each completed visit deserves a look, beyond chance."""
    from doorstep.visits.models import AttachmentKind, Attitude, VisitAttachment

    ids = [visit.pk for visit in visits]
    complained = _complained_visit_ids(ids)
    recorded: set[int] = set()
    for chunk in _chunks(ids):
        recorded.update(
            VisitAttachment.objects.filter(visit_id__in=chunk, kind=AttachmentKind.AUDIO).values_list("visit_id", flat=True)
        )
    following = _follow_ups_wanted()
    reasons: dict[int, list[str]] = {}
    for visit in visits:
        found = []
        if visit.pk in complained:
            found.append(SampleReason.COMPLAINT)
        if visit.checked_in_at and visit.checked_out_at and visit.checked_out_at - visit.checked_in_at < SHORT_VISIT:
            found.append(SampleReason.SHORT)
        if visit.check_in_far:
            found.append(SampleReason.FAR)
        if visit.attitude == Attitude.HOSTILE:
            found.append(SampleReason.HOSTILE)
        if visit.pk not in recorded:
            found.append(SampleReason.NO_RECORDING)
        if following.get(visit.collector_id, 0) > 0:
            following[visit.collector_id] -= 1
            found.append(SampleReason.FOLLOW_UP)
        reasons[visit.pk] = [str(reason) for reason in found]
    return reasons


def qa_sample_draw(
    *,
    actor: Actor,
    since: dt.datetime,
    until: dt.datetime,
    share: float = 0.05,
    rng: random.Random | None = None,
) -> list[QASample]:
    """Pick the completed visits of [since, until) to review: every risk-based one, plus a random `share` of
    the rest. A visit is picked at most once; some picks get two reviewers to keep scoring consistent."""
    from doorstep.visits.models import Visit, VisitStatus

    rng = rng or random.SystemRandom()
    if not 0 <= share <= 1:
        raise ValidationError(_("The random share must be between 0 and 1."))
    with transaction.atomic():
        visits = list(
            Visit.objects.filter(status=VisitStatus.COMPLETED, checked_out_at__gte=since, checked_out_at__lt=until)
            .filter(qa_sample__isnull=True)
            .only("pk", "collector_id", "checked_in_at", "checked_out_at", "check_in_far", "attitude")
            .order_by("pk")
        )
        reasons = visit_risk_reasons(visits)
        rest = [visit for visit in visits if not reasons[visit.pk]]
        for visit in rng.sample(rest, round(len(rest) * share)):
            reasons[visit.pk] = [SampleReason.RANDOM.value]
        now = timezone.now()
        samples = [
            QASample(
                visit_id=visit.pk,
                collector_id=visit.collector_id,
                reasons=reasons[visit.pk],
                sampled_at=now,
                double_review=SampleReason.COMPLAINT in reasons[visit.pk] or rng.random() < DOUBLE_REVIEW_SHARE,
            )
            for visit in visits
            if reasons[visit.pk]
        ]
        QASample.objects.bulk_create(samples)
        audit_record(
            actor=actor,
            action="collectors.qa_sample.drawn",
            object_type=QASample._meta.label_lower,
            data={
                "since": since.isoformat(),
                "until": until.isoformat(),
                "visits": len(visits),
                "picked": len(samples),
                "by_reason": dict(Counter(reason for sample in samples for reason in sample.reasons)),
            },
        )
    return samples


def _compare_reviews(sample: QASample) -> None:
    reviews = list(sample.reviews.prefetch_related("items").order_by("submitted_at")[:2])
    if len(reviews) < 2:
        return
    first = {item.item: item.score for item in reviews[0].items.all()}
    second = {item.item: item.score for item in reviews[1].items.all()}
    items = sorted(set(first) & set(second))
    same = sum(1 for item in items if first[item] == second[item])
    sample.agreement = (same * 100) // len(items) if items else None
    sample.disagreement = any(abs(first[item] - second[item]) >= ITEM_GAP for item in items) or abs(
        reviews[0].score - reviews[1].score
    ) >= TOTAL_GAP


def qa_review_submit(
    *,
    actor: Actor,
    sample_id: int,
    scores: dict[str, tuple[int, str]],
    comment: str = "",
    now: dt.datetime | None = None,
) -> QAReview:
    """Score a sampled visit against every checklist item (0 not done, 1 partly, 2 fully, with comments).
    A low score sends the collector for review."""
    now = now or timezone.now()
    missing = [item for item in QAItem.values if item not in scores]
    if missing:
        raise ValidationError(_("Score every item of the checklist."))
    for item, (score, _comment) in scores.items():
        if item not in QAItem.values or not 0 <= int(score) <= QA_ITEM_MAX:
            raise ValidationError(_("Each item is scored 0, 1 or 2."))
    with transaction.atomic():
        sample = QASample.objects.select_for_update().select_related("collector").get(pk=sample_id)
        if not _may_review(actor, sample.collector):
            raise PermissionDenied(_("You may not review this visit."))
        user = actor_fields(actor)["actor"]
        if user is None:
            raise PermissionDenied(_("A review is made by a person."))
        if sample.reviews.filter(reviewer=user).exists():
            raise ValidationError(_("You have already reviewed this visit."))
        if sample.completed_at is not None and (not sample.double_review or sample.reviews.count() >= 2):
            raise ValidationError(_("This visit has all its reviews."))
        total = sum(int(scores[item][0]) for item in QAItem.values)
        review = QAReview.objects.create(
            sample=sample,
            reviewer=user,
            submitted_at=now,
            score=(total * 100) // (QA_ITEM_MAX * len(QAItem.values)),
            comment=comment.strip(),
        )
        QAReviewItem.objects.bulk_create(
            QAReviewItem(review=review, item=item, score=int(scores[item][0]), comment=scores[item][1].strip()[:500])
            for item in QAItem.values
        )
        count = sample.reviews.count()
        if count >= (2 if sample.double_review else 1):
            sample.completed_at = now
        _compare_reviews(sample)
        sample.save(update_fields=["completed_at", "agreement", "disagreement"])
        audit_record(
            actor=actor,
            action="collectors.qa_review.submitted",
            target=review,
            data={"sample": sample.pk, "visit": sample.visit_id, "score": review.score,
                  "items": {item: int(scores[item][0]) for item in QAItem.values}},
        )
        _flags_follow_up(collector_id=sample.collector_id, now=now)
        if review.score < QA_LOW_SCORE:
            collector_review_flag(
                actor=actor,
                collector_id=sample.collector_id,
                reason=_("Quality review scored %(score)s%%") % {"score": review.score},
                source=FlagSource.QA,
                source_id=review.pk,
            )
    return review


# ---------------------------------------------------------------------------------------------------------
# Trainers' records: courses, modules, materials, the question bank, exams, classroom sessions.
# ---------------------------------------------------------------------------------------------------------


def _training_save(*, actor: Actor, record: Any, entity: str) -> Any:
    if not _may_manage_training(actor):
        raise PermissionDenied(_("You may not change training records."))
    with transaction.atomic():
        created = record.pk is None
        if not created:
            type(record).objects.select_for_update().get(pk=record.pk)
        record.full_clean()
        record.save()
        audit_record(
            actor=actor,
            action=f"collectors.{entity}.{'created' if created else 'changed'}",
            target=record,
            data={"title": str(record)[:200]},
        )
    return record


def course_save(*, actor: Actor, course: Course) -> Course:
    return _training_save(actor=actor, record=course, entity="course")


def module_save(*, actor: Actor, module: CourseModule) -> CourseModule:
    return _training_save(actor=actor, record=module, entity="module")


def material_save(*, actor: Actor, material: Material) -> Material:
    if material.kind == MaterialKind.VIDEO and not material.url:
        raise ValidationError(_("A video material needs its link."))
    if material.kind == MaterialKind.FILE and not material.file:
        raise ValidationError(_("A file material needs its file."))
    if material.kind == MaterialKind.TEXT and not material.body.strip():
        raise ValidationError(_("A text material needs its text."))
    return _training_save(actor=actor, record=material, entity="material")


def exam_save(*, actor: Actor, exam: Exam) -> Exam:
    return _training_save(actor=actor, record=exam, entity="exam")


def session_save(*, actor: Actor, session: ClassSession) -> ClassSession:
    return _training_save(actor=actor, record=session, entity="session")


def question_save(
    *, actor: Actor, question: Question, answers: list[str], correct: int
) -> Question:
    """A question with its answers (two or more), `correct` the index of the right one. Editing a question
    replaces its answers; attempts already handed in keep their score."""
    answers = [answer.strip() for answer in answers if answer.strip()]
    if len(answers) < 2:
        raise ValidationError(_("Give at least two answers."))
    if not 0 <= correct < len(answers):
        raise ValidationError(_("Mark which answer is correct."))
    if not _may_manage_training(actor):
        raise PermissionDenied(_("You may not change training records."))
    with transaction.atomic():
        created = question.pk is None
        question.full_clean()
        question.save()
        if not created:
            Question.objects.select_for_update().get(pk=question.pk)
            question.choices.all().delete()
        Choice.objects.bulk_create(
            Choice(question=question, text=text[:300], is_correct=index == correct) for index, text in enumerate(answers)
        )
        audit_record(
            actor=actor,
            action=f"collectors.question.{'created' if created else 'changed'}",
            target=question,
            data={"course": question.course_id, "answers": len(answers)},
        )
    return question


def attendance_record(
    *, actor: Actor, session: ClassSession, collector: Collector, status: str
) -> Attendance:
    """Invite a collector to a session or record whether they came. Being present completes the course's
    enrolment when the course has no exam."""
    if not _may_manage_training(actor):
        raise PermissionDenied(_("You may not record attendance."))
    if status not in AttendanceStatus.values:
        raise ValidationError(_("Unknown attendance."))
    with transaction.atomic():
        session = ClassSession.objects.select_for_update().get(pk=session.pk)
        row = Attendance.objects.filter(session=session, collector=collector).first()
        if row is None:
            if status == AttendanceStatus.INVITED and session.attendance.count() >= session.capacity:
                raise ValidationError(_("The session is full."))
            row = Attendance(session=session, collector=collector)
        row.status = status
        row.recorded_by = actor_fields(actor)["actor"]
        row.recorded_at = timezone.now()
        row.save()
        if status == AttendanceStatus.PRESENT and not session.course.exams.filter(is_active=True).exists():
            Enrolment.objects.filter(collector=collector, course=session.course_id, completed_at__isnull=True).update(
                completed_at=session.ends_at
            )
        audit_record(
            actor=actor,
            action="collectors.attendance.recorded",
            target=row,
            data={"session": session.pk, "collector": collector.pk, "status": status},
        )
    return row
