from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doorstep.portfolio.models import Case


class Strategy(models.Model):
    """A named line of strategy versions. Exactly one version in the bank is active at a time."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("strategy")
        verbose_name_plural = _("strategies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING = "pending", _("Awaiting approval")
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")


# Drafts are edited; once submitted a version's rules never change again.
VERSION_TRANSITIONS: dict[str, frozenset[str]] = {
    VersionStatus.DRAFT: frozenset({VersionStatus.PENDING}),
    VersionStatus.PENDING: frozenset({VersionStatus.ACTIVE, VersionStatus.DRAFT}),
    VersionStatus.ACTIVE: frozenset({VersionStatus.RETIRED}),
    VersionStatus.RETIRED: frozenset(),
}


class StrategyVersion(models.Model):
    """One version of a strategy: its ordered rules, scripts and experiment, kept forever."""

    strategy = models.ForeignKey(
        Strategy, verbose_name=_("strategy"), on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT, db_index=True
    )
    definition = models.JSONField(_("rules"), default=dict)
    note = models.CharField(_("what changed"), max_length=300, blank=True)
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)

    class Meta:
        verbose_name = _("strategy version")
        verbose_name_plural = _("strategy versions")
        ordering = ["strategy", "-number"]
        permissions = [("approve_strategyversion", _("Can approve and activate a strategy version"))]
        constraints = [
            models.UniqueConstraint(fields=["strategy", "number"], name="strategy_version_number_unique"),
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="active"), name="strategy_one_active_version"
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("submitted_by")),
                name="strategy_version_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.strategy.name} v{self.number}"

    @property
    def is_editable(self) -> bool:
        return self.status == VersionStatus.DRAFT

    @property
    def rules_json(self) -> list[dict[str, Any]]:
        return list(self.definition.get("rules", []))


class Script(models.Model):
    """What a collector says at one treatment step, in both languages, section by section (话术)."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    channel = models.CharField(_("channel"), max_length=16)
    title_zh = models.CharField(_("title (Chinese)"), max_length=100)
    title_en = models.CharField(_("title (English)"), max_length=100)
    opening_zh = models.TextField(_("opening and identification (Chinese)"))
    opening_en = models.TextField(_("opening and identification (English)"))
    purpose_zh = models.TextField(_("purpose (Chinese)"))
    purpose_en = models.TextField(_("purpose (English)"))
    questions_zh = models.TextField(_("questions about the reason (Chinese)"))
    questions_en = models.TextField(_("questions about the reason (English)"))
    options_zh = models.TextField(_("options to offer (Chinese)"))
    options_en = models.TextField(_("options to offer (English)"))
    never_say_zh = models.TextField(_("never say (Chinese)"))
    never_say_en = models.TextField(_("never say (English)"))
    is_active = models.BooleanField(_("in use"), default=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("script")
        verbose_name_plural = _("scripts")
        ordering = ["channel", "code"]

    def __str__(self) -> str:
        return f"{self.code}: {self.title_en}"


class Arm(models.TextChoices):
    CHAMPION = "champion", _("Champion")
    HOLDOUT = "holdout", _("Hold-out (no visits)")


class CaseTreatment(models.Model):
    """The strategy's decision for one case on one business day. Written in bulk by the daily run.

    A million rows a day: the row holds only what identifies the decision (version, arm, rule) and what
    other steps filter on (next channel, priority, due date). The rule's name, its path, the script and
    the reason are read from the version, which never changes once submitted.
    """

    pk = models.CompositePrimaryKey("business_date", "case")
    business_date = models.DateField(_("business date"))
    # No database foreign-key checks: they would run once per row and per key, and cost the daily run
    # ten times what the insert itself does. The rows are written only by `strategy_apply`, from the case
    # ids it has just read and the version it is applying, in one transaction; cases are never deleted
    # (the contact ledger and status history protect them) and versions are kept forever.
    case = models.ForeignKey(
        Case, on_delete=models.DO_NOTHING, related_name="treatments", db_index=False, db_constraint=False
    )
    version = models.ForeignKey(
        StrategyVersion,
        on_delete=models.PROTECT,
        related_name="treatments",
        db_index=False,
        db_constraint=False,
    )
    arm = models.CharField(_("arm"), max_length=32, default="champion")
    rule_key = models.CharField(_("rule"), max_length=50, blank=True)
    started_on = models.DateField(_("in this treatment since"))
    next_step = models.SmallIntegerField(_("next step"), null=True, blank=True)
    next_channel = models.CharField(_("next channel"), max_length=16, blank=True)
    next_priority = models.SmallIntegerField(_("priority"), null=True, blank=True)
    next_due_on = models.DateField(_("next step due"), null=True, blank=True)

    class Meta:
        verbose_name = _("case treatment")
        verbose_name_plural = _("case treatments")
        # No index by case: each run would scatter a million inserts over it. A case's current treatment
        # is found by the key, on the date of the latest run.
        indexes = [models.Index(fields=["version", "arm"], name="treatment_version_arm_idx")]

    def __str__(self) -> str:
        return f"{self.business_date} case {self.case_id}: {self.rule_key or '-'}"

    def _rule(self) -> Any:
        from doorstep.strategy.rules import RuleError, definition_from_json

        cached = getattr(self, "_rule_cache", None)
        if cached is None:
            try:
                rules = definition_from_json(self.version.definition or {}).rules_for(self.arm)
            except RuleError:
                rules = ()
            rule = (
                next((item for item in rules if item.key == self.rule_key), None) if self.rule_key else None
            )
            cached = (rules, rule)
            self._rule_cache = cached
        return cached

    @property
    def rule_name(self) -> str:
        rule = self._rule()[1]
        return rule.name if rule is not None else ""

    @property
    def path(self) -> str:
        rule = self._rule()[1]
        return rule.path_label() if rule is not None else ""

    @property
    def next_script(self) -> str:
        rule = self._rule()[1]
        if rule is None or self.next_step is None or self.next_step >= len(rule.steps):
            return ""
        return rule.steps[self.next_step].script

    @property
    def why(self) -> str:
        """The arm and the condition of the first rule that was true, as the deciding version states them."""
        from doorstep.strategy.engine import why_text

        return why_text(self._rule()[0], self.rule_key, self.arm)


class RunStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Done")
    FAILED = "failed", _("Failed")


class DailyRun(models.Model):
    """The daily cycle for one business date: intake, strategy and the steps other domains add."""

    business_date = models.DateField(_("business date"), unique=True)
    status = models.CharField(
        _("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.PENDING
    )
    options = models.JSONField(_("options"), default=dict, blank=True)
    requested_by_label = models.CharField(_("requested by"), max_length=150)
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("daily run")
        verbose_name_plural = _("daily runs")
        ordering = ["-business_date"]
        permissions = [("run_daily", _("Can start the daily cycle"))]

    def __str__(self) -> str:
        return f"{self.business_date} {self.status}"


class DailyRunStep(models.Model):
    run = models.ForeignKey(DailyRun, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(_("step"), max_length=32)
    position = models.PositiveSmallIntegerField()
    status = models.CharField(
        _("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("daily run step")
        verbose_name_plural = _("daily run steps")
        ordering = ["run", "position"]
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="one_step_per_run_and_name")]

    def __str__(self) -> str:
        return f"{self.run.business_date} {self.name} {self.status}"

    @property
    def label(self) -> str:
        from doorstep.strategy.flows import DAILY_STEPS

        return str(next((step.label for step in DAILY_STEPS if step.name == self.name), self.name))

    @property
    def seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
