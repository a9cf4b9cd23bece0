"""The borrower portal's only state: the links sent to borrowers and the second factor tied to each."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doorstep.portfolio.models import Borrower


class PortalLink(models.Model):
    """A link sent to one borrower. The URL carries a signed random key; only its hash is stored here."""

    key_hash = models.CharField(max_length=64, unique=True)
    borrower = models.ForeignKey(
        Borrower, verbose_name=_("borrower"), on_delete=models.PROTECT, related_name="portal_links"
    )
    purpose = models.CharField(_("purpose"), max_length=40)
    visit = models.ForeignKey(
        "visits.Visit", verbose_name=_("visit"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    failed_attempts = models.PositiveSmallIntegerField(_("failed attempts"), default=0)
    locked_at = models.DateTimeField(_("locked"), null=True, blank=True)
    code_hash = models.CharField(max_length=64, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    codes_sent = models.PositiveSmallIntegerField(_("codes sent"), default=0)
    last_code_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(_("last signed in"), null=True, blank=True)
    # Raised at every sign-in and sign-out: a portal cookie of an older generation opens nothing.
    session_generation = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("portal link")
        verbose_name_plural = _("portal links")
        indexes = [models.Index(fields=["borrower", "created_at"], name="portallink_borrower_idx")]

    def __str__(self) -> str:
        return f"{self.purpose} #{self.pk}"

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None
