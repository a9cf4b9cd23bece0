"""The facts behind the dashboards: one row per case and month, and the aggregates the daily run builds
from them, so that a dashboard over a million cases reads thousands of rows, not millions.

A month's rows describe the case as of the month's last day, or as of the business date the daily run
last built them while the month is still running (`as_of`). They are rebuilt whole, never edited.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doorstep.portfolio.models import Case

MONEY = {"max_digits": 18, "decimal_places": 2}


class Measures(models.Model):
    """What happened to a case (or a group of cases) during the month. Counts, and money in yuan."""

    contacts = models.IntegerField(_("contacts carried out"), default=0)
    right_party = models.IntegerField(_("right-party contacts"), default=0)
    calls = models.IntegerField(_("calls"), default=0)
    sms = models.IntegerField(_("SMS"), default=0)
    letters = models.IntegerField(_("letters"), default=0)
    refused = models.IntegerField(_("contacts refused by the gate"), default=0)
    notices = models.IntegerField(_("visit notices"), default=0)
    visits = models.IntegerField(_("visits carried out"), default=0)
    visits_met = models.IntegerField(_("visits that met the borrower"), default=0)
    promises_made = models.IntegerField(_("promises made"), default=0)
    promises_due = models.IntegerField(_("promises due"), default=0)
    promises_kept = models.IntegerField(_("promises kept"), default=0)
    complaints = models.IntegerField(_("complaints"), default=0)
    collected = models.DecimalField(_("amount collected"), default=0, **MONEY)

    class Meta:
        abstract = True


class Slice(models.Model):
    """The dimensions every figure can be cut by."""

    month = models.DateField(_("month"))
    branch_code = models.CharField(_("branch"), max_length=32)
    team_id = models.BigIntegerField(_("team"), null=True, blank=True)
    product_code = models.CharField(_("product"), max_length=32)
    strategy = models.CharField(_("strategy"), max_length=80, blank=True)
    arm = models.CharField(_("arm"), max_length=32, blank=True)

    class Meta:
        abstract = True


class CaseMonthFact(Slice, Measures):
    """One case in one month: its state at the start and at the end, and what was done that month."""

    pk = models.CompositePrimaryKey("month", "case")
    # No database foreign key: the rows are written in bulk by the daily run from case ids it has just
    # read, and cases are never deleted (the ledger and status history protect them).
    case = models.ForeignKey(Case, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False)
    as_of = models.DateField(_("facts as of"))
    collector_id = models.BigIntegerField(_("collector"), null=True, blank=True)
    bucket_start = models.CharField(_("bucket at the start"), max_length=16)
    bucket_end = models.CharField(_("bucket at the end"), max_length=16)
    status_end = models.CharField(_("status at the end"), max_length=20)
    entry_month = models.DateField(_("entry month"))
    entry_overdue = models.DecimalField(_("overdue amount at entry"), **MONEY)

    class Meta:
        verbose_name = _("case month")
        verbose_name_plural = _("case months")
        indexes = [
            models.Index(fields=["month", "team_id"], name="reports_fact_team_idx"),
            models.Index(fields=["collector_id", "month"], name="reports_fact_collector_idx"),
            models.Index(fields=["month", "bucket_start", "bucket_end"], name="reports_fact_roll_idx"),
        ]
        permissions = [
            ("view_dashboards", _("Can see collection dashboards (scoped to own cases or teams)")),
            ("view_bank_reports", _("Can see bank-wide dashboards and the monthly report")),
        ]


class MonthCube(Slice, Measures):
    """Case months summed by slice and bucket movement: what the bank-wide and team dashboards read."""

    bucket_start = models.CharField(_("bucket at the start"), max_length=16)
    bucket_end = models.CharField(_("bucket at the end"), max_length=16)
    cases = models.IntegerField(_("cases"), default=0)
    entry_overdue = models.DecimalField(_("overdue amount at entry"), default=0, **MONEY)
    noticed_cases = models.IntegerField(default=0)
    visited_cases = models.IntegerField(default=0)
    promised_cases = models.IntegerField(default=0)
    paid_cases = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("month summary")
        verbose_name_plural = _("month summaries")
        indexes = [models.Index(fields=["month", "team_id"], name="reports_cube_month_idx")]


class EntryCube(Slice):
    """Money collected in a month from the cases that entered collection in `entry_month`."""

    entry_month = models.DateField(_("entry month"))
    cases = models.IntegerField(_("cases"), default=0)
    entry_overdue = models.DecimalField(_("overdue amount at entry"), default=0, **MONEY)
    collected = models.DecimalField(_("amount collected"), default=0, **MONEY)

    class Meta:
        verbose_name = _("entry-month summary")
        verbose_name_plural = _("entry-month summaries")
        indexes = [models.Index(fields=["entry_month", "month"], name="reports_entry_idx")]


class CollectorMonth(Measures):
    """One collector's month: the productivity table's rows."""

    month = models.DateField(_("month"))
    collector_id = models.BigIntegerField(_("collector"))
    team_id = models.BigIntegerField(_("team"), null=True, blank=True)
    branch_code = models.CharField(_("branch"), max_length=32)
    cases = models.IntegerField(_("cases"), default=0)

    class Meta:
        verbose_name = _("collector month")
        verbose_name_plural = _("collector months")
        indexes = [models.Index(fields=["month", "collector_id"], name="reports_collector_month_idx")]


class FactBuild(models.Model):
    """One build of a month's facts: when, as of which day, and how long it took."""

    month = models.DateField(_("month"))
    as_of = models.DateField(_("facts as of"))
    cases = models.IntegerField(_("cases"))
    seconds = models.FloatField(_("seconds"))
    built_at = models.DateTimeField(_("built"), default=timezone.now)
    built_by_label = models.CharField(_("by"), max_length=150)

    class Meta:
        verbose_name = _("facts build")
        verbose_name_plural = _("facts builds")
        ordering = ["-built_at", "-id"]


class MonthlyReport(models.Model):
    """The monthly management report, as it was generated, in one language. Kept as the archive."""

    month = models.DateField(_("month"))
    language = models.CharField(_("language"), max_length=10)
    pdf = models.BinaryField(_("PDF"))
    size_bytes = models.IntegerField(_("size (bytes)"))
    as_of = models.DateField(_("facts as of"))
    generated_at = models.DateTimeField(_("generated"), default=timezone.now)
    generated_by_label = models.CharField(_("generated by"), max_length=150)

    class Meta:
        verbose_name = _("monthly report")
        verbose_name_plural = _("monthly reports")
        ordering = ["-month", "language"]
        constraints = [
            models.UniqueConstraint(fields=["month", "language"], name="one_monthly_report_per_language")
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.language}"
