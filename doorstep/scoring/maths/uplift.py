"""Visit uplift: how much a field visit raises the chance of paying, per case, and its Qini evaluation.

A two-model learner on LightGBM: one model on visited cases, one on the randomised no-visit hold-out;
the uplift of a case is the difference of their probabilities. Trained only on cases the rule made
eligible for a visit, where the hold-out was drawn at random, so the difference is causal there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray

from doorstep.scoring.maths.gbm import GradientBoostingModel
from doorstep.scoring.maths.interface import Features, ModelError, Outcome, decode, encode, feature_matrix

UPLIFT_PARAMETERS = {"num_leaves": 7, "max_depth": 3, "min_data_in_leaf": 60, "learning_rate": 0.07}


class TwoModelUplift:
    kind = "uplift"

    def __init__(
        self,
        *,
        categorical: Iterable[str] = (),
        exclude: Mapping[str, str] | None = None,
        rounds: int = 100,
        seed: int = 0,
        threads: int = 2,
    ) -> None:
        self.categorical = tuple(categorical)
        self.exclude = dict(exclude or {})
        self.rounds = rounds
        self.seed = seed
        self.threads = threads
        self.treated: GradientBoostingModel | None = None
        self.control: GradientBoostingModel | None = None
        self._metadata: dict[str, Any] = {}

    def _model(self) -> GradientBoostingModel:
        return GradientBoostingModel(
            categorical=self.categorical,
            exclude=self.exclude,
            rounds=self.rounds,
            parameters=UPLIFT_PARAMETERS,
            seed=self.seed,
            threads=self.threads,
        )

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.treated.feature_names if self.treated is not None else ()

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self._metadata)

    def fit(self, X: Features, y: Outcome, treated: ArrayLike) -> Self:
        matrix, names = feature_matrix(X)
        outcome = np.asarray(y)
        visited = np.asarray(treated).astype(bool)
        if visited.size != matrix.shape[0] or outcome.size != matrix.shape[0]:
            raise ModelError("outcome and treatment need one value per row")
        if visited.sum() < 50 or (~visited).sum() < 50:
            raise ModelError("uplift needs at least 50 visited and 50 held-out cases")
        frame = pl.DataFrame(matrix, schema=list(names), orient="row")
        self.treated = self._model().fit(frame.filter(visited), outcome[visited])
        self.control = self._model().fit(frame.filter(~visited), outcome[~visited])
        self._metadata = {
            "kind": self.kind,
            "feature_names": list(names),
            "excluded": dict(sorted((k, v) for k, v in self.exclude.items() if k in names)),
            "training_rows": int(matrix.shape[0]),
            "treated_rows": int(visited.sum()),
            "control_rows": int((~visited).sum()),
            "treated_paid_rate": float(outcome[visited].mean()),
            "control_paid_rate": float(outcome[~visited].mean()),
        }
        return self

    def predict_uplift(self, X: Features) -> NDArray[np.float64]:
        if self.treated is None or self.control is None:
            raise ModelError("the model has not been trained")
        return self.treated.predict_proba(X) - self.control.predict_proba(X)

    def to_bytes(self) -> bytes:
        if self.treated is None or self.control is None:
            raise ModelError("the model has not been trained")
        payload = {
            "treated": self.treated.to_bytes().decode("utf-8"),
            "control": self.control.to_bytes().decode("utf-8"),
            "settings": {
                "categorical": list(self.categorical),
                "exclude": self.exclude,
                "rounds": self.rounds,
                "seed": self.seed,
                "threads": self.threads,
            },
        }
        return encode(self.kind, self._metadata, payload)

    @classmethod
    def from_bytes(cls, blob: bytes) -> Self:
        document = decode(blob, cls.kind)
        payload = document["payload"]
        try:
            model = cls(**payload["settings"])
            model.treated = GradientBoostingModel.from_bytes(payload["treated"].encode("utf-8"))
            model.control = GradientBoostingModel.from_bytes(payload["control"].encode("utf-8"))
        except (KeyError, TypeError) as error:
            raise ModelError("stored uplift model is damaged") from error
        model._metadata = dict(document["metadata"])
        return model


@dataclass(frozen=True, slots=True)
class QiniCurve:
    """Cumulative incremental payers when cases are visited in the order of predicted uplift.

    ``shares[k]`` is the share of the population targeted, ``gains[k]`` the incremental payers (per case
    of the population) at that point, ``random[k]`` the same for random targeting.
    """

    shares: tuple[float, ...]
    gains: tuple[float, ...]
    random: tuple[float, ...]
    coefficient: float


def qini_curve(outcome: ArrayLike, treated: ArrayLike, uplift: ArrayLike, points: int = 20) -> QiniCurve:
    """The Qini curve and coefficient (area between the curve and random targeting, per case)."""
    y = np.asarray(outcome, dtype=np.float64)
    t = np.asarray(treated).astype(bool)
    u = np.asarray(uplift, dtype=np.float64)
    if not (y.shape == t.shape == u.shape) or y.ndim != 1:
        raise ModelError("outcome, treatment and uplift must be one-dimensional and of the same length")
    if t.sum() == 0 or (~t).sum() == 0:
        raise ModelError("the Qini curve needs treated and control cases")
    order = np.argsort(-u, kind="stable")
    y, t = y[order], t[order]
    n = y.size
    treated_paid = np.cumsum(y * t)
    control_paid = np.cumsum(y * ~t)
    treated_count = np.cumsum(t)
    control_count = np.cumsum(~t)
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = treated_paid - control_paid * np.where(control_count > 0, treated_count / control_count, 0.0)
    gain = gain / n
    total = gain[-1]
    cut = np.unique(np.linspace(0, n - 1, points + 1).round().astype(int))
    shares = (cut + 1) / n
    curve = np.r_[0.0, gain[cut]]
    random_line = np.r_[0.0, total * shares]
    shares = np.r_[0.0, shares]
    full_shares = np.arange(1, n + 1) / n
    coefficient = float(np.trapezoid(gain - total * full_shares, full_shares))
    return QiniCurve(
        shares=tuple(shares.tolist()),
        gains=tuple(curve.tolist()),
        random=tuple(random_line.tolist()),
        coefficient=coefficient,
    )
