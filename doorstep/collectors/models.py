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
