from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 16, "decimal_places": 2}


class Classification(models.TextChoices):
    """The five-category loan classification (五级分类)."""

    PASS = "pass", _("Pass")
    SPECIAL_MENTION = "special_mention", _("Special mention")
    SUBSTANDARD = "substandard", _("Substandard")
    DOUBTFUL = "doubtful", _("Doubtful")
    LOSS = "loss", _("Loss")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ARRANGEMENT = "arrangement", _("Under arrangement")
    LEGAL = "legal", _("Litigation")
    CURED = "cured", _("Cured")
    CLOSED = "closed", _("Closed")
    WRITTEN_OFF = "written_off", _("Written off")


ACTIVE_CASE_STATUSES = (CaseStatus.OPEN, CaseStatus.ARRANGEMENT, CaseStatus.LEGAL)

# The only status changes a case may make. Cured, closed and written-off cases are final:
# a borrower who falls overdue again gets a new case, so each collection episode is measured alone.
CASE_TRANSITIONS: dict[str, frozenset[str]] = {
    CaseStatus.OPEN: frozenset(
        {CaseStatus.ARRANGEMENT, CaseStatus.LEGAL, CaseStatus.CURED, CaseStatus.CLOSED, CaseStatus.WRITTEN_OFF}
    ),
    CaseStatus.ARRANGEMENT: frozenset(
        {CaseStatus.OPEN, CaseStatus.LEGAL, CaseStatus.CURED, CaseStatus.CLOSED, CaseStatus.WRITTEN_OFF}
    ),
    CaseStatus.LEGAL: frozenset({CaseStatus.ARRANGEMENT, CaseStatus.CURED, CaseStatus.CLOSED, CaseStatus.WRITTEN_OFF}),
    CaseStatus.CURED: frozenset(),
    CaseStatus.CLOSED: frozenset(),
    CaseStatus.WRITTEN_OFF: frozenset(),
}


class Borrower(models.Model):
    """A customer of the bank with at least one loan that has been overdue."""

    customer_id = models.CharField(_("customer number"), max_length=64)
    name = models.CharField(_("name"), max_length=100)
    national_id_encrypted = models.TextField()
    national_id_hash = models.CharField(max_length=32)
    national_id_masked = models.CharField(_("resident ID number"), max_length=32)
    phone_encrypted = models.TextField()
    phone_hash = models.CharField(max_length=32)
    phone_masked = models.CharField(_("mobile"), max_length=32)
    address = models.TextField(_("address"))
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    employer = models.CharField(_("employer"), max_length=200, blank=True)
    is_vulnerable = models.BooleanField(_("vulnerable"), default=False)
    is_deceased = models.BooleanField(_("deceased"), default=False)
    has_dispute = models.BooleanField(_("dispute pending"), default=False)
    do_not_visit = models.BooleanField(_("do not visit"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("borrower")
        verbose_name_plural = _("borrowers")
        permissions = [("reveal_personal_data", _("Can reveal a borrower's full ID number and phone"))]
        # Plain B-tree indexes declared here, not db_index/unique on the fields: on PostgreSQL those add a
        # second pattern-ops index per text column, which only slows the nightly bulk load.
        indexes = [
            models.Index(fields=["national_id_hash"], name="borrower_national_id_hash_idx"),
            models.Index(fields=["phone_hash"], name="borrower_phone_hash_idx"),
            # The case list sorts by borrower name.
            models.Index(fields=["name"], name="borrower_name_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["customer_id"], name="borrower_customer_id_unique"),
            models.CheckConstraint(condition=Q(latitude__gte=-90, latitude__lte=90), name="borrower_latitude_range"),
            models.CheckConstraint(
                condition=Q(longitude__gte=-180, longitude__lte=180), name="borrower_longitude_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.customer_id})"

    @property
    def zone(self) -> ZoneInfo:
        """The time zone in which contact rules judge this borrower's local time."""
        return ZoneInfo(self.time_zone or settings.TIME_ZONE)


class Case(models.Model):
    """One collection episode of one borrower, across all their overdue loans."""

    borrower = models.ForeignKey(Borrower, verbose_name=_("borrower"), on_delete=models.PROTECT, related_name="cases")
    status = models.CharField(
        _("status"), max_length=20, choices=CaseStatus.choices, default=CaseStatus.OPEN
    )
    opened_on = models.DateField(_("opened"))
    closed_on = models.DateField(_("closed"), null=True, blank=True)
    snapshot_date = models.DateField(_("facts as of"))
    branch_code = models.CharField(_("branch"), max_length=32)
    days_past_due = models.IntegerField(_("days past due"), default=0, db_index=True)
    bucket = models.CharField(_("bucket"), max_length=8, blank=True)
    outstanding_principal = models.DecimalField(_("outstanding principal"), default=Decimal("0.00"), **MONEY)
    overdue_principal = models.DecimalField(_("overdue principal"), default=Decimal("0.00"), **MONEY)
    overdue_interest = models.DecimalField(_("overdue interest"), default=Decimal("0.00"), **MONEY)
    penalty_interest = models.DecimalField(_("penalty interest"), default=Decimal("0.00"), **MONEY)
    overdue_total = models.DecimalField(_("overdue amount"), default=Decimal("0.00"), db_index=True, **MONEY)
    entry_overdue_total = models.DecimalField(_("overdue amount at entry"), default=Decimal("0.00"), **MONEY)
    next_action = models.CharField(_("next action"), max_length=32, blank=True)
    next_action_on = models.DateField(_("next action date"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        constraints = [
            models.UniqueConstraint(
                fields=["borrower"],
                condition=Q(status__in=[s.value for s in ACTIVE_CASE_STATUSES]),
                name="one_active_case_per_borrower",
            ),
            models.CheckConstraint(condition=Q(overdue_total__gte=0), name="case_overdue_total_not_negative"),
            models.CheckConstraint(
                condition=Q(closed_on__isnull=True) | Q(closed_on__gte=F("opened_on")), name="case_closed_after_opened"
            ),
        ]
        indexes = [models.Index(fields=["status", "bucket", "branch_code"], name="case_list_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.borrower.name}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_CASE_STATUSES

    def can_move_to(self, status: str) -> bool:
        return status in CASE_TRANSITIONS[self.status]


class Loan(models.Model):
    """A credit loan (借据) as of the latest snapshot it appeared in."""

    loan_id = models.CharField(_("loan number"), max_length=64)
    borrower = models.ForeignKey(Borrower, verbose_name=_("borrower"), on_delete=models.PROTECT, related_name="loans")
    case = models.ForeignKey(
        Case, verbose_name=_("case"), null=True, blank=True, on_delete=models.SET_NULL, related_name="loans"
    )
    branch_code = models.CharField(_("branch"), max_length=32)
    product_code = models.CharField(_("product"), max_length=32)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    principal = models.DecimalField(_("principal"), **MONEY)
    outstanding_principal = models.DecimalField(_("outstanding principal"), **MONEY)
    overdue_principal = models.DecimalField(_("overdue principal"), **MONEY)
    overdue_interest = models.DecimalField(_("overdue interest"), **MONEY)
    penalty_interest = models.DecimalField(_("penalty interest"), **MONEY)
    first_unpaid_due_date = models.DateField(_("first unpaid due date"), null=True, blank=True)
    days_past_due = models.IntegerField(_("days past due"), default=0)
    bucket = models.CharField(_("bucket"), max_length=8, blank=True)
    classification = models.CharField(
        _("classification"), max_length=20, choices=Classification.choices, default=Classification.PASS
    )
    is_overdue = models.BooleanField(_("overdue"), default=True)
    snapshot_date = models.DateField(_("facts as of"))
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("loan")
        verbose_name_plural = _("loans")
        constraints = [
            models.UniqueConstraint(fields=["loan_id"], name="loan_loan_id_unique"),
            models.CheckConstraint(condition=Q(principal__gt=0), name="loan_principal_positive"),
            models.CheckConstraint(
                condition=Q(outstanding_principal__gte=0) & Q(outstanding_principal__lte=F("principal")),
                name="loan_outstanding_within_principal",
            ),
            models.CheckConstraint(
                condition=Q(overdue_principal__gte=0) & Q(overdue_principal__lte=F("outstanding_principal")),
                name="loan_overdue_within_outstanding",
            ),
            models.CheckConstraint(
                condition=Q(overdue_interest__gte=0) & Q(penalty_interest__gte=0), name="loan_interest_not_negative"
            ),
            models.CheckConstraint(condition=Q(days_past_due__gte=0), name="loan_dpd_not_negative"),
        ]

    def __str__(self) -> str:
        return self.loan_id

    @property
    def overdue_amount(self) -> Decimal:
        return self.overdue_principal + self.overdue_interest + self.penalty_interest


class BucketMove(models.Model):
    """A loan changed bucket between two snapshots ("" is current). The history behind roll rates."""

    # The (loan, snapshot_date) unique constraint indexes loan lookups already.
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="bucket_moves", db_index=False)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="bucket_moves")
    snapshot_date = models.DateField(_("snapshot date"), db_index=True)
    from_bucket = models.CharField(_("from"), max_length=8, blank=True)
    to_bucket = models.CharField(_("to"), max_length=8, blank=True)
    days_past_due = models.IntegerField(_("days past due"))
    overdue_amount = models.DecimalField(_("overdue amount"), **MONEY)

    class Meta:
        verbose_name = _("bucket move")
        verbose_name_plural = _("bucket moves")
        ordering = ["snapshot_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "snapshot_date"], name="one_bucket_move_per_loan_and_date"),
        ]


class CaseStatusChange(models.Model):
    """Every status a case has passed through, with who or what moved it and why."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(_("from"), max_length=20, blank=True)
    to_status = models.CharField(_("to"), max_length=20)
    at = models.DateTimeField(_("time"), default=timezone.now)
    business_date = models.DateField(_("business date"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    actor_label = models.CharField(_("by"), max_length=150)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("case status change")
        verbose_name_plural = _("case status changes")
        ordering = ["at", "id"]


class SnapshotImport(models.Model):
    """One successful import of the bank's overdue-loan snapshot, and what it changed."""

    # Set by `snapshot_import` when the portfolio already reflected the file and nothing was written.
    already_imported: bool = False

    snapshot_date = models.DateField(_("snapshot date"), db_index=True)
    file_name = models.CharField(_("file"), max_length=255)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    rows = models.IntegerField(_("rows"))
    borrowers_created = models.IntegerField(default=0)
    borrowers_updated = models.IntegerField(default=0)
    loans_created = models.IntegerField(default=0)
    loans_updated = models.IntegerField(default=0)
    loans_cleared = models.IntegerField(default=0)
    cases_opened = models.IntegerField(default=0)
    cases_cured = models.IntegerField(default=0)
    cases_updated = models.IntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"))
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    imported_by_label = models.CharField(_("by"), max_length=150)

    class Meta:
        verbose_name = _("snapshot import")
        verbose_name_plural = _("snapshot imports")
        ordering = ["-snapshot_date", "-id"]
        permissions = [("import_snapshot", _("Can import the overdue-loan snapshot"))]

    def __str__(self) -> str:
        return f"{self.snapshot_date} {self.file_name}"

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

