"""Field visits: the appointment agreed with the borrower, the day plans that route collectors to it, and
the record of what happened at the door."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doorstep.collectors.models import Collector, Team
from doorstep.portfolio.models import Borrower, Case

COORDINATE = {"max_digits": 9, "decimal_places": 6}


class VisitStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    CHECKED_IN = "checked_in", _("At the door")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    MISSED = "missed", _("Not visited")


# A visit is scheduled (with a window and, once the notice has gone out, the borrower's answer), then
# either carried out (checked in, then completed at check-out), cancelled, or missed at the end of its day.
VISIT_TRANSITIONS: dict[str, frozenset[str]] = {
    VisitStatus.SCHEDULED: frozenset({VisitStatus.CHECKED_IN, VisitStatus.CANCELLED, VisitStatus.MISSED}),
    VisitStatus.CHECKED_IN: frozenset({VisitStatus.COMPLETED}),
    VisitStatus.COMPLETED: frozenset(),
    VisitStatus.CANCELLED: frozenset(),
    VisitStatus.MISSED: frozenset(),
}
OPEN_VISIT_STATUSES = (VisitStatus.SCHEDULED, VisitStatus.CHECKED_IN)


class BorrowerResponse(models.TextChoices):
    PENDING = "pending", _("Awaiting answer")
    CONFIRMED = "confirmed", _("Confirmed")
    RESCHEDULED = "rescheduled", _("Moved")
    DECLINED = "declined", _("Declined")
    NO_ANSWER = "no_answer", _("No answer")


class ResponseChannel(models.TextChoices):
    PORTAL = "portal", _("Borrower portal")
    PHONE = "phone", _("By phone")
    IN_PERSON = "in_person", _("In person")
    SYSTEM = "system", _("Recorded by Doorstep")


class PersonMet(models.TextChoices):
    BORROWER = "borrower", _("The borrower")
    FAMILY = "family", _("A family member")
    OTHER = "other", _("Someone else")
    NOBODY = "nobody", _("Nobody")


class Attitude(models.TextChoices):
    COOPERATIVE = "cooperative", _("Cooperative")
    NEUTRAL = "neutral", _("Neutral")
    EVASIVE = "evasive", _("Evasive")
    HOSTILE = "hostile", _("Hostile")


class Willingness(models.TextChoices):
    HIGH = "high", _("Willing to pay")
    PARTIAL = "partial", _("Willing to pay part")
    LOW = "low", _("Reluctant")
    NONE = "none", _("Refuses to pay")


class DelinquencyReason(models.TextChoices):
    INCOME_LOSS = "income_loss", _("Lost job or income")
    ILLNESS = "illness", _("Illness or injury")
    BUSINESS = "business", _("Business difficulties")
    OVERINDEBTED = "overindebted", _("Too many debts")
    FAMILY = "family", _("Family circumstances")
    FORGOT = "forgot", _("Forgot or misunderstood the due date")
    DISPUTE = "dispute", _("Disputes the debt")
    FRAUD = "fraud", _("Claims fraud or identity theft")
    UNWILLING = "unwilling", _("Able but unwilling")
    OTHER = "other", _("Other")


class VisitResult(models.TextChoices):
    PAID = "paid", _("Paid through an official channel")
    PROMISE = "promise", _("Promise to pay")
    PLAN_REQUESTED = "plan_requested", _("Asked for a repayment plan")
    REFUSED = "refused", _("Refused")
    NOT_HOME = "not_home", _("Not at home")
    MOVED = "moved", _("Moved away")
    WRONG_ADDRESS = "wrong_address", _("Wrong address")


class NextAction(models.TextChoices):
    VISIT = "visit", _("Visit again")
    CALL = "call", _("Call")
    SMS = "sms", _("SMS reminder")
    LETTER = "letter", _("Letter")
    LEGAL = "legal", _("Legal review")
    NONE = "none", _("Nothing until the follow-up date")


class Crew(models.Model):
    """The people who go to the door together: one collector, or a pair where the rule set asks for two."""

    team = models.ForeignKey(Team, verbose_name=_("team"), on_delete=models.PROTECT, related_name="crews")
    lead = models.ForeignKey(
        Collector, verbose_name=_("lead"), on_delete=models.PROTECT, related_name="crews_led"
    )
    partner = models.ForeignKey(
        Collector,
        verbose_name=_("partner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="crews_partnered",
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("crew")
        verbose_name_plural = _("crews")
        constraints = [
            models.CheckConstraint(
                condition=~Q(lead=models.F("partner")), name="crew_partner_is_someone_else"
            ),
            models.UniqueConstraint(
                fields=["lead"], condition=Q(is_active=True), name="one_active_crew_per_lead"
            ),
        ]

    def __str__(self) -> str:
        return " + ".join(str(member) for member in self.members)

    @property
    def members(self) -> list[Collector]:
        return [self.lead] + ([self.partner] if self.partner_id else [])


class Visit(models.Model):
    """One appointment at a borrower's door: its window, the notice and the borrower's answer, the crew,
    and, once it happens, the check-in, what was found and agreed, and the check-out."""

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="visits")
    borrower = models.ForeignKey(
        Borrower, verbose_name=_("borrower"), on_delete=models.PROTECT, related_name="visits"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=VisitStatus.choices, default=VisitStatus.SCHEDULED
    )
    purpose = models.CharField(_("purpose"), max_length=200)
    script_code = models.CharField(_("script"), max_length=50, blank=True)
    strategy_priority = models.SmallIntegerField(_("strategy priority"), null=True, blank=True)
    window_start = models.DateTimeField(_("window starts"))
    window_end = models.DateTimeField(_("window ends"))
    service_minutes = models.PositiveSmallIntegerField(_("planned minutes at the door"), default=30)
    latitude = models.DecimalField(_("latitude"), null=True, blank=True, **COORDINATE)
    longitude = models.DecimalField(_("longitude"), null=True, blank=True, **COORDINATE)
    collector = models.ForeignKey(
        Collector, verbose_name=_("collector"), on_delete=models.PROTECT, related_name="visits"
    )
    partner = models.ForeignKey(
        Collector,
        verbose_name=_("second collector"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="partnered_visits",
    )
    rescheduled_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="rescheduled_to"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by_label = models.CharField(_("created by"), max_length=150)

    # The advance notice and the borrower's answer.
    notice_sent_at = models.DateTimeField(_("notice sent"), null=True, blank=True)
    notice_message_id = models.BigIntegerField(_("notice message"), null=True, blank=True)
    response = models.CharField(
        _("borrower's answer"),
        max_length=16,
        choices=BorrowerResponse.choices,
        default=BorrowerResponse.PENDING,
    )
    response_channel = models.CharField(
        _("answered via"), max_length=16, choices=ResponseChannel.choices, blank=True
    )
    response_at = models.DateTimeField(_("answered"), null=True, blank=True)
    response_by_label = models.CharField(_("answer recorded by"), max_length=150, blank=True)
    response_note = models.CharField(_("answer note"), max_length=300, blank=True)

    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancel_reason = models.CharField(_("why cancelled"), max_length=300, blank=True)

    # At the door.
    checked_in_at = models.DateTimeField(_("checked in"), null=True, blank=True)
    check_in_latitude = models.DecimalField(_("check-in latitude"), null=True, blank=True, **COORDINATE)
    check_in_longitude = models.DecimalField(_("check-in longitude"), null=True, blank=True, **COORDINATE)
    check_in_accuracy_m = models.PositiveIntegerField(_("position accuracy (m)"), null=True, blank=True)
    check_in_distance_m = models.PositiveIntegerField(_("distance to the address (m)"), null=True, blank=True)
    check_in_far = models.BooleanField(_("checked in far from the address"), default=False)
    confirmations = models.JSONField(_("confirmations at the door"), default=dict, blank=True)
    checked_out_at = models.DateTimeField(_("checked out"), null=True, blank=True)
    check_out_latitude = models.DecimalField(_("check-out latitude"), null=True, blank=True, **COORDINATE)
    check_out_longitude = models.DecimalField(_("check-out longitude"), null=True, blank=True, **COORDINATE)

    # The record.
    person_met = models.CharField(_("who was met"), max_length=16, choices=PersonMet.choices, blank=True)
    attitude = models.CharField(_("attitude"), max_length=16, choices=Attitude.choices, blank=True)
    willingness = models.CharField(
        _("willingness to pay"), max_length=16, choices=Willingness.choices, blank=True
    )
    delinquency_reason = models.CharField(
        _("reason for delinquency"), max_length=16, choices=DelinquencyReason.choices, blank=True
    )
    result = models.CharField(_("result"), max_length=16, choices=VisitResult.choices, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    next_action = models.CharField(_("next action"), max_length=16, choices=NextAction.choices, blank=True)
    follow_up_on = models.DateField(_("follow up on"), null=True, blank=True)
    contact_event_id = models.BigIntegerField(_("ledger entry"), null=True, blank=True)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["window_start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(window_end__gt=models.F("window_start")), name="visit_window_ordered"
            ),
            models.CheckConstraint(
                condition=Q(partner__isnull=True) | ~Q(partner=models.F("collector")),
                name="visit_partner_is_someone_else",
            ),
        ]
        indexes = [
            models.Index(fields=["collector", "window_start"], name="visit_collector_day_idx"),
            models.Index(fields=["case", "status"], name="visit_case_status_idx"),
            models.Index(fields=["status", "window_start"], name="visit_status_window_idx"),
        ]
        permissions = [
            ("plan_visits", "Can plan and reassign field visits"),
            ("record_visits", "Can carry out and record own field visits"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} @ {self.window_start:%Y-%m-%d %H:%M}"

    def can_move_to(self, status: str) -> bool:
        return status in VISIT_TRANSITIONS[self.status]

    @property
    def collectors(self) -> list[Collector]:
        return [self.collector] + ([self.partner] if self.partner_id else [])


def attachment_path(instance: VisitAttachment, filename: str) -> str:
    return f"visits/{instance.visit_id}/{instance.sha256[:2]}/{instance.sha256}"


class AttachmentKind(models.TextChoices):
    PHOTO = "photo", _("Photo")
    AUDIO = "audio", _("Audio recording")
    DOCUMENT = "document", _("Document")


class VisitAttachment(models.Model):
    """A photo, recording or document from a visit, stored under its SHA-256 so that tampering shows."""

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="attachments")
    kind = models.CharField(_("kind"), max_length=16, choices=AttachmentKind.choices)
    file = models.FileField(_("file"), upload_to=attachment_path)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=100)
    size_bytes = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("visit attachment")
        verbose_name_plural = _("visit attachments")
        constraints = [models.UniqueConstraint(fields=["visit", "sha256"], name="attachment_once_per_visit")]


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    SUPERSEDED = "superseded", _("Replaced by a newer plan")


class DayPlan(models.Model):
    """A team's routes for one day. Re-planning publishes a new version and supersedes the old one."""

    team = models.ForeignKey(Team, verbose_name=_("team"), on_delete=models.PROTECT, related_name="day_plans")
    day = models.DateField(_("day"))
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    status = models.CharField(
        _("status"), max_length=16, choices=PlanStatus.choices, default=PlanStatus.DRAFT
    )
    solver = models.CharField(_("solver"), max_length=50)
    ruleset_version = models.CharField(_("rule set"), max_length=50, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    left_out = models.JSONField(_("left out"), default=list, blank=True)
    reason = models.CharField(_("why (re-)planned"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by_label = models.CharField(_("created by"), max_length=150)

    class Meta:
        verbose_name = _("day plan")
        verbose_name_plural = _("day plans")
        ordering = ["-day", "team", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["team", "day", "version"], name="one_plan_version_per_team_day"),
            models.UniqueConstraint(
                fields=["team", "day"],
                condition=Q(status="published"),
                name="one_published_plan_per_team_day",
            ),
        ]


class PlanRoute(models.Model):
    """One crew's route in a day plan: from its start, through its stops in order, back."""

    plan = models.ForeignKey(DayPlan, on_delete=models.CASCADE, related_name="routes")
    crew = models.ForeignKey(Crew, verbose_name=_("crew"), on_delete=models.PROTECT, related_name="routes")
    start_latitude = models.DecimalField(**COORDINATE)
    start_longitude = models.DecimalField(**COORDINATE)
    departs_at = models.DateTimeField(_("leaves"))
    returns_at = models.DateTimeField(_("back"))
    distance_m = models.PositiveIntegerField(_("distance (m)"), default=0)
    travel_seconds = models.PositiveIntegerField(_("travel time (s)"), default=0)

    class Meta:
        verbose_name = _("route")
        verbose_name_plural = _("routes")
        constraints = [models.UniqueConstraint(fields=["plan", "crew"], name="one_route_per_crew_per_plan")]


class PlanStop(models.Model):
    route = models.ForeignKey(PlanRoute, on_delete=models.CASCADE, related_name="stops")
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="plan_stops")
    sequence = models.PositiveSmallIntegerField(_("order"))
    eta = models.DateTimeField(_("expected arrival"))
    starts_at = models.DateTimeField(_("visit starts"))
    departs_at = models.DateTimeField(_("leaves"))
    travel_seconds = models.PositiveIntegerField(_("travel from the previous stop (s)"), default=0)

    class Meta:
        ordering = ["route", "sequence"]
        constraints = [models.UniqueConstraint(fields=["route", "sequence"], name="stop_order_unique")]


class AlertKind(models.TextChoices):
    OVERDUE = "overdue", _("Not checked out in time")
    SOS = "sos", _("SOS")
    FAR_CHECK_IN = "far_check_in", _("Checked in far from the address")


class VisitAlert(models.Model):
    """Something a supervisor must look at now: an SOS, a visit that is taking too long."""

    kind = models.CharField(_("kind"), max_length=16, choices=AlertKind.choices)
    collector = models.ForeignKey(Collector, on_delete=models.PROTECT, related_name="alerts")
    visit = models.ForeignKey(Visit, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts")
    raised_at = models.DateTimeField(_("raised"), default=timezone.now)
    latitude = models.DecimalField(null=True, blank=True, **COORDINATE)
    longitude = models.DecimalField(null=True, blank=True, **COORDINATE)
    note = models.CharField(_("note"), max_length=300, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-raised_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["visit", "kind"], condition=Q(kind="overdue"), name="one_overdue_alert_per_visit"
            )
        ]
