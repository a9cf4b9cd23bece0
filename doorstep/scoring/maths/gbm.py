"""The LightGBM challenger. Reason codes come from the model's own per-feature contributions (TreeSHAP,
the values of LightGBM's ``pred_contrib=True``) to the log-odds of paying: the most negative ones lowered
the score most. The values are computed by ``treeshap.TreeExplainer``, which gives the same numbers many
times faster over a whole portfolio; models with categorical splits use LightGBM's routine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Self

import lightgbm
import numpy as np
from numpy.typing import NDArray
from scipy.stats import spearmanr

from doorstep.scoring.maths.interface import (
    DIRECTION_CATEGORY,
    DIRECTION_HIGH,
    DIRECTION_LOW,
    DIRECTION_MISSING,
    Features,
    ModelError,
    Outcome,
    ReasonCodes,
    decode,
    directions_of,
    encode,
    feature_matrix,
    outcome_vector,
    top_negative,
)
from doorstep.scoring.maths.metrics import psi_reference
from doorstep.scoring.maths.treeshap import TreeExplainer, UnsupportedTree


def favourable_sides(matrix: NDArray[np.float64], paid: NDArray[np.int8]) -> list[int]:
    """Per column, +1 where higher values go with paying more often (rank correlation), -1 where lower do."""
    sides = []
    for column in matrix.T:
        present = ~np.isnan(column)
        if present.sum() < 2 or np.ptp(column[present]) == 0:
            sides.append(0)
            continue
        correlation = spearmanr(column[present], paid[present]).statistic
        sides.append(0 if not np.isfinite(correlation) or correlation == 0 else int(np.sign(correlation)))
    return sides

DEFAULT_PARAMETERS: dict[str, Any] = {
    "learning_rate": 0.05,
    "num_leaves": 15,
    "max_depth": 5,
    "min_data_in_leaf": 80,
    "feature_fraction": 0.7,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 10.0,
}


class GradientBoostingModel:
    kind = "lightgbm"

    def __init__(
        self,
        *,
        categorical: Iterable[str] = (),
        exclude: Mapping[str, str] | None = None,
        rounds: int = 300,
        parameters: Mapping[str, Any] | None = None,
        monotone: Mapping[str, int] | None = None,
        threads: int = 2,
        seed: int = 0,
    ) -> None:
        if rounds < 1:
            raise ModelError("at least one boosting round is needed")
        self.categorical = frozenset(categorical)
        self.exclude = dict(exclude or {})
        self.rounds = rounds
        self.parameters = {**DEFAULT_PARAMETERS, **(parameters or {})}
        self.monotone = dict(monotone or {})
        self.threads = threads
        self.seed = seed
        self._feature_names: tuple[str, ...] = ()
        self._used: tuple[str, ...] = ()
        self._booster: lightgbm.Booster | None = None
        self._favourable: list[int] = []
        self._explainer: TreeExplainer | None = None
        self._categorical_splits = False
        self._metadata: dict[str, Any] = {}

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self._feature_names

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self._metadata)

    def _training_parameters(self, used: tuple[str, ...]) -> dict[str, Any]:
        return {
            **self.parameters,
            "objective": "binary",
            "seed": self.seed,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": self.threads,
            "verbosity": -1,
            "monotone_constraints": [int(self.monotone.get(name, 0)) for name in used],
        }

    def fit(self, X: Features, y: Outcome) -> Self:
        matrix, names = feature_matrix(X)
        paid = outcome_vector(y, matrix.shape[0])
        unknown = (self.categorical | set(self.monotone)) - set(names)
        if unknown:
            raise ModelError(f"features not among the columns: {', '.join(sorted(unknown))}")
        used = tuple(name for name in names if name not in self.exclude)
        if not used:
            raise ModelError("every feature is excluded")
        columns = [names.index(name) for name in used]
        dataset = lightgbm.Dataset(
            matrix[:, columns],
            label=paid,
            feature_name=list(used),
            categorical_feature=[name for name in used if name in self.categorical],
            free_raw_data=True,
            params={"verbosity": -1},
        )
        booster = lightgbm.train(self._training_parameters(used), dataset, num_boost_round=self.rounds)
        self._feature_names = names
        self._used = used
        self._booster = booster
        self._explainer = None
        self._categorical_splits = False
        self._favourable = favourable_sides(matrix[:, columns], paid)
        probabilities = self.predict_proba(matrix)
        importance = booster.feature_importance(importance_type="gain")
        self._metadata = {
            "kind": self.kind,
            "target": "paid within the horizon (1) or not (0)",
            "feature_names": list(names),
            "selected": list(used),
            "categorical": sorted(self.categorical),
            "excluded": dict(sorted((k, v) for k, v in self.exclude.items() if k in names)),
            "feature_importance": {name: float(gain) for name, gain in zip(used, importance, strict=True)},
            "training_rows": int(matrix.shape[0]),
            "training_paid_rate": float(paid.mean()),
            "score_reference": psi_reference(probabilities).to_dict(),
            "feature_references": {
                name: psi_reference(matrix[:, names.index(name)][~np.isnan(matrix[:, names.index(name)])]).to_dict()
                for name in used
                if not np.isnan(matrix[:, names.index(name)]).all()
            },
            "parameters": {**self.parameters, "rounds": self.rounds, "seed": self.seed, "monotone": self.monotone},
        }
        return self

    def predict_proba(self, X: Features) -> NDArray[np.float64]:
        booster, matrix = self._ready(X)
        return np.asarray(booster.predict(matrix, num_threads=self.threads), dtype=np.float64)

    def contributions(self, X: Features) -> NDArray[np.float64]:
        """Each feature's contribution to the log-odds of paying (columns in ``feature_names`` order)."""
        booster, matrix = self._ready(X)
        return self._contributions(booster, matrix)

    def _contributions(self, booster: lightgbm.Booster, matrix: NDArray[np.float64]) -> NDArray[np.float64]:
        explainer = self._tree_explainer(booster)
        if explainer is None:
            used = np.asarray(booster.predict(matrix, pred_contrib=True, num_threads=self.threads))[:, :-1]
        else:
            used = explainer.contributions(matrix, threads=self.threads)
        effects = np.zeros((matrix.shape[0], len(self._feature_names)), dtype=np.float64)
        for position, name in enumerate(self._used):
            effects[:, self._feature_names.index(name)] = used[:, position]
        return effects

    def reason_codes(self, X: Features, top: int = 3) -> ReasonCodes:
        booster, matrix = self._ready(X)
        effects = self._contributions(booster, matrix)
        factors, impacts = top_negative(effects, top)
        direction = np.full(effects.shape, DIRECTION_CATEGORY, dtype=np.int8)
        for position, name in enumerate(self._used):
            column = self._feature_names.index(name)
            side = self._favourable[position]
            if name not in self.categorical and side != 0:
                # A value that lowered the score sits on the side that pays less often.
                direction[:, column] = DIRECTION_LOW if side > 0 else DIRECTION_HIGH
            direction[np.isnan(matrix[:, position]), column] = DIRECTION_MISSING
        return ReasonCodes(
            feature_names=self._feature_names,
            factors=factors,
            impacts=impacts,
            directions=directions_of(direction, factors),
            unit="log-odds",
        )

    def _tree_explainer(self, booster: lightgbm.Booster) -> TreeExplainer | None:
        if self._explainer is None and not self._categorical_splits:
            try:
                self._explainer = TreeExplainer(booster.dump_model())
            except UnsupportedTree:
                self._categorical_splits = True
        return self._explainer

    def to_bytes(self) -> bytes:
        if self._booster is None:
            raise ModelError("the model has not been trained")
        payload = {
            "feature_names": list(self._feature_names),
            "used": list(self._used),
            "favourable": self._favourable,
            "booster": self._booster.model_to_string(),
            "settings": {
                "categorical": sorted(self.categorical),
                "exclude": self.exclude,
                "rounds": self.rounds,
                "parameters": self.parameters,
                "monotone": self.monotone,
                "threads": self.threads,
                "seed": self.seed,
            },
        }
        return encode(self.kind, self._metadata, payload)

    @classmethod
    def from_bytes(cls, blob: bytes) -> Self:
        document = decode(blob, cls.kind)
        payload = document["payload"]
        try:
            model = cls(**payload["settings"])
            model._feature_names = tuple(payload["feature_names"])
            model._used = tuple(payload["used"])
            model._favourable = [int(side) for side in payload["favourable"]]
            model._booster = lightgbm.Booster(model_str=payload["booster"])
        except (KeyError, TypeError, lightgbm.basic.LightGBMError) as error:
            raise ModelError("stored LightGBM model is damaged") from error
        if model._booster.num_feature() != len(model._used) or len(model._favourable) != len(model._used) or not set(model._used) <= set(model._feature_names):
            raise ModelError("stored LightGBM model is damaged")
        model._metadata = dict(document["metadata"])
        return model

    def _ready(self, X: Features) -> tuple[lightgbm.Booster, NDArray[np.float64]]:
        if self._booster is None:
            raise ModelError("the model has not been trained")
        matrix, _ = feature_matrix(X, self._feature_names)
        if self._used != self._feature_names:
            matrix = matrix[:, [self._feature_names.index(name) for name in self._used]]
        return self._booster, np.ascontiguousarray(matrix)
