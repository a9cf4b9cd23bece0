"""Writes of the scoring domain: training, approval, the daily batch scoring and its monitoring."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.core.audit import Actor, actor_fields, audit_record
from doorstep.core.bulk import bulk_insert, checks_deferred_for_bulk_load, execute
from doorstep.scoring import features as F
from doorstep.scoring.maths.gbm import GradientBoostingModel
from doorstep.scoring.maths.interface import DIRECTION_NAMES, decode, load_model
from doorstep.scoring.maths.metrics import (
    PsiReference,
    psi_against,
    psi_status,
    roc_auc,
    score_bands,
)
from doorstep.scoring.maths.reasons import reason_sentence
from doorstep.scoring.maths.scorecard import ScorecardModel
from doorstep.scoring.maths.uplift import TwoModelUplift, qini_curve
from doorstep.scoring.maths.validation import time_split, validation_report
from doorstep.scoring.models import (
    TRANSITIONS,
    CaseScore,
    ModelKind,
    ModelStatus,
    ModelVersion,
    ScoringRun,
    TrainingSource,
)
from doorstep.scoring.simulation import SimulationSettings, simulate

PROPENSITY_KINDS = (ModelKind.SCORECARD, ModelKind.LIGHTGBM)
REASONS_PER_CASE = 3
# Points scale of every propensity model: 600 points at odds of 50 to 1, 20 points to double the odds.
BASE_POINTS, BASE_ODDS, POINTS_TO_DOUBLE = 600.0, 50.0, 20.0
SAMPLE_ROWS = 20_000
# Cases from this many days past due on are those the visit rule (and its hold-out) covers.
UPLIFT_FROM_DAYS = SimulationSettings().visit_from_days


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def primary_kind() -> str:
    """The kind whose champion gives production cases their score (the scorecard unless configured)."""
    return str(_setting("DOORSTEP_SCORING_PRIMARY_KIND", ModelKind.SCORECARD))


def psi_alert_threshold() -> float:
    return float(_setting("DOORSTEP_SCORING_PSI_ALERT", 0.25))


def auc_drop_threshold() -> float:
    return float(_setting("DOORSTEP_SCORING_AUC_DROP", 0.05))


def models_directory() -> Path:
    return Path(settings.DOORSTEP_VAR_DIR) / "scoring" / "models"


def samples_directory() -> Path:
    return Path(settings.DOORSTEP_VAR_DIR) / "scoring" / "samples"


def points_from_probability(probability: np.ndarray) -> np.ndarray:
    p = np.clip(probability, 1e-6, 1 - 1e-6)
    return BASE_POINTS + POINTS_TO_DOUBLE / math.log(2) * (np.log(p / (1 - p)) - math.log(BASE_ODDS))


# --- training ------------------------------------------------------------------------------------------


@dataclass
class TrainingTable:
    source: str
    panel: pl.DataFrame  # case_id, as_of, FEATURES, paid_30d, visit_eligible, visited, held_out, bucket


def training_table(
    *, source: str, accounts: int = 3000, seed: int = 2026, months: int = 12, today: dt.date | None = None
) -> TrainingTable:
    if source == TrainingSource.SIMULATION:
        history = simulate(SimulationSettings(accounts=accounts, seed=seed, months=months))
        cases, events = F.history_panel(history)
        panel = F.feature_panel(cases, events).join(
            cases.select("case_id", "as_of", "paid_30d", "visit_eligible", "visited", "held_out", "bucket"),
            on=["case_id", "as_of"],
        )
        return TrainingTable(source=source, panel=panel)
    from doorstep.scoring import sources

    today = today or timezone.localdate()
    rows = sources.live_history(today)
    if rows.height == 0:
        raise ValidationError(_("Doorstep holds no matured history to train on yet."))
    events = sources.live_events(today, days=365 + F.ROLL_WINDOW_DAYS)
    panel = F.feature_panel(rows.drop("paid_30d"), events).join(
        rows.select("case_id", "as_of", "paid_30d", "bucket"), on=["case_id", "as_of"]
    )
    panel = panel.with_columns(
        pl.lit(False).alias("visit_eligible"), pl.lit(False).alias("visited"), pl.lit(False).alias("held_out")
    )
    return TrainingTable(source=source, panel=panel)


def _propensity_model(kind: str, seed: int) -> ScorecardModel | GradientBoostingModel:
    if kind == ModelKind.SCORECARD:
        return ScorecardModel(categorical=F.CATEGORICAL, exclude=F.EXCLUDED, seed=seed)
    return GradientBoostingModel(categorical=F.CATEGORICAL, exclude=F.EXCLUDED, rounds=200, seed=seed)


def _store_artefact(kind: str, version: int, blob: bytes) -> tuple[str, str]:
    digest = hashlib.sha256(blob).hexdigest()
    directory = models_directory()
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{kind}-v{version}-{digest[:12]}.json"
    temporary = directory / (name + ".tmp")
    temporary.write_bytes(blob)
    temporary.replace(directory / name)
    return name, digest


def _segments(panel: pl.DataFrame) -> np.ndarray:
    return panel["bucket"].fill_null("").replace("", "current").to_numpy()


def _date_range(panel: pl.DataFrame) -> tuple[dt.date, dt.date]:
    return panel["as_of"].min(), panel["as_of"].max()  # type: ignore[return-value]


def _next_version(kind: str) -> int:
    latest = ModelVersion.objects.filter(kind=kind).aggregate(latest=Max("version"))["latest"]
    return (latest or 0) + 1


def _register(
    *,
    actor: Actor,
    kind: str,
    blob: bytes,
    table: TrainingTable,
    train: pl.DataFrame,
    valid: pl.DataFrame,
    features: list[str],
    excluded: dict[str, str],
    metrics: dict[str, Any],
    report: dict[str, Any],
) -> ModelVersion:
    with transaction.atomic():
        # The newest version of the kind is locked so two trainings never take the same number.
        list(ModelVersion.objects.select_for_update().filter(kind=kind).order_by("-version")[:1])
        version = _next_version(kind)
        artefact, digest = _store_artefact(kind, version, blob)
        fields = actor_fields(actor)
        train_from, train_to = _date_range(train)
        valid_from, valid_to = _date_range(valid)
        model = ModelVersion.objects.create(
            kind=kind,
            version=version,
            artefact=artefact,
            artefact_sha256=digest,
            source=table.source,
            training_from=train_from,
            training_to=train_to,
            validation_from=valid_from,
            validation_to=valid_to,
            features=features,
            excluded=excluded,
            data_hash=F.data_hash(table.panel),
            training_rows=train.height,
            validation_rows=valid.height,
            metrics=metrics,
            report=report,
            trained_by=fields["actor"],
            trained_by_label=fields["actor_label"],
        )
        audit_record(
            actor=actor,
            action="scoring.model.trained",
            target=model,
            data={"kind": kind, "version": version, "data_hash": model.data_hash, "metrics": metrics},
        )
    return model


def models_train(
    *,
    actor: Actor,
    source: str = TrainingSource.SIMULATION,
    kinds: tuple[str, ...] = (ModelKind.SCORECARD, ModelKind.LIGHTGBM, ModelKind.UPLIFT),
    accounts: int = 3000,
    seed: int = 2026,
    months: int = 12,
    today: dt.date | None = None,
) -> list[ModelVersion]:
    """Train the given kinds on one history (time-based split: the last fifth of the months validates),
    store each as a new version awaiting approval, and return them."""
    if isinstance(actor, AbstractBaseUser) and not actor.has_perm("scoring.train_model"):  # type: ignore[attr-defined]
        raise PermissionDenied(_("You may not train scoring models."))
    unknown = set(kinds) - set(ModelKind.values)
    if unknown:
        raise ValidationError(_("Unknown model kind: %(kinds)s") % {"kinds": ", ".join(sorted(unknown))})
    table = training_table(source=source, accounts=accounts, seed=seed, months=months, today=today)
    panel = table.panel
    ordinal = panel["as_of"].cast(pl.Int32).to_numpy()
    train_rows, valid_rows = time_split(ordinal, validation_share=0.25)
    train, valid = panel[train_rows], panel[valid_rows]
    created = []
    for kind in kinds:
        if kind == ModelKind.UPLIFT:
            model_version = _train_uplift(actor=actor, table=table, train=train, valid=valid, seed=seed)
            if model_version is not None:
                created.append(model_version)
            continue
        model = _propensity_model(kind, seed).fit(train.select(F.FEATURES), train["paid_30d"])
        report = validation_report(model, valid.select(F.FEATURES), valid["paid_30d"], segments=_segments(valid))
        report["training_auc"] = roc_auc(train["paid_30d"].to_numpy(), model.predict_proba(train.select(F.FEATURES)))
        report["importance"] = _importance(model)
        metrics = {key: report[key] for key in ("auc", "gini", "ks", "paid_rate", "rows")}
        metadata = model.metadata
        created.append(
            _register(
                actor=actor,
                kind=kind,
                blob=model.to_bytes(),
                table=table,
                train=train,
                valid=valid,
                features=list(metadata.get("selected", F.FEATURES)),
                excluded=dict(metadata.get("excluded", {})),
                metrics=metrics,
                report=report,
            )
        )
    return created


def _importance(model: ScorecardModel | GradientBoostingModel) -> list[tuple[str, float]]:
    metadata = model.metadata
    values = metadata.get("information_values") or metadata.get("feature_importance") or {}
    selected = set(metadata.get("selected", values))
    total = sum(v for k, v in values.items() if k in selected) or 1.0
    return sorted(((k, float(v) / total) for k, v in values.items() if k in selected), key=lambda kv: -kv[1])


def _train_uplift(
    *, actor: Actor, table: TrainingTable, train: pl.DataFrame, valid: pl.DataFrame, seed: int
) -> ModelVersion | None:
    """Two LightGBM models on the visit-eligible rows: visited against the randomised hold-out."""
    eligible_train = train.filter(pl.col("visit_eligible") & (pl.col("visited") | pl.col("held_out")))
    eligible_valid = valid.filter(pl.col("visit_eligible") & (pl.col("visited") | pl.col("held_out")))
    if eligible_train.filter(pl.col("held_out")).height < 50 or eligible_valid.filter(pl.col("held_out")).height < 10:
        return None
    model = TwoModelUplift(categorical=F.CATEGORICAL, exclude=F.EXCLUDED, seed=seed).fit(
        eligible_train.select(F.FEATURES), eligible_train["paid_30d"], eligible_train["visited"]
    )
    predicted = model.predict_uplift(eligible_valid.select(F.FEATURES))
    outcome = eligible_valid["paid_30d"].to_numpy()
    treated = eligible_valid["visited"].to_numpy()
    curve = qini_curve(outcome, treated, predicted)
    measured = float(outcome[treated].mean() - outcome[~treated].mean())
    # The measured effect among the top fifth by predicted uplift against the rest.
    top = predicted >= np.quantile(predicted, 0.8)
    report = {
        "kind": ModelKind.UPLIFT,
        "rows": int(eligible_valid.height),
        "treated_rows": int(treated.sum()),
        "control_rows": int((~treated).sum()),
        "measured_effect": measured,
        "mean_predicted_uplift": float(predicted.mean()),
        "qini": {"shares": curve.shares, "gains": curve.gains, "random": curve.random},
        "qini_coefficient": curve.coefficient,
        "top_fifth_effect": _effect(outcome[top], treated[top]),
        "rest_effect": _effect(outcome[~top], treated[~top]),
        "excluded": model.metadata.get("excluded", {}),
    }
    metrics = {
        "qini_coefficient": curve.coefficient,
        "measured_effect": measured,
        "mean_predicted_uplift": float(predicted.mean()),
        "rows": int(eligible_valid.height),
    }
    return _register(
        actor=actor,
        kind=ModelKind.UPLIFT,
        blob=model.to_bytes(),
        table=table,
        train=eligible_train,
        valid=eligible_valid,
        features=[name for name in F.FEATURES if name not in F.EXCLUDED],
        excluded=dict(model.metadata.get("excluded", {})),
        metrics=metrics,
        report=report,
    )


def _effect(outcome: np.ndarray, treated: np.ndarray) -> float | None:
    if treated.sum() == 0 or (~treated).sum() == 0:
        return None
    return float(outcome[treated].mean() - outcome[~treated].mean())


# --- approval ------------------------------------------------------------------------------------------


def _transition(model: ModelVersion, to: str) -> None:
    if to not in TRANSITIONS[model.status]:
        raise ValidationError(
            _("A model that is %(status)s cannot become %(to)s.")
            % {"status": model.get_status_display(), "to": ModelStatus(to).label}
        )
    model.status = to


def model_approve(*, actor: AbstractBaseUser, model_id: int, note: str = "") -> ModelVersion:
    """A second person approves a trained model: it becomes its kind's champion and scores from the next run."""
    if not actor.has_perm("scoring.approve_model"):  # type: ignore[attr-defined]
        raise PermissionDenied(_("You may not approve scoring models."))
    with transaction.atomic():
        model = ModelVersion.objects.select_for_update().get(pk=model_id)
        if model.trained_by_id is not None and model.trained_by_id == actor.pk:
            raise ValidationError(_("A model must be approved by someone other than the person who trained it."))
        _transition(model, ModelStatus.APPROVED)
        previous = list(ModelVersion.objects.select_for_update().filter(kind=model.kind, is_champion=True))
        for old in previous:
            old.is_champion = False
            _transition(old, ModelStatus.RETIRED)
            old.save(update_fields=["is_champion", "status"])
        model.is_champion = True
        model.decided_at = timezone.now()
        model.decided_by = actor  # type: ignore[assignment]
        model.decision_note = note[:300]
        model.save(update_fields=["status", "is_champion", "decided_at", "decided_by", "decision_note"])
        audit_record(
            actor=actor,
            action="scoring.model.approved",
            target=model,
            data={"kind": model.kind, "version": model.version, "replaces": [old.pk for old in previous], "note": note},
        )
    return model


def model_reject(*, actor: AbstractBaseUser, model_id: int, note: str) -> ModelVersion:
    if not actor.has_perm("scoring.approve_model"):  # type: ignore[attr-defined]
        raise PermissionDenied(_("You may not decide on scoring models."))
    if not note.strip():
        raise ValidationError(_("Say why the model is rejected."))
    with transaction.atomic():
        model = ModelVersion.objects.select_for_update().get(pk=model_id)
        _transition(model, ModelStatus.REJECTED)
        model.decided_at = timezone.now()
        model.decided_by = actor  # type: ignore[assignment]
        model.decision_note = note[:300]
        model.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
        audit_record(actor=actor, action="scoring.model.rejected", target=model, data={"note": note})
    return model


# --- production scoring --------------------------------------------------------------------------------


def champion(kind: str) -> ModelVersion | None:
    """The approved champion of a kind: the only model of that kind allowed to score production cases."""
    return ModelVersion.objects.filter(kind=kind, status=ModelStatus.APPROVED, is_champion=True).first()


def model_load(model: ModelVersion) -> Any:
    return _load(model.artefact, model.artefact_sha256)


@lru_cache(maxsize=8)
def _load(artefact: str, digest: str) -> Any:
    blob = (models_directory() / artefact).read_bytes()
    if hashlib.sha256(blob).hexdigest() != digest:
        raise ValidationError(_("The stored model file does not match its registry entry."))
    if decode(blob)["kind"] == ModelKind.UPLIFT:
        return TwoModelUplift.from_bytes(blob)
    return load_model(blob)


def reason_code_column(names: tuple[str, ...], factors: np.ndarray, directions: np.ndarray) -> pl.Series:
    """Per row, ``factor:direction`` of each factor that lowered the score, joined by commas (columnar)."""
    name_of = dict(enumerate(names))
    direction_of = {code: name for code, name in DIRECTION_NAMES.items()}
    parts = []
    for k in range(factors.shape[1]):
        factor = pl.Series(factors[:, k].astype(np.int64))
        direction = pl.Series(directions[:, k].astype(np.int64))
        parts.append(
            pl.when(factor >= 0).then(
                pl.concat_str(
                    [
                        pl.lit(factor).replace_strict(name_of, default="", return_dtype=pl.String),
                        pl.lit(":"),
                        pl.lit(direction).replace_strict(direction_of, default="category", return_dtype=pl.String),
                    ]
                )
            )
        )
    return pl.select(pl.concat_str(parts, separator=",", ignore_nulls=True).alias("reason_codes")).to_series()


def reason_texts(codes: str, language: str) -> list[tuple[str, str]]:
    """The stored codes of one case with their sentences in ``language`` (en or zh-Hans)."""
    result = []
    for code in codes.split(","):
        factor, _separator, direction = code.partition(":")
        if factor:
            result.append((code, reason_sentence(factor, direction or "category", language)))
    return result


def _psi(reference: dict[str, list[float]] | None, values: np.ndarray) -> float | None:
    values = values[~np.isnan(values)]
    if not reference or values.size == 0:
        return None
    return psi_against(PsiReference.from_dict(reference), values).value


def scores_compute(panel: pl.DataFrame, model: Any, uplift_model: Any | None) -> pl.DataFrame:
    """Probability, points, band, reason codes and texts (and uplift) for every row of a feature panel."""
    probability = model.predict_proba(panel)
    codes = model.reason_codes(panel, top=REASONS_PER_CASE)
    code_text = reason_code_column(codes.feature_names, codes.factors, codes.directions)
    frame = pl.DataFrame(
        {
            "case_id": panel["case_id"],
            "probability": probability,
            "points": points_from_probability(probability).round(2),
            "band": score_bands(probability),
            "reason_codes": code_text,
        }
    )
    if uplift_model is None:
        return frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("uplift"))
    # The uplift model learnt from the cases the visit rule made eligible (and its hold-out); outside that
    # domain it would only extrapolate, so those cases get no uplift.
    eligible = (panel["days_past_due"] >= UPLIFT_FROM_DAYS).to_numpy()
    uplift = np.full(panel.height, np.nan)
    if eligible.any():
        uplift[eligible] = uplift_model.predict_uplift(panel.filter(pl.Series(eligible)))
    return frame.with_columns(pl.Series("uplift", uplift, dtype=pl.Float64).fill_nan(None))


def scores_refresh(*, actor: Actor, business_date: dt.date) -> dict[str, Any]:
    """Score every open case with the approved champion (and the uplift champion), replace the stored
    scores, and record the day's monitoring. Without an approved model nothing is scored."""
    started = time.perf_counter()
    model_version = champion(primary_kind()) or next(
        (found for kind in PROPENSITY_KINDS if (found := champion(kind)) is not None), None
    )
    if model_version is None:
        return {"skipped": _("No approved scoring model yet; cases keep no score.")}
    uplift_version = champion(ModelKind.UPLIFT)
    from doorstep.scoring import sources

    timings: dict[str, float] = {}
    mark = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        timings[f"{name}_seconds"] = round(now - mark, 2)
        mark = now

    cases = sources.live_cases(business_date)
    events = sources.live_events(business_date)
    lap("read")
    panel = F.feature_panel(cases, events)
    lap("features")
    model = model_load(model_version)
    uplift_model = model_load(uplift_version) if uplift_version is not None else None
    scored = scores_compute(panel, model, uplift_model)
    lap("score")
    rows = scored.with_columns(
        pl.lit(model_version.pk, dtype=pl.Int64).alias("model_version_id"),
        pl.lit(business_date).alias("scored_on"),
        pl.lit(uplift_version.pk if uplift_version is not None else None, dtype=pl.Int64).alias("uplift_version_id"),
    ).select(
        "case_id", "model_version_id", "scored_on", "probability", "points", "band",
        "reason_codes", "uplift", "uplift_version_id",
    )
    monitoring = _monitor(model_version, panel, scored, business_date)
    lap("monitor")
    table = CaseScore._meta.db_table
    with transaction.atomic():
        # The day's scores replace yesterday's whole: one statement out, one COPY in, the keys checked
        # once over the table rather than row by row.
        if connection.vendor == "postgresql":
            execute(f"TRUNCATE {table}")
        else:
            execute(f"DELETE FROM {table}")  # noqa: S608 - a table name from the model
        with checks_deferred_for_bulk_load([table], when=rows.height > 50_000):
            bulk_insert(table=table, frame=rows)
        lap("write")
        seconds = time.perf_counter() - started
        run, _created = ScoringRun.objects.update_or_create(
            business_date=business_date,
            model_version=model_version,
            defaults={"uplift_version": uplift_version, "cases": rows.height, "seconds": seconds, **monitoring},
        )
        audit_record(
            actor=actor,
            action="scoring.scores.refreshed",
            target=run,
            data={
                "model": model_version.label,
                "uplift_model": uplift_version.label if uplift_version else None,
                "cases": rows.height,
                "alerts": monitoring["alerts"],
            },
        )
    _sample_save(business_date, model_version, scored)
    return {
        "model": model_version.label,
        "uplift_model": uplift_version.label if uplift_version else None,
        "cases": rows.height,
        "score_psi": monitoring["score_psi"],
        "alerts": len(monitoring["alerts"]),
        "seconds": round(seconds, 2),
        **timings,
    }


def _monitor(model_version: ModelVersion, panel: pl.DataFrame, scored: pl.DataFrame, business_date: dt.date) -> dict[str, Any]:
    """Stability of the score and the main features against training; AUC of scores whose 30 days are over."""
    metadata = _metadata(model_version)
    threshold = psi_alert_threshold()
    alerts: list[dict[str, Any]] = []
    score_psi = _psi(metadata.get("score_reference"), scored["probability"].to_numpy())
    if score_psi is not None and score_psi >= threshold:
        alerts.append({"kind": "score_psi", "value": round(score_psi, 4), "threshold": threshold})
    feature_psi = {}
    references = metadata.get("feature_references", {})
    for name in F.MONITORED:
        if name in references:
            value = _psi(references[name], panel[name].cast(pl.Float64).to_numpy())
            if value is not None:
                feature_psi[name] = round(value, 4)
                if value >= threshold:
                    alerts.append({"kind": "feature_psi", "feature": name, "value": round(value, 4), "threshold": threshold})
    matured = _matured_auc(model_version, business_date)
    if matured is not None:
        auc, rows, scored_on = matured
        expected = float(model_version.metrics.get("auc", 0))
        if expected and auc < expected - auc_drop_threshold():
            alerts.append({"kind": "auc_drop", "value": round(auc, 4), "expected": round(expected, 4), "threshold": auc_drop_threshold()})
    else:
        auc, rows, scored_on = None, 0, None
    return {
        "score_psi": score_psi,
        "feature_psi": feature_psi,
        "matured_auc": auc,
        "matured_rows": rows,
        "matured_from": scored_on,
        "alerts": alerts,
    }


def _metadata(model_version: ModelVersion) -> dict[str, Any]:
    model = model_load(model_version)
    return model.metadata


def _sample_path(business_date: dt.date, model_version: ModelVersion) -> Path:
    return samples_directory() / f"{model_version.label}-{business_date.isoformat()}.parquet"


def _sample_save(business_date: dt.date, model_version: ModelVersion, scored: pl.DataFrame) -> None:
    """Keep a random sample of the day's scores, to measure their AUC once the outcomes have matured."""
    sample = scored.select("case_id", "probability")
    if sample.height > SAMPLE_ROWS:
        sample = sample.sample(SAMPLE_ROWS, seed=business_date.toordinal())
    path = _sample_path(business_date, model_version)
    path.parent.mkdir(parents=True, exist_ok=True)
    sample.write_parquet(path)


def _matured_auc(model_version: ModelVersion, business_date: dt.date) -> tuple[float, int, dt.date] | None:
    from doorstep.scoring import sources

    for days_back in range(30, 45):
        day = business_date - dt.timedelta(days=days_back)
        path = _sample_path(day, model_version)
        if path.exists():
            sample = pl.read_parquet(path)
            outcomes = sources.live_outcomes(sample["case_id"], day)
            joined = sample.join(outcomes, on="case_id")
            paid = joined["paid_30d"].to_numpy()
            if 0 < paid.sum() < paid.size:
                return roc_auc(paid, joined["probability"].to_numpy()), joined.height, day
            return None
    return None


def monitoring_status(value: float | None) -> str:
    return "" if value is None else psi_status(value)
