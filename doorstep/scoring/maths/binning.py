"""Optimal binning with a monotone event rate, and weight of evidence, for the scorecard.

Numeric features are pre-cut by a small classification tree (the usual CART pre-binning), then adjacent
bins are pooled until the payment rate rises or falls steadily (pool-adjacent-violators), every bin holds
a minimum share of the population, and no more than ``max_bins`` remain. Both directions are tried and
the one that keeps more information value wins. Categorical features (numeric codes) are ordered by their
payment rate and pooled the same way. Missing values, and categories never seen in training, fall in a
bin of their own.

Weight of evidence follows the scorecard convention for a "good" outcome, here paying:
``woe = ln(share of payers in the bin / share of non-payers in the bin)``, so higher is better.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from sklearn.tree import DecisionTreeClassifier

Trend = Literal["ascending", "descending"]

# Half a borrower added to each side keeps the weight of evidence finite in a bin that is all one outcome.
WOE_SMOOTHING = 0.5


@dataclass(frozen=True, slots=True)
class BinningSettings:
    max_bins: int = 8
    max_prebins: int = 20
    min_bin_share: float = 0.05
    min_prebin_share: float = 0.02
    # Missing values get their own weight of evidence only when at least this many rows have them.
    min_missing_rows: int = 30
    seed: int = 0


@dataclass(slots=True)
class _Bin:
    rows: int
    paid: int
    categories: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.paid / self.rows

    def merged(self, other: _Bin) -> _Bin:
        return _Bin(self.rows + other.rows, self.paid + other.paid, self.categories + other.categories)


@dataclass(frozen=True, slots=True)
class FeatureBinning:
    """The bins of one feature. The last bin is the one for missing values (and unseen categories)."""

    name: str
    categorical: bool
    # Numeric: a value x lies in bin ``count of edges < x``; categorical: ``categories[i]`` lie in bin i.
    edges: tuple[float, ...]
    categories: tuple[tuple[float, ...], ...]
    rows: tuple[int, ...]
    paid: tuple[int, ...]
    woe: tuple[float, ...]
    trend: str
    information_value: float

    @property
    def missing_bin(self) -> int:
        return len(self.woe) - 1

    def bin_index(self, values: NDArray[np.float64]) -> NDArray[np.intp]:
        missing = np.isnan(values)
        if self.categorical:
            known = [(code, position) for position, group in enumerate(self.categories) for code in group]
            if not known:
                return np.full(values.shape, self.missing_bin, dtype=np.intp)
            known.sort()
            codes = np.array([code for code, _ in known])
            bins = np.array([position for _, position in known], dtype=np.intp)
            at = np.minimum(np.searchsorted(codes, values), codes.size - 1)
            return np.where(codes[at] == values, bins[at], self.missing_bin)
        index = np.searchsorted(np.asarray(self.edges, dtype=np.float64), values, side="left")
        index[missing] = self.missing_bin
        return index

    def labels(self) -> list[str]:
        """Plain descriptions of the bins, for the scorecard table."""
        if self.categorical:
            regular = ["{" + ", ".join(_number(c) for c in group) + "}" for group in self.categories]
        else:
            bounds = [-math.inf, *self.edges, math.inf]
            regular = [f"({_number(low)}, {_number(high)}]" for low, high in itertools.pairwise(bounds)]
        return [*regular, "missing"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "categorical": self.categorical,
            "edges": list(self.edges),
            "categories": [list(group) for group in self.categories],
            "rows": list(self.rows),
            "paid": list(self.paid),
            "woe": list(self.woe),
            "trend": self.trend,
            "information_value": self.information_value,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureBinning:
        return cls(
            name=str(data["name"]),
            categorical=bool(data["categorical"]),
            edges=tuple(float(e) for e in data["edges"]),
            categories=tuple(tuple(float(c) for c in group) for group in data["categories"]),
            rows=tuple(int(r) for r in data["rows"]),
            paid=tuple(int(p) for p in data["paid"]),
            woe=tuple(float(w) for w in data["woe"]),
            trend=str(data["trend"]),
            information_value=float(data["information_value"]),
        )


def _number(value: float) -> str:
    if math.isinf(value):
        return "-∞" if value < 0 else "∞"
    return f"{value:g}"


def _pool_adjacent_violators(bins: list[_Bin], trend: Trend) -> list[_Bin]:
    sign = 1 if trend == "ascending" else -1
    pooled: list[_Bin] = []
    for current in bins:
        pooled.append(current)
        while len(pooled) > 1 and sign * (pooled[-1].rate - pooled[-2].rate) < 0:
            last = pooled.pop()
            pooled[-1] = pooled[-1].merged(last)
    return pooled


def _merge_at(bins: list[_Bin], left: int) -> None:
    bins[left] = bins[left].merged(bins[left + 1])
    del bins[left + 1]


def _enforce_sizes(bins: list[_Bin], min_rows: int, max_bins: int) -> list[_Bin]:
    """Pool neighbours (the one with the closer rate) until every bin is big enough and few enough remain.

    Pooling two neighbours of a monotone sequence keeps it monotone.
    """
    bins = list(bins)
    while len(bins) > 1:
        smallest = min(range(len(bins)), key=lambda i: (bins[i].rows, i))
        if bins[smallest].rows >= min_rows:
            break
        if smallest == 0:
            _merge_at(bins, 0)
        elif smallest == len(bins) - 1:
            _merge_at(bins, smallest - 1)
        else:
            gap_left = abs(bins[smallest].rate - bins[smallest - 1].rate)
            gap_right = abs(bins[smallest + 1].rate - bins[smallest].rate)
            _merge_at(bins, smallest - 1 if gap_left <= gap_right else smallest)
    while len(bins) > max_bins:
        closest = min(range(len(bins) - 1), key=lambda i: (abs(bins[i + 1].rate - bins[i].rate), i))
        _merge_at(bins, closest)
    return bins


def _woe(paid: int, unpaid: int, total_paid: int, total_unpaid: int) -> float:
    return math.log(
        ((paid + WOE_SMOOTHING) / (total_paid + WOE_SMOOTHING))
        / ((unpaid + WOE_SMOOTHING) / (total_unpaid + WOE_SMOOTHING))
    )


def _information_value(bins: list[_Bin], total_paid: int, total_unpaid: int) -> float:
    value = 0.0
    for b in bins:
        unpaid = b.rows - b.paid
        value += (b.paid / total_paid - unpaid / total_unpaid) * _woe(b.paid, unpaid, total_paid, total_unpaid)
    return value


def _prebin_numeric(values: NDArray[np.float64], paid: NDArray[np.int8], settings: BinningSettings) -> list[float]:
    distinct = np.unique(values)
    if distinct.size <= 1:
        return []
    if distinct.size <= settings.max_prebins:
        return ((distinct[1:] + distinct[:-1]) / 2).tolist()
    tree = DecisionTreeClassifier(
        max_leaf_nodes=settings.max_prebins,
        min_samples_leaf=max(1, math.ceil(settings.min_prebin_share * values.size)),
        random_state=settings.seed,
    )
    tree.fit(values.reshape(-1, 1), paid)
    split_nodes = tree.tree_.feature >= 0
    return sorted(float(t) for t in tree.tree_.threshold[split_nodes])


def fit_binning(
    name: str,
    values: NDArray[np.float64],
    paid: NDArray[np.int8],
    *,
    categorical: bool = False,
    settings: BinningSettings | None = None,
) -> FeatureBinning:
    settings = settings or BinningSettings()
    total_paid = int(paid.sum())
    total_unpaid = int(paid.size - total_paid)
    present = ~np.isnan(values)
    x = values[present]
    y = paid[present]
    min_rows = max(1, math.ceil(settings.min_bin_share * values.size))

    candidates: list[tuple[str, list[_Bin], list[float]]] = []
    if x.size == 0:
        candidates.append(("none", [], []))
    elif categorical:
        codes, inverse = np.unique(x, return_inverse=True)
        rows = np.bincount(inverse, minlength=codes.size)
        paid_rows = np.bincount(inverse, weights=y, minlength=codes.size).astype(int)
        bins = [
            _Bin(int(r), int(p), [float(c)])
            for c, r, p in sorted(zip(codes, rows, paid_rows, strict=True), key=lambda t: (t[2] / t[1], t[0]))
        ]
        candidates.append(("ascending", _enforce_sizes(bins, min_rows, settings.max_bins), []))
    else:
        cuts = _prebin_numeric(x, y, settings)
        index = np.searchsorted(np.asarray(cuts), x, side="left")
        rows = np.bincount(index, minlength=len(cuts) + 1)
        paid_rows = np.bincount(index, weights=y, minlength=len(cuts) + 1).astype(int)
        # Each pre-bin remembers its upper cut so pooled bins keep their boundaries.
        prebins = [
            _Bin(int(r), int(p), [cuts[i]] if i < len(cuts) else [math.inf])
            for i, (r, p) in enumerate(zip(rows, paid_rows, strict=True))
            if r > 0
        ]
        for trend in ("ascending", "descending"):
            pooled = _pool_adjacent_violators(prebins, trend)
            sized = _enforce_sizes(pooled, min_rows, settings.max_bins)
            edges = [b.categories[-1] for b in sized[:-1]]
            candidates.append((trend, [_Bin(b.rows, b.paid) for b in sized], edges))

    trend, bins, edges = max(candidates, key=lambda c: _information_value(c[1], total_paid, total_unpaid))
    missing_rows = int((~present).sum())
    missing_paid = int(paid[~present].sum())
    woe = [_woe(b.paid, b.rows - b.paid, total_paid, total_unpaid) for b in bins]
    if missing_rows >= settings.min_missing_rows:
        woe.append(_woe(missing_paid, missing_rows - missing_paid, total_paid, total_unpaid))
    else:
        woe.append(0.0)
    return FeatureBinning(
        name=name,
        categorical=categorical,
        edges=tuple(edges),
        categories=tuple(tuple(b.categories) for b in bins) if categorical else (),
        rows=(*(b.rows for b in bins), missing_rows),
        paid=(*(b.paid for b in bins), missing_paid),
        woe=tuple(woe),
        trend=trend if len(bins) > 1 else "none",
        information_value=_information_value(
            [*bins, *([_Bin(missing_rows, missing_paid)] if missing_rows else [])], total_paid, total_unpaid
        ),
    )
