from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from doorstep.portfolio.models import Case


class ModelKind(models.TextChoices):
    SCORECARD = "scorecard", _("Scorecard")
    LIGHTGBM = "lightgbm", _("LightGBM")
    UPLIFT = "uplift", _("Visit uplift")


class ModelStatus(models.TextChoices):
    TRAINED = "trained", pgettext_lazy("model status", "Awaiting approval")
    APPROVED = "approved", pgettext_lazy("model status", "Approved")
    REJECTED = "rejected", pgettext_lazy("model status", "Rejected")
    RETIRED = "retired", pgettext_lazy("model status", "Retired")


# The only status changes a model version may make.
TRANSITIONS: dict[str, frozenset[str]] = {
    ModelStatus.TRAINED: frozenset({ModelStatus.APPROVED, ModelStatus.REJECTED}),
    ModelStatus.APPROVED: frozenset({ModelStatus.RETIRED}),
    ModelStatus.REJECTED: frozenset(),
    ModelStatus.RETIRED: frozenset(),
}


class TrainingSource(models.TextChoices):
    SIMULATION = "simulation", _("Simulated history")
    DOORSTEP = "doorstep", _("Doorstep's history")


class ModelVersion(models.Model):
    """One trained model: its artefact on disk, what it was trained on, how it validated, who approved it."""

    kind = models.CharField(_("kind"), max_length=16, choices=ModelKind.choices)
    version = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=16, choices=ModelStatus.choices, default=ModelStatus.TRAINED)
    is_champion = models.BooleanField(_("champion"), default=False)
    artefact = models.CharField(_("artefact file"), max_length=300)
    artefact_sha256 = models.CharField(_("artefact SHA-256"), max_length=64)
    source = models.CharField(_("trained on"), max_length=16, choices=TrainingSource.choices)
    training_from = models.DateField(_("training window from"))
    training_to = models.DateField(_("training window to"))
    validation_from = models.DateField(_("validation from"))
    validation_to = models.DateField(_("validation to"))
    features = models.JSONField(_("features"), default=list)
    excluded = models.JSONField(_("excluded attributes"), default=dict, blank=True)
    data_hash = models.CharField(_("data hash"), max_length=64)
    training_rows = models.PositiveIntegerField(_("training rows"), default=0)
    validation_rows = models.PositiveIntegerField(_("validation rows"), default=0)
    metrics = models.JSONField(_("metrics"), default=dict, blank=True)
    report = models.JSONField(_("validation report"), default=dict, blank=True)
    trained_at = models.DateTimeField(_("trained"), default=timezone.now)
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    trained_by_label = models.CharField(_("trained by"), max_length=150)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["kind", "-version"]
        verbose_name = _("model version")
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="scoring_model_kind_version"),
            models.UniqueConstraint(
                fields=["kind"], condition=models.Q(is_champion=True), name="scoring_one_champion_per_kind"
            ),
        ]
        permissions = [
            ("view_models", _("Can see scoring models and their validation")),
            ("train_model", _("Can train scoring models")),
            ("approve_model", _("Can approve scoring models for production")),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version}"

    @property
    def label(self) -> str:
        return f"{self.kind}-v{self.version}"


class CaseScore(models.Model):
    """The latest score of an open case, written by the daily run."""

    case = models.OneToOneField(Case, primary_key=True, on_delete=models.CASCADE, related_name="score")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    scored_on = models.DateField(_("scored on"))
    probability = models.FloatField(_("probability of paying"))
    points = models.FloatField(_("score"))
    band = models.CharField(_("band"), max_length=2)
    # The factors that lowered the score, strongest first, as "factor:direction" joined by commas; their
    # sentences in each language come from `maths.reasons` when shown.
    reason_codes = models.CharField(_("reason codes"), max_length=300, blank=True)
    uplift = models.FloatField(_("visit uplift"), null=True, blank=True)
    uplift_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("case score")


class ScoringRun(models.Model):
    """One day's batch scoring and what monitoring found in it."""

    business_date = models.DateField(_("business date"))
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="runs")
    uplift_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cases = models.PositiveIntegerField(_("cases scored"))
    seconds = models.FloatField(_("seconds"))
    score_psi = models.FloatField(_("score PSI"), null=True, blank=True)
    feature_psi = models.JSONField(_("feature PSI"), default=dict, blank=True)
    matured_auc = models.FloatField(_("AUC on matured outcomes"), null=True, blank=True)
    matured_rows = models.PositiveIntegerField(_("matured cases"), default=0)
    matured_from = models.DateField(_("scores matured from"), null=True, blank=True)
    alerts = models.JSONField(_("alerts"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-business_date", "-pk"]
        verbose_name = _("scoring run")
        constraints = [
            models.UniqueConstraint(fields=["business_date", "model_version"], name="scoring_run_date_model"),
        ]
