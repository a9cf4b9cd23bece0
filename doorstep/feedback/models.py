"""Ratings of visits and borrowers' complaints, with each complaint's deadlines and history."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from doorstep.collectors.models import Collector, Team
from doorstep.portfolio.models import Borrower, Case
from doorstep.visits.models import Visit


class RatingSource(models.TextChoices):
    PORTAL = "portal", _("Borrower portal")
    PHONE = "phone", _("Phone")
    BRANCH = "branch", _("Branch")
    SURVEY = "survey", _("Survey")


class VisitRating(models.Model):
    """What the borrower thought of one visit: 1 to 5 stars and a comment. One per visit."""

    visit = models.OneToOneField(Visit, verbose_name=_("visit"), on_delete=models.PROTECT, related_name="rating")
    stars = models.PositiveSmallIntegerField(_("stars"))
    comment = models.TextField(pgettext_lazy("rating", "comment"), blank=True, max_length=2000)
    source = models.CharField(pgettext_lazy("rating", "source"), max_length=16, choices=RatingSource.choices, default=RatingSource.PORTAL)
    at = models.DateTimeField(_("rated"), default=timezone.now)
    recorded_by_label = models.CharField(_("recorded by"), max_length=150)

    class Meta:
        verbose_name = _("visit rating")
        verbose_name_plural = _("visit ratings")
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(stars__gte=1, stars__lte=5), name="rating_stars_1_to_5"),
        ]
        indexes = [models.Index(fields=["at"], name="rating_at_idx")]

    def __str__(self) -> str:
        return f"{self.visit_id}: {self.stars}"


def _label_display(label: str) -> str:
    """Who did something, for staff pages: the borrower by role, staff by their user name."""
    return str(_("The borrower (portal)")) if label.startswith("borrower:") else label


class ComplaintCategory(models.TextChoices):
    THREAT_INSULT = "threat_insult", _("Threats or insults")
    THIRD_PARTY = "third_party", _("Contacting third parties")
    IMPROPER_TIME = "improper_time", _("Visit or call at an improper time")
    PRIVACY = "privacy", _("Privacy")
    WRONG_PERSON = "wrong_person", _("Wrong person or not my debt")
    AMOUNT_DISPUTED = "amount_disputed", _("Amount disputed")
    OTHER = "other", _("Other")


# Complaints about how a collector behaved: upheld ones send the collector for review.
CONDUCT_CATEGORIES = frozenset(
    {
        ComplaintCategory.THREAT_INSULT,
        ComplaintCategory.THIRD_PARTY,
        ComplaintCategory.IMPROPER_TIME,
        ComplaintCategory.PRIVACY,
    }
)
# Complaints that dispute the debt itself: collection stops until they are decided.
DISPUTE_CATEGORIES = frozenset({ComplaintCategory.WRONG_PERSON, ComplaintCategory.AMOUNT_DISPUTED})


class ComplaintChannel(models.TextChoices):
    PORTAL = "portal", _("Borrower portal")
    PHONE = "phone", _("Phone")
    BRANCH = "branch", _("Branch")
    LETTER = "letter", _("Letter")


class ComplaintStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    INVESTIGATING = "investigating", _("Investigating")
    RESOLVED = "resolved", _("Resolved")
    REJECTED = "rejected", pgettext_lazy("complaint", "Rejected")


# received → acknowledged → investigating → resolved; a complaint may be rejected at any open step.
COMPLAINT_TRANSITIONS: dict[str, frozenset[str]] = {
    ComplaintStatus.RECEIVED: frozenset({ComplaintStatus.ACKNOWLEDGED, ComplaintStatus.REJECTED}),
    ComplaintStatus.ACKNOWLEDGED: frozenset({ComplaintStatus.INVESTIGATING, ComplaintStatus.REJECTED}),
    ComplaintStatus.INVESTIGATING: frozenset({ComplaintStatus.RESOLVED, ComplaintStatus.REJECTED}),
    ComplaintStatus.RESOLVED: frozenset(),
    ComplaintStatus.REJECTED: frozenset(),
}
OPEN_COMPLAINT_STATUSES = (ComplaintStatus.RECEIVED, ComplaintStatus.ACKNOWLEDGED, ComplaintStatus.INVESTIGATING)


class ComplaintOutcome(models.TextChoices):
    UPHELD = "upheld", _("Upheld")
    NOT_UPHELD = "not_upheld", _("Not upheld")


class Complaint(models.Model):
    """A borrower's complaint, from receipt to decision, with its two deadlines."""

    borrower = models.ForeignKey(
        Borrower, verbose_name=_("borrower"), on_delete=models.PROTECT, related_name="complaints"
    )
    case = models.ForeignKey(
        Case, verbose_name=_("case"), null=True, blank=True, on_delete=models.PROTECT, related_name="complaints"
    )
    visit = models.ForeignKey(
        Visit, verbose_name=_("visit"), null=True, blank=True, on_delete=models.PROTECT, related_name="complaints"
    )
    collector = models.ForeignKey(
        Collector, verbose_name=_("collector"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="complaints",
    )
    # The team whose lead handles it: the collector's team, else the case's team when it was filed.
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.PROTECT, related_name="complaints"
    )
    category = models.CharField(_("category"), max_length=20, choices=ComplaintCategory.choices)
    text = models.TextField(_("what happened"), max_length=5000)
    channel = models.CharField(_("received by"), max_length=16, choices=ComplaintChannel.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=ComplaintStatus.choices, default=ComplaintStatus.RECEIVED
    )
    outcome = models.CharField(pgettext_lazy("complaint", "outcome"), max_length=16, choices=ComplaintOutcome.choices, blank=True)
    decision_text = models.TextField(_("decision"), blank=True, max_length=5000)
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("handler"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="complaints_handled",
    )
    filed_by_label = models.CharField(_("filed by"), max_length=150)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    acknowledge_due_at = models.DateTimeField(_("acknowledge by"))
    decide_due_at = models.DateTimeField(_("decide by"))
    acknowledged_at = models.DateTimeField(pgettext_lazy("complaint", "acknowledged"), null=True, blank=True)
    decided_at = models.DateTimeField(pgettext_lazy("complaint", "decided"), null=True, blank=True)
    extended_at = models.DateTimeField(_("deadline extended"), null=True, blank=True)
    extension_reason = models.CharField(_("why extended"), max_length=500, blank=True)
    acknowledge_breached_at = models.DateTimeField(_("acknowledgement overdue since"), null=True, blank=True)
    decide_breached_at = models.DateTimeField(_("decision overdue since"), null=True, blank=True)
    is_dispute = models.BooleanField(_("disputes the debt"), default=False)
    # Whether the borrower's dispute flag was already on when this dispute was filed (set by the bank):
    # closing this complaint then leaves it on.
    dispute_flag_preexisting = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=ComplaintStatus.RESOLVED) | ~Q(outcome=""), name="complaint_resolved_has_outcome"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "acknowledge_due_at"], name="complaint_status_ack_idx"),
            models.Index(fields=["status", "decide_due_at"], name="complaint_status_decide_idx"),
            models.Index(fields=["team", "status"], name="complaint_team_status_idx"),
            models.Index(fields=["received_at"], name="complaint_received_idx"),
        ]
        permissions = [
            ("handle_complaints", _("Can log and handle borrowers' complaints")),
            ("view_feedback", _("Can see ratings and complaints")),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        return f"TS{self.received_at:%Y%m%d}-{self.pk or 0:06d}"

    @property
    def filed_by_display(self) -> str:
        return _label_display(self.filed_by_label)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_COMPLAINT_STATUSES

    @property
    def is_conduct(self) -> bool:
        return self.category in CONDUCT_CATEGORIES

    @property
    def was_extended(self) -> bool:
        return self.extended_at is not None

    def can_move_to(self, status: str) -> bool:
        return status in COMPLAINT_TRANSITIONS[self.status]


def complaint_storage() -> FileSystemStorage:
    return FileSystemStorage(location=settings.DOORSTEP_VAR_DIR / "complaints")


def complaint_attachment_path(instance: ComplaintAttachment, filename: str) -> str:
    return f"{instance.complaint_id}/{instance.sha256[:2]}/{instance.sha256}"


class ComplaintAttachment(models.Model):
    """A photo, recording or document sent with a complaint, stored under its SHA-256 so tampering shows."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to=complaint_attachment_path, storage=complaint_storage)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=100)
    size_bytes = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    uploaded_by_label = models.CharField(_("uploaded by"), max_length=150)

    class Meta:
        verbose_name = _("complaint attachment")
        verbose_name_plural = _("complaint attachments")
        constraints = [
            models.UniqueConstraint(fields=["complaint", "sha256"], name="complaint_attachment_once"),
        ]


class ComplaintEventKind(models.TextChoices):
    FILED = "filed", _("Received")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    ASSIGNED = "assigned", _("Handler assigned")
    INVESTIGATING = "investigating", _("Investigation started")
    EXTENDED = "extended", _("Deadline extended")
    RESOLVED = "resolved", _("Resolved")
    REJECTED = "rejected", pgettext_lazy("complaint", "Rejected")
    ACKNOWLEDGE_BREACHED = "ack_breached", _("Acknowledgement overdue")
    DECIDE_BREACHED = "decide_breached", _("Decision overdue")
    COLLECTOR_FLAGGED = "collector_flagged", _("Collector sent for review")


class ComplaintEvent(models.Model):
    """One step in a complaint's history: what happened, who did it, when, and a note."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("step"), max_length=20, choices=ComplaintEventKind.choices)
    status = models.CharField(_("status after"), max_length=16, choices=ComplaintStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor_label = models.CharField(_("by"), max_length=150)
    at = models.DateTimeField(_("when"), default=timezone.now)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("complaint step")
        verbose_name_plural = _("complaint steps")
        ordering = ["at", "id"]

    @property
    def actor_display(self) -> str:
        return _label_display(self.actor_label)
