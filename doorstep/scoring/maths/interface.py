"""One interface for every propensity model kind, and the plain data that passes through it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Self, runtime_checkable

import numpy as np
import polars as pl
from numpy.typing import NDArray

FORMAT = "doorstep.scoring.model/1"

Features = pl.DataFrame | NDArray[Any]
Outcome = pl.Series | NDArray[Any] | Sequence[int]


class ModelError(ValueError):
    """Bad input to a model: wrong columns, wrong outcome values, an untrained model, a damaged blob."""


# Which way a factor's value lay when it lowered the score, stored as small integers per row.
DIRECTION_LOW = -1
DIRECTION_CATEGORY = 0
DIRECTION_HIGH = 1
DIRECTION_MISSING = 2
DIRECTION_NAMES = {
    DIRECTION_LOW: "low",
    DIRECTION_CATEGORY: "category",
    DIRECTION_HIGH: "high",
    DIRECTION_MISSING: "missing",
}


@dataclass(frozen=True, slots=True)
class Reason:
    factor: str
    # Effect on the score, always negative: scorecard points lost, or log-odds of paying for LightGBM.
    impact: float
    # "high" or "low" (the value is on the unfavourable side), "category" (a code that pays less often)
    # or "missing" (the value is not recorded).
    direction: str


@dataclass(frozen=True, slots=True)
class ReasonCodes:
    """The top factors that lowered each row's score, strongest first.

    ``factors[i, k]`` indexes ``feature_names`` (or is -1 when row ``i`` has fewer than ``k + 1`` factors
    that lowered its score); ``impacts[i, k]`` is that factor's negative effect (0 where there is none);
    ``directions[i, k]`` one of the ``DIRECTION_*`` codes.
    """

    feature_names: tuple[str, ...]
    factors: NDArray[np.int32]
    impacts: NDArray[np.float64]
    directions: NDArray[np.int8]
    unit: str

    def __len__(self) -> int:
        return int(self.factors.shape[0])

    def for_row(self, row: int) -> list[Reason]:
        return [
            Reason(
                factor=self.feature_names[index], impact=float(impact), direction=DIRECTION_NAMES[int(direction)]
            )
            for index, impact, direction in zip(
                self.factors[row], self.impacts[row], self.directions[row], strict=True
            )
            if index >= 0
        ]


@runtime_checkable
class PropensityModel(Protocol):
    kind: str

    @property
    def metadata(self) -> dict[str, Any]: ...

    @property
    def feature_names(self) -> tuple[str, ...]: ...

    def fit(self, X: Features, y: Outcome) -> Self: ...

    def predict_proba(self, X: Features) -> NDArray[np.float64]:
        """Probability of paying within the horizon, one per row."""
        ...

    def reason_codes(self, X: Features, top: int = 3) -> ReasonCodes: ...

    def to_bytes(self) -> bytes: ...

    @classmethod
    def from_bytes(cls, blob: bytes) -> Self: ...


def feature_matrix(X: Features, feature_names: Sequence[str] | None = None) -> tuple[NDArray[np.float64], tuple[str, ...]]:
    """Numbers in the model's column order; nulls become NaN (the models give missing values their own treatment).

    A Polars frame is matched by column name (extra columns are ignored); a numpy array must already be in
    the model's order. Without ``feature_names`` (when fitting) the frame's columns, or ``f0, f1, …``, are used.
    """
    if isinstance(X, pl.DataFrame):
        names = tuple(feature_names) if feature_names is not None else tuple(X.columns)
        missing = [name for name in names if name not in X.columns]
        if missing:
            raise ModelError(f"missing feature columns: {', '.join(missing)}")
        selected = X.select(names)
        not_numeric = [
            name
            for name, dtype in selected.schema.items()
            if not (dtype.is_numeric() or dtype in (pl.Boolean, pl.Null))
        ]
        if not_numeric:
            raise ModelError(f"feature columns must be numeric (encode categories as numbers): {', '.join(not_numeric)}")
        matrix = selected.cast(pl.Float64).to_numpy()
        matrix = np.ascontiguousarray(matrix, dtype=np.float64)
    else:
        matrix = np.asarray(X)
        if matrix.ndim != 2:
            raise ModelError("features must be a two-dimensional table")
        if not (np.issubdtype(matrix.dtype, np.number) or matrix.dtype == bool):
            raise ModelError("features must be numeric (encode categories as numbers)")
        matrix = np.ascontiguousarray(matrix, dtype=np.float64)
        names = tuple(feature_names) if feature_names is not None else tuple(f"f{i}" for i in range(matrix.shape[1]))
        if matrix.shape[1] != len(names):
            raise ModelError(f"expected {len(names)} feature columns, got {matrix.shape[1]}")
    if np.isinf(matrix).any():
        raise ModelError("features hold infinite values")
    return matrix, names


def outcome_vector(y: Outcome, rows: int) -> NDArray[np.int8]:
    values = y.to_numpy() if isinstance(y, pl.Series) else np.asarray(y)
    if values.ndim != 1 or values.size != rows:
        raise ModelError(f"outcome must hold one value per row ({rows})")
    if not np.isin(values, (0, 1)).all():
        raise ModelError("outcome must be 1 (paid within the horizon) or 0 (did not pay)")
    paid = int(values.sum())
    if paid == 0 or paid == rows:
        raise ModelError("training needs both borrowers who paid and borrowers who did not")
    return values.astype(np.int8)


def top_negative(
    effects: NDArray[np.float64], top: int
) -> tuple[NDArray[np.int32], NDArray[np.float64]]:
    """Per row, the ``top`` most negative effects (strongest first); -1 / 0 where fewer are negative."""
    rows, columns = effects.shape
    if top < 1:
        raise ModelError("top must be at least 1")
    k = min(top, columns)
    if k < columns:
        candidates = np.argpartition(effects, k - 1, axis=1)[:, :k]
    else:
        candidates = np.broadcast_to(np.arange(columns), (rows, columns)).copy()
    candidate_effects = np.take_along_axis(effects, candidates, axis=1)
    order = np.argsort(candidate_effects, axis=1, kind="stable")
    factors = np.take_along_axis(candidates, order, axis=1).astype(np.int32)
    impacts = np.take_along_axis(candidate_effects, order, axis=1)
    lowered = impacts < 0
    factors = np.where(lowered, factors, -1).astype(np.int32)
    impacts = np.where(lowered, impacts, 0.0)
    if k < top:
        factors = np.pad(factors, ((0, 0), (0, top - k)), constant_values=-1)
        impacts = np.pad(impacts, ((0, 0), (0, top - k)), constant_values=0.0)
    return factors, impacts


def directions_of(direction_matrix: NDArray[np.int8], factors: NDArray[np.int32]) -> NDArray[np.int8]:
    """Pick each chosen factor's direction code from a ``rows by features`` table of them."""
    picked = np.take_along_axis(direction_matrix, np.maximum(factors, 0), axis=1)
    return np.where(factors >= 0, picked, DIRECTION_CATEGORY).astype(np.int8)


def encode(kind: str, metadata: Mapping[str, Any], payload: Mapping[str, Any]) -> bytes:
    return json.dumps(
        {"format": FORMAT, "kind": kind, "metadata": dict(metadata), "payload": dict(payload)},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    ).encode("utf-8")


def decode(blob: bytes, kind: str | None = None) -> dict[str, Any]:
    try:
        document = json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelError("not a stored Doorstep model") from error
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelError("not a stored Doorstep model, or one of an unknown format")
    if kind is not None and document.get("kind") != kind:
        raise ModelError(f"stored model is a {document.get('kind')!r}, not a {kind!r}")
    return document


def load_model(blob: bytes) -> PropensityModel:
    """Rebuild a stored model of whichever kind it is."""
    from doorstep.scoring.maths.gbm import GradientBoostingModel
    from doorstep.scoring.maths.scorecard import ScorecardModel

    kinds: dict[str, type[PropensityModel]] = {
        ScorecardModel.kind: ScorecardModel,
        GradientBoostingModel.kind: GradientBoostingModel,
    }
    document = decode(blob)
    model_class = kinds.get(document["kind"])
    if model_class is None:
        raise ModelError(f"unknown model kind {document['kind']!r}")
    return model_class.from_bytes(blob)
