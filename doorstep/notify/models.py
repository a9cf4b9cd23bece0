"""The outbox: every message Doorstep sends, to borrowers and to staff, from queued to sent."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doorstep.collectors.models import Collector
from doorstep.portfolio.models import Borrower, Case


class MessageChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    LETTER = "letter", _("Letter")
    EMAIL = "email", _("E-mail")
    APP = "app", _("In the staff app")


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    READY = "ready", _("Waiting for the gateway")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    HELD = "held", _("Held by the compliance gate")


# A queued message waits for its send time, then goes to the channel's backend: straight out (file,
# console) or into the outbox for the gateway (ready). The gate may hold it back instead. Sent,
# failed and cancelled messages are final; a held one can only be cancelled.
MESSAGE_TRANSITIONS: dict[str, frozenset[str]] = {
    MessageStatus.QUEUED: frozenset(
        {MessageStatus.READY, MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.CANCELLED, MessageStatus.HELD}
    ),
    MessageStatus.READY: frozenset({MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.CANCELLED}),
    MessageStatus.HELD: frozenset({MessageStatus.CANCELLED}),
    MessageStatus.SENT: frozenset(),
    MessageStatus.FAILED: frozenset(),
    MessageStatus.CANCELLED: frozenset(),
}
OPEN_MESSAGE_STATUSES = (MessageStatus.QUEUED, MessageStatus.READY)


class Message(models.Model):
    """One message to one recipient, rendered in the recipient's language from the sending app's template."""

    channel = models.CharField(_("channel"), max_length=10, choices=MessageChannel.choices)
    template = models.CharField(_("template"), max_length=80)
    language = models.CharField(_("language"), max_length=10)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    # Secret messages (one-time codes) are never shown to staff, and their text is erased once sent.
    is_secret = models.BooleanField(_("secret"), default=False)
    recipient_encrypted = models.TextField(blank=True)
    recipient_masked = models.CharField(_("recipient"), max_length=120, blank=True)
    case = models.ForeignKey(
        Case, verbose_name=_("case"), null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    borrower = models.ForeignKey(
        Borrower, verbose_name=_("borrower"), null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    collector = models.ForeignKey(
        Collector, verbose_name=_("collector"), null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    is_contact = models.BooleanField(_("collection contact"), default=True)
    status = models.CharField(
        _("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    send_after = models.DateTimeField(_("send after"))
    idempotency_key = models.CharField(max_length=200)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    provider_id = models.CharField(_("provider reference"), max_length=120, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    hold_reasons = models.JSONField(_("reasons"), default=list, blank=True)
    contact_event = models.ForeignKey(
        "compliance.ContactEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by_label = models.CharField(_("by"), max_length=150, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    cancelled_reason = models.CharField(_("reason for cancelling"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-id"]
        permissions = [("view_outbox", _("Can see the outbox of their cases"))]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="message_idempotency_key_unique"),
            models.CheckConstraint(
                condition=Q(channel__in=[choice.value for choice in MessageChannel]), name="message_channel_known"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "send_after"], name="message_due_idx"),
            models.Index(fields=["case", "created_at"], name="message_case_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.template} → {self.recipient_masked}"

    def can_move_to(self, status: str) -> bool:
        return status in MESSAGE_TRANSITIONS[self.status]
