from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doorstep.collectors.models import Collector, Team
from doorstep.portfolio.models import Borrower, Case, Loan


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    CALL = "call", _("Call")
    VISIT = "visit", _("Field visit")
    LETTER = "letter", _("Letter")
    EMAIL = "email", _("E-mail")
    OTHER = "other", _("Other")


class Direction(models.TextChoices):
    OUTBOUND = "outbound", _("Outbound")
    INBOUND = "inbound", _("Inbound")


class Target(models.TextChoices):
    DEBTOR = "debtor", _("Borrower")
    GUARANTOR = "guarantor", _("Guarantor")
    THIRD_PARTY = "third_party", _("Third party")


class Verdict(models.TextChoices):
    ALLOWED = "allowed", _("Allowed")
    REFUSED = "refused", _("Refused")
    OVERRIDDEN = "overridden", _("Allowed by override")


class ContactEvent(models.Model):
    """The contact ledger: every attempt of every channel, refused ones included, with its verdict."""

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="contacts")
    borrower = models.ForeignKey(Borrower, on_delete=models.PROTECT, related_name="contacts")
    loan = models.ForeignKey(Loan, null=True, blank=True, on_delete=models.PROTECT, related_name="contacts")
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    direction = models.CharField(_("direction"), max_length=16, choices=Direction.choices, default=Direction.OUTBOUND)
    target = models.CharField(_("contacted"), max_length=16, choices=Target.choices, default=Target.DEBTOR)
    target_relation = models.CharField(_("relation"), max_length=50, blank=True)
    contact_point_hash = models.CharField(max_length=32, blank=True, db_index=True)
    started_at = models.DateTimeField(_("time"), db_index=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    actor_label = models.CharField(_("by"), max_length=150)
    collectors = models.ManyToManyField(Collector, verbose_name=_("collectors"), blank=True, related_name="contacts")
    connected = models.BooleanField(_("connected"), null=True, blank=True)
    right_party = models.BooleanField(_("spoke with the borrower"), null=True, blank=True)
    outcome_code = models.CharField(_("outcome"), max_length=32, blank=True)
    verdict = models.CharField(_("verdict"), max_length=16, choices=Verdict.choices)
    rules_fired = models.JSONField(_("rules"), default=list, blank=True)
    rule_set_version = models.CharField(_("rule set"), max_length=64, blank=True)
    override_reason = models.TextField(_("override reason"), blank=True)
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)
    purpose = models.CharField(_("purpose"), max_length=24, default="collect")
    place = models.CharField(_("place"), max_length=16, default="home")
    with_consent = models.BooleanField(_("with the borrower's consent"), default=False)
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.PROTECT, related_name="contacts"
    )
    near_miss = models.BooleanField(_("near miss"), default=False, db_index=True)
    earliest_allowed = models.DateTimeField(_("earliest allowed"), null=True, blank=True)
    overridden_at = models.DateTimeField(_("overridden"), null=True, blank=True)
    anonymised_at = models.DateTimeField(_("anonymised"), null=True, blank=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contact ledger")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["borrower", "started_at"], name="contact_borrower_time_idx"),
            models.Index(fields=["case", "started_at"], name="contact_case_time_idx"),
            models.Index(fields=["contact_point_hash", "started_at"], name="contact_point_time_idx"),
            models.Index(fields=["verdict", "started_at"], name="contact_verdict_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.started_at:%Y-%m-%d %H:%M} {self.verdict}"


class Purpose(models.TextChoices):
    COLLECT = "collect", _("Collect the debt")
    LOCATE = "locate", _("Locate the borrower")
    MESSAGE = "message", _("Pass on a message")
    VALIDATION_NOTICE = "validation_notice", _("Validation notice")


class Place(models.TextChoices):
    HOME = "home", _("Home")
    WORKPLACE = "workplace", _("Workplace")
    OTHER = "other", _("Other place")


class Jurisdiction(models.TextChoices):
    CN = "CN", _("China")
    US = "US", _("United States")
    UK = "UK", _("United Kingdom")
    IN = "IN", _("India")


class Stage(models.TextChoices):
    GATE = "S", _("Before contact")
    GATE_AND_RECORDING = "S+R", _("Before contact and while recording")
    GATE_AND_REPORTING = "S+P", _("Before contact and in reports")
    RECORDING = "R", _("While recording")
    RECORDING_AND_REPORTING = "R+P", _("While recording and in reports")
    REPORTING = "P", _("Reports and retention")


class Confidence(models.TextChoices):
    HIGH = "H", _("High")
    MEDIUM = "M", _("Medium")
    LOW = "L", _("Low")


class RuleSet(models.Model):
    """One version of a jurisdiction's rules. Editing makes a new version; the old ones stay as history."""

    jurisdiction = models.CharField(_("jurisdiction"), max_length=8, choices=Jurisdiction.choices)
    version = models.PositiveIntegerField(_("version"))
    is_active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("what changed"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_by_label = models.CharField(_("created by"), max_length=150)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("rule set")
        verbose_name_plural = _("rule sets")
        ordering = ["jurisdiction", "-version"]
        permissions = [
            ("edit_rules", _("Can edit compliance rule sets")),
            ("view_compliance_reports", _("Can view compliance reports and export the ledger")),
            ("override_contact", _("Can override a refused contact")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "version"], name="one_rule_set_per_version"),
            models.UniqueConstraint(
                fields=["jurisdiction"], condition=models.Q(is_active=True), name="one_active_rule_set_per_jurisdiction"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """The version stamp stored on every ledger row judged by this rule set."""
        return f"{self.jurisdiction}-v{self.version}"


class Rule(models.Model):
    rule_set = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="rules")
    rule_id = models.CharField(_("rule"), max_length=32)
    evaluator = models.CharField(_("check"), max_length=48, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    overridable = models.BooleanField(_("a team lead may override"), default=False)
    stage = models.CharField(_("stage"), max_length=4, choices=Stage.choices)
    confidence = models.CharField(_("confidence"), max_length=1, choices=Confidence.choices)
    summary = models.TextField(_("rule"))
    source = models.TextField(_("source"))

    class Meta:
        verbose_name = _("rule")
        verbose_name_plural = _("rules")
        ordering = ["rule_set", "id"]
        constraints = [models.UniqueConstraint(fields=["rule_set", "rule_id"], name="one_rule_id_per_rule_set")]

    def __str__(self) -> str:
        return self.rule_id


class CaseJurisdiction(models.Model):
    """A case judged under another jurisdiction than the deployment's default."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, primary_key=True, related_name="jurisdiction")
    jurisdiction = models.CharField(_("jurisdiction"), max_length=8, choices=Jurisdiction.choices)
    reason = models.CharField(_("reason"), max_length=300)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    set_at = models.DateTimeField(_("set"), default=timezone.now)

    class Meta:
        verbose_name = _("case jurisdiction")
        verbose_name_plural = _("case jurisdictions")


class BorrowerCompliance(models.Model):
    """What the contact rules must know about a borrower beyond the portfolio's own flags."""

    borrower = models.OneToOneField(
        Borrower, on_delete=models.CASCADE, primary_key=True, related_name="compliance_facts"
    )
    consent_outside_hours = models.BooleanField(_("agreed to contact outside the usual hours"), default=False)
    is_unreachable = models.BooleanField(_("unreachable (lost contact)"), default=False)
    is_incapacitated = models.BooleanField(_("lacks capacity"), default=False)
    workplace_contact_forbidden = models.BooleanField(_("employer forbids contact at work"), default=False)
    cease_requested = models.BooleanField(_("asked to stop contact"), default=False)
    grievance_pending = models.BooleanField(_("grievance pending"), default=False)
    outsourced_to = models.CharField(_("outsourced to"), max_length=100, blank=True)
    outsourcing_notice_at = models.DateTimeField(_("told of outsourcing"), null=True, blank=True)
    first_contact_at = models.DateTimeField(_("first communication"), null=True, blank=True)
    validation_notice_at = models.DateTimeField(_("validation notice sent"), null=True, blank=True)
    contact_windows = models.JSONField(
        _("requested contact windows"), default=list, blank=True,
        help_text=_('For example [{"weekdays": [1,2,3,4,5], "opens": "18:00", "closes": "20:00"}]'),
    )
    blackouts = models.JSONField(
        _("blackout periods"), default=list, blank=True,
        help_text=_('For example [{"starts": "2026-12-01T00:00:00+08:00", "ends": "2026-12-08T00:00:00+08:00"}]'),
    )
    do_not_contact = models.JSONField(_("do-not-contact numbers (keyed hashes)"), default=list, blank=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("borrower compliance facts")
        verbose_name_plural = _("borrower compliance facts")


class Agency(models.Model):
    """A collection agency working the bank's cases; its staff are the collectors of its teams."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    teams = models.ManyToManyField(Team, verbose_name=_("teams"), blank=True, related_name="agencies")
    is_whitelisted = models.BooleanField(_("on the whitelist"), default=True)
    evaluated_on = models.DateField(_("last evaluated"), null=True, blank=True)

    class Meta:
        verbose_name = _("collection agency")
        verbose_name_plural = _("collection agencies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RetentionRun(models.Model):
    """What one run of the retention job did, or would have done."""

    ran_at = models.DateTimeField(_("ran"), default=timezone.now)
    today = models.DateField(_("as of"))
    dry_run = models.BooleanField(_("dry run"))
    anonymised = models.PositiveIntegerField(_("anonymised"), default=0)
    purged = models.PositiveIntegerField(_("purged"), default=0)
    details = models.JSONField(_("details"), default=dict, blank=True)
    actor_label = models.CharField(_("by"), max_length=150)

    class Meta:
        verbose_name = _("retention run")
        verbose_name_plural = _("retention runs")
        ordering = ["-ran_at"]
