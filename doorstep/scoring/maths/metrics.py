"""Ranking, calibration and stability measures for propensity models.

All functions take plain numpy arrays: ``outcome`` holds 1 where the borrower paid (or cured) within the
horizon and 0 where they did not; ``score`` is anything that ranks borrowers, higher meaning more likely
to pay (a probability or scorecard points).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import rankdata

PSI_WATCH = 0.10
PSI_ALERT = 0.25
PSI_BINS = 10
# An empty bin would make the PSI infinite; a share this small stands in for it.
PSI_EMPTY_SHARE = 1e-4

PsiStatus = Literal["stable", "watch", "alert"]

# Bands of the probability of paying, best first: (label, lowest probability in the band).
DEFAULT_BANDS: tuple[tuple[str, float], ...] = (
    ("A", 0.80),
    ("B", 0.60),
    ("C", 0.40),
    ("D", 0.20),
    ("E", 0.0),
)


class MetricError(ValueError):
    pass


def _outcome_and_score(outcome: ArrayLike, score: ArrayLike) -> tuple[NDArray[np.int8], NDArray[np.float64]]:
    y = np.asarray(outcome)
    s = np.asarray(score, dtype=np.float64)
    if y.ndim != 1 or s.ndim != 1 or y.shape != s.shape:
        raise MetricError("outcome and score must be one-dimensional and of the same length")
    if not np.isin(y, (0, 1)).all():
        raise MetricError("outcome must hold only 0 and 1")
    if np.isnan(s).any():
        raise MetricError("score holds missing values")
    positives = int(y.sum())
    if positives == 0 or positives == y.size:
        raise MetricError("outcome needs both payers and non-payers")
    return y.astype(np.int8), s


def roc_auc(outcome: ArrayLike, score: ArrayLike) -> float:
    """Probability that a random payer scores above a random non-payer; ties count one half."""
    y, s = _outcome_and_score(outcome, score)
    ranks = rankdata(s)
    positives = int(y.sum())
    negatives = y.size - positives
    rank_sum = float(ranks[y == 1].sum())
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def gini(outcome: ArrayLike, score: ArrayLike) -> float:
    return 2.0 * roc_auc(outcome, score) - 1.0


def ks_statistic(outcome: ArrayLike, score: ArrayLike) -> float:
    """Largest gap between the cumulative score distributions of payers and non-payers.

    The distributions are compared only between distinct score values, so tied scores never split.
    """
    y, s = _outcome_and_score(outcome, score)
    order = np.argsort(s, kind="stable")
    s_sorted = s[order]
    y_sorted = y[order]
    payers = np.cumsum(y_sorted) / y_sorted.sum()
    non_payers = np.cumsum(1 - y_sorted) / (y_sorted.size - y_sorted.sum())
    last_of_value = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    return float(np.max(np.abs(payers[last_of_value] - non_payers[last_of_value])))


@dataclass(frozen=True, slots=True)
class CalibrationBin:
    lowest: float
    highest: float
    count: int
    mean_predicted: float
    observed_rate: float


def calibration_bins(outcome: ArrayLike, probability: ArrayLike, bins: int = 10) -> list[CalibrationBin]:
    """Predicted against observed payment rate in bins of equal population (for a calibration plot)."""
    y, p = _outcome_and_score(outcome, probability)
    if bins < 1:
        raise MetricError("at least one bin is needed")
    order = np.argsort(p, kind="stable")
    result = []
    for part in np.array_split(order, bins):
        if part.size == 0:
            continue
        result.append(
            CalibrationBin(
                lowest=float(p[part].min()),
                highest=float(p[part].max()),
                count=int(part.size),
                mean_predicted=float(p[part].mean()),
                observed_rate=float(y[part].mean()),
            )
        )
    return result


@dataclass(frozen=True, slots=True)
class PsiReference:
    """The binning of a reference population (usually the training scores or a feature at training)."""

    edges: tuple[float, ...]
    shares: tuple[float, ...]

    def to_dict(self) -> dict[str, list[float]]:
        return {"edges": list(self.edges), "shares": list(self.shares)}

    @classmethod
    def from_dict(cls, data: dict[str, list[float]]) -> PsiReference:
        return cls(edges=tuple(float(e) for e in data["edges"]), shares=tuple(float(s) for s in data["shares"]))


@dataclass(frozen=True, slots=True)
class PsiResult:
    value: float
    status: PsiStatus
    expected_shares: tuple[float, ...]
    actual_shares: tuple[float, ...]


def psi_status(value: float) -> PsiStatus:
    """Usual reading: below 0.10 stable, 0.10 to 0.25 worth watching, 0.25 and above a shift to act on."""
    if value >= PSI_ALERT:
        return "alert"
    if value >= PSI_WATCH:
        return "watch"
    return "stable"


def _finite(values: ArrayLike, what: str) -> NDArray[np.float64]:
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise MetricError(f"{what} is empty")
    if not np.isfinite(v).all():
        raise MetricError(f"{what} holds missing or infinite values")
    return v


def _shares(values: NDArray[np.float64], edges: Sequence[float]) -> NDArray[np.float64]:
    counts = np.bincount(np.searchsorted(np.asarray(edges), values, side="right"), minlength=len(edges) + 1)
    return counts / values.size


def psi_reference(expected: ArrayLike, bins: int = PSI_BINS) -> PsiReference:
    """Cut the reference population into (at most) ``bins`` groups of equal size at its quantiles."""
    values = _finite(expected, "the reference population")
    if bins < 2:
        raise MetricError("at least two bins are needed")
    quantiles = np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])
    edges = np.unique(quantiles)
    return PsiReference(edges=tuple(float(e) for e in edges), shares=tuple(_shares(values, edges).tolist()))


def psi_against(reference: PsiReference, actual: ArrayLike) -> PsiResult:
    """Population stability index of ``actual`` against a stored reference binning."""
    values = _finite(actual, "the population")
    expected = np.maximum(np.asarray(reference.shares), PSI_EMPTY_SHARE)
    observed_raw = _shares(values, reference.edges)
    observed = np.maximum(observed_raw, PSI_EMPTY_SHARE)
    value = float(np.sum((observed - expected) * np.log(observed / expected)))
    return PsiResult(
        value=value,
        status=psi_status(value),
        expected_shares=reference.shares,
        actual_shares=tuple(observed_raw.tolist()),
    )


def psi(expected: ArrayLike, actual: ArrayLike, bins: int = PSI_BINS) -> PsiResult:
    return psi_against(psi_reference(expected, bins), actual)


def score_bands(
    probability: ArrayLike, bands: Sequence[tuple[str, float]] = DEFAULT_BANDS
) -> NDArray[np.str_]:
    """Label each probability of paying with its band; ``bands`` run best first, each with its floor."""
    p = _finite(probability, "the probabilities")
    floors = [floor for _, floor in bands]
    if any(a <= b for a, b in itertools.pairwise(floors)) or floors[-1] > p.min():
        raise MetricError("band floors must fall strictly and the last must cover every probability")
    labels = np.array([label for label, _ in bands])
    ascending_floors = np.array(floors[::-1])
    position_from_worst = np.searchsorted(ascending_floors, p, side="right") - 1
    return labels[len(bands) - 1 - position_from_worst]


@dataclass(frozen=True, slots=True)
class BandRow:
    band: str
    count: int
    share: float
    mean_predicted: float
    observed_rate: float | None


def score_distribution(
    probability: ArrayLike,
    outcome: ArrayLike | None = None,
    bands: Sequence[tuple[str, float]] = DEFAULT_BANDS,
) -> list[BandRow]:
    """How a population spreads over the bands, with the observed payment rate where outcomes are known."""
    p = _finite(probability, "the probabilities")
    y = None if outcome is None else np.asarray(outcome)
    labels = score_bands(p, bands)
    rows = []
    for label, _ in bands:
        mask = labels == label
        count = int(mask.sum())
        rows.append(
            BandRow(
                band=label,
                count=count,
                share=count / p.size,
                mean_predicted=float(p[mask].mean()) if count else 0.0,
                observed_rate=float(y[mask].mean()) if (y is not None and count) else None,
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class SegmentPerformance:
    segment: str
    count: int
    observed_rate: float
    auc: float | None


def performance_by_segment(
    outcome: ArrayLike, score: ArrayLike, segments: ArrayLike
) -> list[SegmentPerformance]:
    """AUC per segment; a segment where everyone paid, or no one did, has no AUC."""
    y = np.asarray(outcome)
    s = np.asarray(score, dtype=np.float64)
    seg = np.asarray(segments).astype(str)
    result = []
    for name in sorted(set(seg.tolist())):
        mask = seg == name
        ys = y[mask]
        both = 0 < int(ys.sum()) < ys.size
        result.append(
            SegmentPerformance(
                segment=name,
                count=int(mask.sum()),
                observed_rate=float(ys.mean()),
                auc=roc_auc(ys, s[mask]) if both else None,
            )
        )
    return result
