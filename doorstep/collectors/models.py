from __future__ import annotations

import math
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doorstep.portfolio.models import Case

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


class Territory(models.Model):
    """A branch's field area: a centre and radius, or a polygon of (latitude, longitude) points."""

    name = models.CharField(_("name"), max_length=100)
    branch_code = models.CharField(_("branch"), max_length=32, db_index=True)
    centre_latitude = models.DecimalField(_("centre latitude"), max_digits=9, decimal_places=6)
    centre_longitude = models.DecimalField(_("centre longitude"), max_digits=9, decimal_places=6)
    radius_km = models.DecimalField(_("radius (km)"), max_digits=7, decimal_places=2, default=Decimal("5.00"))
    polygon = models.JSONField(_("boundary"), null=True, blank=True)
    speed_kmh = models.DecimalField(_("travel speed (km/h)"), max_digits=5, decimal_places=1, default=Decimal("25.0"))

    class Meta:
        verbose_name = _("territory")
        verbose_name_plural = _("territories")
        ordering = ["branch_code", "name"]

    def __str__(self) -> str:
        return self.name

    def contains(self, latitude: float, longitude: float) -> bool:
        if self.polygon:
            return point_in_polygon(latitude, longitude, [(float(p[0]), float(p[1])) for p in self.polygon])
        distance = haversine_km(float(self.centre_latitude), float(self.centre_longitude), latitude, longitude)
        return distance <= float(self.radius_km)


def point_in_polygon(latitude: float, longitude: float, polygon: list[tuple[float, float]]) -> bool:
    inside = False
    count = len(polygon)
    for index in range(count):
        lat_a, lon_a = polygon[index]
        lat_b, lon_b = polygon[(index + 1) % count]
        if (lon_a > longitude) != (lon_b > longitude):
            crossing = lat_a + (longitude - lon_a) * (lat_b - lat_a) / (lon_b - lon_a)
            if latitude < crossing:
                inside = not inside
    return inside


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100)
    branch_code = models.CharField(_("branch"), max_length=32, db_index=True)
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("team lead"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="supervised_teams",
    )
    territories = models.ManyToManyField(Territory, verbose_name=_("territories"), blank=True, related_name="teams")

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["branch_code", "name"]

    def __str__(self) -> str:
        return self.name


class Collector(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="collector")
    badge_number = models.CharField(_("badge number"), max_length=32, unique=True)
    team = models.ForeignKey(Team, verbose_name=_("team"), on_delete=models.PROTECT, related_name="collectors")
    territories = models.ManyToManyField(Territory, verbose_name=_("territories"), blank=True, related_name="collectors")
    home_latitude = models.DecimalField(_("home latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    home_longitude = models.DecimalField(_("home longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    visits_per_day = models.PositiveSmallIntegerField(_("visits per day"), default=8)
    work_days = models.CharField(_("work days"), max_length=7, default="12345", help_text=_("ISO weekdays, 1 = Monday"))
    shift_start = models.TimeField(_("shift starts"), default="09:00")
    shift_end = models.TimeField(_("shift ends"), default="18:00")
    is_experienced = models.BooleanField(_("experienced"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    photo = models.ImageField(_("photo"), upload_to="collectors/photos/", blank=True)

    class Meta:
        verbose_name = _("collector")
        verbose_name_plural = _("collectors")
        ordering = ["badge_number"]

    def __str__(self) -> str:
        full_name = self.user.get_full_name() or self.user.get_username()
        return f"{full_name} ({self.badge_number})"

    @property
    def display_name(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class CaseAssignment(models.Model):
    """Which team and collector work a case, since when and why. The open row is the current one."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="assignments")
    team = models.ForeignKey(Team, verbose_name=_("team"), on_delete=models.PROTECT, related_name="assignments")
    collector = models.ForeignKey(
        Collector,
        verbose_name=_("collector"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assignments",
    )
    assigned_at = models.DateTimeField(_("assigned"), default=timezone.now)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    # Set when the collector may no longer go to the field (an expired certificate); a team lead clears it
    # by reassigning the case, which ends this row.
    reassign_flagged_at = models.DateTimeField(_("flagged for reassignment"), null=True, blank=True)
    reassign_reason = models.CharField(_("why it must be reassigned"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("case assignment")
        verbose_name_plural = _("case assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(ended_at__isnull=True), name="one_current_assignment_per_case"
            ),
        ]
        indexes = [
            models.Index(fields=["collector", "ended_at"], name="assignment_collector_idx"),
            models.Index(fields=["team", "ended_at"], name="assignment_team_idx"),
        ]


class CertificateKind(models.TextChoices):
    PRE_JOB = "pre_job", _("Pre-job training")
    ANNUAL = "annual", _("Annual refresher")
    IIBF_DRA = "iibf_dra", _("IIBF Debt Recovery Agent")


class Certificate(models.Model):
    """A collector's training or certification, valid from issue to expiry (持证上岗)."""

    collector = models.ForeignKey(
        Collector, verbose_name=_("collector"), on_delete=models.PROTECT, related_name="certificates"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=CertificateKind.choices)
    number = models.CharField(_("certificate number"), max_length=64, blank=True)
    issued_on = models.DateField(_("issued"))
    expires_on = models.DateField(_("expires"), null=True, blank=True)
    document = models.FileField(_("document"), upload_to="certificates/", blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)
    exam_attempt = models.OneToOneField(
        "collectors.ExamAttempt", null=True, blank=True, on_delete=models.PROTECT, related_name="certificate"
    )
    reminded_at = models.DateTimeField(_("expiry reminder sent"), null=True, blank=True)
    expiry_handled_at = models.DateTimeField(_("expiry handled"), null=True, blank=True)

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        ordering = ["collector", "kind", "-issued_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_on__isnull=True) | Q(expires_on__gte=models.F("issued_on")),
                name="certificate_expires_after_issue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"


class CourseKind(models.TextChoices):
    PRE_JOB = "pre_job", _("Pre-job training")
    REFRESHER = "refresher", _("Refresher")
    EXTERNAL = "external", _("External certification")


class Course(models.Model):
    """A course: modules with materials, a question bank and an exam; passing the exam can earn a certificate."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=CourseKind.choices, default=CourseKind.PRE_JOB)
    certificate_kind = models.CharField(
        _("certificate earned"), max_length=16, choices=CertificateKind.choices, blank=True
    )
    validity_months = models.PositiveSmallIntegerField(_("certificate valid for (months)"), default=12)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        ordering = ["kind", "title"]
        permissions = [
            ("manage_training", _("Can manage courses, question banks, exams and sessions")),
            ("view_team_training", _("Can see the team's training status")),
            ("review_quality", _("Can review visits for quality")),
            ("take_training", _("Can take courses and exams")),
        ]

    def __str__(self) -> str:
        return self.title


class ModuleTopic(models.TextChoices):
    RULES = "rules", _("Collection rules and the conduct bans")
    COMMUNICATION = "communication", _("Communication and negotiation")
    SAFETY = "safety", _("Emergencies and personal safety at the door")
    PRIVACY = "privacy", _("Personal-data protection")
    DOORSTEP = "doorstep", _("Using Doorstep")


class CourseModule(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="modules")
    position = models.PositiveSmallIntegerField(_("order"), default=1)
    topic = models.CharField(_("topic"), max_length=16, choices=ModuleTopic.choices)
    title = models.CharField(_("title"), max_length=200)

    class Meta:
        verbose_name = _("module")
        verbose_name_plural = _("modules")
        ordering = ["course", "position", "id"]

    def __str__(self) -> str:
        return self.title


class MaterialKind(models.TextChoices):
    TEXT = "text", _("Text")
    FILE = "file", _("File")
    VIDEO = "video", _("Video link")


class Material(models.Model):
    module = models.ForeignKey(CourseModule, on_delete=models.CASCADE, related_name="materials")
    position = models.PositiveSmallIntegerField(_("order"), default=1)
    kind = models.CharField(_("kind"), max_length=8, choices=MaterialKind.choices, default=MaterialKind.TEXT)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    file = models.FileField(_("file"), upload_to="training/materials/", blank=True)
    url = models.URLField(_("video link"), blank=True)

    class Meta:
        verbose_name = _("material")
        verbose_name_plural = _("materials")
        ordering = ["module", "position", "id"]

    def __str__(self) -> str:
        return self.title


class Question(models.Model):
    """A question of a course's bank, with one correct choice among several."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="questions")
    topic = models.CharField(_("topic"), max_length=16, choices=ModuleTopic.choices, blank=True)
    text = models.TextField(_("question"))
    explanation = models.TextField(_("explanation"), blank=True)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["course", "id"]

    def __str__(self) -> str:
        return self.text[:80]


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    text = models.CharField(_("answer"), max_length=300)
    is_correct = models.BooleanField(_("correct"), default=False)

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        ordering = ["question", "id"]

    def __str__(self) -> str:
        return self.text


class Exam(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="exams")
    title = models.CharField(_("title"), max_length=200)
    question_count = models.PositiveSmallIntegerField(_("questions per attempt"), default=10)
    pass_mark = models.PositiveSmallIntegerField(_("pass mark (%)"), default=80)
    attempts_allowed = models.PositiveSmallIntegerField(_("attempts allowed"), default=3)
    time_limit_minutes = models.PositiveSmallIntegerField(_("time limit (minutes)"), default=30)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("exam")
        verbose_name_plural = _("exams")
        ordering = ["course", "title"]
        constraints = [
            models.CheckConstraint(condition=Q(pass_mark__lte=100), name="exam_pass_mark_percent"),
            models.CheckConstraint(condition=Q(question_count__gte=1), name="exam_has_questions"),
        ]

    def __str__(self) -> str:
        return self.title


class AttemptStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    SUBMITTED = "submitted", _("Submitted")
    TIMED_OUT = "timed_out", _("Out of time")


class ExamAttempt(models.Model):
    """One sitting: the questions drawn and the order of their answers are fixed when it starts."""

    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="attempts")
    collector = models.ForeignKey(Collector, on_delete=models.PROTECT, related_name="exam_attempts")
    number = models.PositiveSmallIntegerField(_("attempt"))
    status = models.CharField(
        _("status"), max_length=16, choices=AttemptStatus.choices, default=AttemptStatus.IN_PROGRESS
    )
    started_at = models.DateTimeField(_("started"))
    deadline = models.DateTimeField(_("must be handed in by"))
    submitted_at = models.DateTimeField(_("handed in"), null=True, blank=True)
    # [{"question": id, "choices": [id, ...]}, ...] in the order shown.
    paper = models.JSONField(_("questions and answer order"), default=list)
    answers = models.JSONField(_("answers given"), default=dict, blank=True)
    correct = models.PositiveSmallIntegerField(_("correct answers"), default=0)
    score = models.PositiveSmallIntegerField(_("score (%)"), null=True, blank=True)
    passed = models.BooleanField(_("passed"), default=False)

    class Meta:
        verbose_name = _("exam attempt")
        verbose_name_plural = _("exam attempts")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["exam", "collector", "number"], name="one_attempt_number_per_exam"),
        ]

    def __str__(self) -> str:
        return f"{self.exam} #{self.number}"


class ClassSession(models.Model):
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="sessions")
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    place = models.CharField(_("place"), max_length=200)
    trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("trainer"), null=True, blank=True, on_delete=models.PROTECT
    )
    capacity = models.PositiveSmallIntegerField(_("places"), default=20)

    class Meta:
        verbose_name = _("classroom session")
        verbose_name_plural = _("classroom sessions")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="session_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.course} {self.starts_at:%Y-%m-%d %H:%M}"


class AttendanceStatus(models.TextChoices):
    INVITED = "invited", _("Invited")
    PRESENT = "present", _("Present")
    ABSENT = "absent", _("Absent")
    EXCUSED = "excused", _("Excused")


class Attendance(models.Model):
    session = models.ForeignKey(ClassSession, on_delete=models.CASCADE, related_name="attendance")
    collector = models.ForeignKey(Collector, on_delete=models.PROTECT, related_name="attendance")
    status = models.CharField(
        _("attendance"), max_length=8, choices=AttendanceStatus.choices, default=AttendanceStatus.INVITED
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        ordering = ["session", "collector"]
        constraints = [
            models.UniqueConstraint(fields=["session", "collector"], name="one_attendance_per_session"),
        ]


class EnrolmentReason(models.TextChoices):
    ONBOARDING = "onboarding", _("Pre-job training")
    YEARLY = "yearly", _("Yearly refresher")
    REVIEW = "review", _("After a complaint or a review")
    MANUAL = "manual", _("Assigned by a trainer")


class Enrolment(models.Model):
    """A course a collector has to take, why, by when, and whether it is done."""

    collector = models.ForeignKey(Collector, on_delete=models.PROTECT, related_name="enrolments")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="enrolments")
    reason = models.CharField(_("why"), max_length=16, choices=EnrolmentReason.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    assigned_at = models.DateTimeField(_("assigned"), default=timezone.now)
    due_on = models.DateField(_("due"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        ordering = ["-assigned_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["collector", "course"], condition=Q(completed_at__isnull=True), name="one_open_enrolment"
            ),
        ]


class FlagSource(models.TextChoices):
    COMPLAINT = "complaint", _("Upheld complaint")
    QA = "qa", _("Low quality score")
    MANUAL = "manual", _("Team lead")


class FlagOutcome(models.TextChoices):
    OPEN = "open", _("Follow-up under way")
    IMPROVED = "improved", _("Improved")
    NOT_IMPROVED = "not_improved", _("Not improved")


class ReviewFlag(models.Model):
    """A collector put under follow-up: a refresher course and the next visits reviewed."""

    collector = models.ForeignKey(Collector, on_delete=models.PROTECT, related_name="review_flags")
    reason = models.CharField(_("reason"), max_length=300)
    source = models.CharField(_("source"), max_length=16, choices=FlagSource.choices)
    source_id = models.BigIntegerField(_("source record"), null=True, blank=True)
    raised_at = models.DateTimeField(_("raised"), default=timezone.now)
    raised_by_label = models.CharField(_("raised by"), max_length=150)
    enrolment = models.ForeignKey(Enrolment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    follow_up_reviews = models.PositiveSmallIntegerField(_("follow-up reviews"), default=2)
    baseline_score = models.PositiveSmallIntegerField(_("quality score before"), null=True, blank=True)
    follow_up_score = models.PositiveSmallIntegerField(_("quality score after"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=FlagOutcome.choices, default=FlagOutcome.OPEN)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("review flag")
        verbose_name_plural = _("review flags")
        ordering = ["-raised_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_id"],
                condition=Q(source_id__isnull=False),
                name="one_flag_per_source_record",
            ),
        ]


class SampleReason(models.TextChoices):
    RANDOM = "random", _("Random sample")
    COMPLAINT = "complaint", _("Complaint about the visit")
    SHORT = "short", _("Very short visit")
    FAR = "far", _("Checked in far from the address")
    HOSTILE = "hostile", _("Hostile outcome")
    NO_RECORDING = "no_recording", _("No recording")
    FOLLOW_UP = "follow_up", _("Follow-up review")


class QASample(models.Model):
    """A visit picked for quality review, with why it was picked and whether the reviewers agree."""

    visit = models.OneToOneField("visits.Visit", on_delete=models.PROTECT, related_name="qa_sample")
    collector = models.ForeignKey(Collector, on_delete=models.PROTECT, related_name="qa_samples")
    reasons = models.JSONField(_("why picked"), default=list)
    sampled_at = models.DateTimeField(_("picked"), default=timezone.now)
    double_review = models.BooleanField(_("two reviewers"), default=False)
    completed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    disagreement = models.BooleanField(_("reviewers disagree"), default=False)
    agreement = models.PositiveSmallIntegerField(_("agreement (%)"), null=True, blank=True)

    class Meta:
        verbose_name = _("QA sample")
        verbose_name_plural = _("QA samples")
        ordering = ["completed_at", "-sampled_at"]
        indexes = [models.Index(fields=["collector", "sampled_at"], name="qa_sample_collector_idx")]


class QAItem(models.TextChoices):
    INTRODUCED = "introduced", _("Introduced self and showed ID")
    PURPOSE = "purpose", _("Stated the purpose of the visit")
    CONDUCT = "conduct", _("Respected the conduct bans")
    OPTIONS = "options", _("Offered the repayment options")
    TRUTHFUL = "truthful", _("Recorded the outcome truthfully")
    RECORDING = "recording", _("Recording present and complete")


# Each checklist item is scored 0 (not done), 1 (partly) or 2 (fully).
QA_ITEM_MAX = 2
QA_LOW_SCORE = 60


class QAReview(models.Model):
    sample = models.ForeignKey(QASample, on_delete=models.PROTECT, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="qa_reviews")
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)
    score = models.PositiveSmallIntegerField(_("score (%)"))
    comment = models.TextField(_("overall comment"), blank=True)

    class Meta:
        verbose_name = _("QA review")
        verbose_name_plural = _("QA reviews")
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(fields=["sample", "reviewer"], name="one_review_per_reviewer"),
        ]


class QAReviewItem(models.Model):
    review = models.ForeignKey(QAReview, on_delete=models.CASCADE, related_name="items")
    item = models.CharField(_("checklist item"), max_length=16, choices=QAItem.choices)
    score = models.PositiveSmallIntegerField(_("score"))
    comment = models.CharField(_("comment"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("QA review item")
        verbose_name_plural = _("QA review items")
        ordering = ["review", "id"]
        constraints = [
            models.UniqueConstraint(fields=["review", "item"], name="one_score_per_item"),
            models.CheckConstraint(condition=Q(score__lte=QA_ITEM_MAX), name="qa_item_score_range"),
        ]
