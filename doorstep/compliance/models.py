from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doorstep.collectors.models import Collector
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

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contact ledger")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["borrower", "started_at"], name="contact_borrower_time_idx"),
            models.Index(fields=["case", "started_at"], name="contact_case_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.started_at:%Y-%m-%d %H:%M} {self.verdict}"
