"""Time-based splitting and the validation report of a trained model."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from doorstep.scoring.maths.interface import Features, ModelError, Outcome, PropensityModel, outcome_vector
from doorstep.scoring.maths.metrics import (
    PsiReference,
    calibration_bins,
    gini,
    ks_statistic,
    performance_by_segment,
    psi_against,
    roc_auc,
    score_distribution,
)


def time_split(observed_on: ArrayLike, validation_share: float = 0.2) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Row numbers for training (earlier) and validation (later), never splitting one date between both.

    ``observed_on`` holds the date each row's facts were taken (dates, datetimes or ordinals). The cut is
    the first date at which at least ``1 - validation_share`` of the rows lie before it.
    """
    if not 0 < validation_share < 1:
        raise ModelError("the validation share must lie between 0 and 1")
    dates = np.asarray(observed_on)
    if dates.ndim != 1 or dates.size < 2:
        raise ModelError("a time split needs at least two dated rows")
    distinct, counts = np.unique(dates, return_counts=True)
    if distinct.size < 2:
        raise ModelError("a time split needs rows from at least two dates")
    before = np.cumsum(counts) / dates.size
    # A hair below the target so that shares like 2/3 are not lost to rounding.
    cut_position = int(np.searchsorted(before, 1 - validation_share - 1e-9, side="left")) + 1
    cut_position = min(max(cut_position, 1), distinct.size - 1)
    cut = distinct[cut_position]
    return np.flatnonzero(dates < cut), np.flatnonzero(dates >= cut)


def validation_report(
    model: PropensityModel,
    X: Features,
    y: Outcome,
    *,
    segments: ArrayLike | None = None,
    calibration_bin_count: int = 10,
) -> dict[str, Any]:
    """Everything the validation page shows for one model on held-out rows, as plain data."""
    probability = model.predict_proba(X)
    paid = outcome_vector(y, probability.size)
    metadata = model.metadata
    report: dict[str, Any] = {
        "kind": model.kind,
        "rows": int(probability.size),
        "paid_rate": float(paid.mean()),
        "auc": roc_auc(paid, probability),
        "gini": gini(paid, probability),
        "ks": ks_statistic(paid, probability),
        "calibration": [asdict(b) for b in calibration_bins(paid, probability, calibration_bin_count)],
        "score_distribution": [asdict(row) for row in score_distribution(probability, paid)],
        "excluded": dict(metadata.get("excluded", {})),
    }
    reference = metadata.get("score_reference")
    if reference:
        stability = psi_against(PsiReference.from_dict(reference), probability)
        report["score_psi"] = {"value": stability.value, "status": stability.status}
    if segments is not None:
        report["by_segment"] = [asdict(row) for row in performance_by_segment(paid, probability, segments)]
    return report
