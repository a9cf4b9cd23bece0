"""The scorecard: monotone optimal binning, weight of evidence, logistic regression, points per attribute.

Points follow the usual scaling: ``base_points`` at odds of paying ``base_odds`` to 1, and every
``points_to_double_odds`` more points double those odds. A borrower's reason codes are the features where
their attribute earns the fewest points compared with the best attribute of that feature.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression

from doorstep.scoring.maths.binning import BinningSettings, FeatureBinning, fit_binning
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

EXCLUDED_LOW_INFORMATION = "low information value"
EXCLUDED_REVERSED = "weight reversed in the regression (overlaps other features)"


class ScorecardModel:
    kind = "scorecard"

    def __init__(
        self,
        *,
        categorical: Iterable[str] = (),
        exclude: Mapping[str, str] | None = None,
        max_bins: int = 8,
        min_bin_share: float = 0.05,
        min_information_value: float = 0.02,
        regularisation: float = 1.0,
        base_points: float = 600.0,
        base_odds: float = 50.0,
        points_to_double_odds: float = 20.0,
        seed: int = 0,
    ) -> None:
        if base_odds <= 0 or points_to_double_odds <= 0:
            raise ModelError("base odds and points to double the odds must be positive")
        self.categorical = frozenset(categorical)
        self.exclude = dict(exclude or {})
        self.settings = BinningSettings(max_bins=max_bins, min_bin_share=min_bin_share, seed=seed)
        self.min_information_value = min_information_value
        self.regularisation = regularisation
        self.base_points = base_points
        self.base_odds = base_odds
        self.points_to_double_odds = points_to_double_odds
        self.seed = seed
        self._feature_names: tuple[str, ...] = ()
        self._binnings: dict[str, FeatureBinning] = {}
        self._coefficients: dict[str, float] = {}
        self._intercept = 0.0
        self._metadata: dict[str, Any] = {}

    # --- scaling -------------------------------------------------------------------------------------

    @property
    def _factor(self) -> float:
        return self.points_to_double_odds / math.log(2)

    @property
    def _offset(self) -> float:
        return self.base_points - self._factor * math.log(self.base_odds)

    # --- the interface -------------------------------------------------------------------------------

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self._feature_names

    @property
    def selected(self) -> tuple[str, ...]:
        return tuple(self._coefficients)

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self._metadata)

    def fit(self, X: Features, y: Outcome) -> Self:
        matrix, names = feature_matrix(X)
        paid = outcome_vector(y, matrix.shape[0])
        unknown = self.categorical - set(names)
        if unknown:
            raise ModelError(f"categorical features not among the columns: {', '.join(sorted(unknown))}")
        excluded = {name: reason for name, reason in self.exclude.items() if name in names}
        binnings = {}
        for column, name in enumerate(names):
            if name in excluded:
                continue
            binning = fit_binning(
                name, matrix[:, column], paid, categorical=name in self.categorical, settings=self.settings
            )
            if binning.information_value < self.min_information_value:
                excluded[name] = EXCLUDED_LOW_INFORMATION
                continue
            binnings[name] = binning
        if not binnings:
            raise ModelError("no feature carries enough information to build a scorecard")

        columns = {name: column for column, name in enumerate(names)}
        chosen = list(binnings)
        while True:
            evidence = np.column_stack(
                [self._woe_column(binnings[name], matrix[:, columns[name]]) for name in chosen]
            )
            regression = LogisticRegression(C=self.regularisation, max_iter=2000, random_state=self.seed)
            regression.fit(evidence, paid)
            weights = regression.coef_[0]
            reversed_ = [name for name, w in zip(chosen, weights, strict=True) if w <= 0]
            if not reversed_ or len(reversed_) == len(chosen):
                break
            # Drop the most reversed feature only; the others may recover once it is gone.
            worst = chosen[int(np.argmin(weights))]
            excluded[worst] = EXCLUDED_REVERSED
            chosen.remove(worst)

        self._feature_names = names
        self._binnings = {name: binnings[name] for name in chosen}
        self._coefficients = {name: float(w) for name, w in zip(chosen, weights, strict=True)}
        self._intercept = float(regression.intercept_[0])
        probabilities = self.predict_proba(matrix)
        self._metadata = {
            "kind": self.kind,
            "target": "paid within the horizon (1) or not (0)",
            "feature_names": list(names),
            "selected": list(chosen),
            "categorical": sorted(self.categorical & set(names)),
            "excluded": dict(sorted(excluded.items())),
            "information_values": {name: b.information_value for name, b in binnings.items()},
            "training_rows": int(matrix.shape[0]),
            "training_paid_rate": float(paid.mean()),
            "score_reference": psi_reference(probabilities).to_dict(),
            "feature_references": {
                name: psi_reference(matrix[:, columns[name]][~np.isnan(matrix[:, columns[name]])]).to_dict()
                for name in chosen
                if not np.isnan(matrix[:, columns[name]]).all()
            },
            "parameters": {
                "max_bins": self.settings.max_bins,
                "min_bin_share": self.settings.min_bin_share,
                "min_information_value": self.min_information_value,
                "regularisation": self.regularisation,
                "base_points": self.base_points,
                "base_odds": self.base_odds,
                "points_to_double_odds": self.points_to_double_odds,
                "seed": self.seed,
            },
        }
        return self

    def predict_proba(self, X: Features) -> NDArray[np.float64]:
        log_odds = self._log_odds(self._matrix(X))
        return 1.0 / (1.0 + np.exp(-log_odds))

    def score_points(self, X: Features) -> NDArray[np.float64]:
        """Total scorecard points per row (unrounded; show them rounded)."""
        return self._offset + self._factor * self._log_odds(self._matrix(X))

    def points(self, X: Features) -> NDArray[np.float64]:
        """Points each selected feature earns per row, columns in ``selected`` order."""
        matrix = self._matrix(X)
        return np.column_stack([self._points_column(name, matrix) for name in self._coefficients])

    def reason_codes(self, X: Features, top: int = 3) -> ReasonCodes:
        """The features whose attribute earned the fewest points against that feature's best attribute."""
        matrix = self._matrix(X)
        lost = np.zeros(matrix.shape, dtype=np.float64)
        direction = np.full(matrix.shape, DIRECTION_CATEGORY, dtype=np.int8)
        for name in self._coefficients:
            binning = self._binnings[name]
            table = self._points_table(name)
            column = self._feature_names.index(name)
            bins = binning.bin_index(matrix[:, column])
            lost[:, column] = table[bins] - table.max()
            if not binning.categorical:
                best_regular = int(np.argmax(table[: binning.missing_bin]))
                direction[:, column] = np.where(bins < best_regular, DIRECTION_LOW, DIRECTION_HIGH)
            direction[bins == binning.missing_bin, column] = DIRECTION_MISSING
        factors, impacts = top_negative(lost, top)
        return ReasonCodes(
            feature_names=self._feature_names,
            factors=factors,
            impacts=impacts,
            directions=directions_of(direction, factors),
            unit="points",
        )

    def attribute_table(self) -> list[dict[str, Any]]:
        """The scorecard as a table: one row per feature and bin, with its points."""
        rows = []
        for name, binning in self._binnings.items():
            table = self._points_table(name)
            for position, label in enumerate(binning.labels()):
                rows.append(
                    {
                        "feature": name,
                        "bin": label,
                        "rows": binning.rows[position],
                        "paid": binning.paid[position],
                        "woe": binning.woe[position],
                        "points": float(table[position]),
                    }
                )
        return rows

    def binning(self, name: str) -> FeatureBinning:
        return self._binnings[name]

    def to_bytes(self) -> bytes:
        self._require_fitted()
        payload = {
            "feature_names": list(self._feature_names),
            "binnings": [b.to_dict() for b in self._binnings.values()],
            "coefficients": self._coefficients,
            "intercept": self._intercept,
            "categorical": sorted(self.categorical),
            "exclude": self.exclude,
            "settings": {
                "max_bins": self.settings.max_bins,
                "min_bin_share": self.settings.min_bin_share,
                "min_information_value": self.min_information_value,
                "regularisation": self.regularisation,
                "base_points": self.base_points,
                "base_odds": self.base_odds,
                "points_to_double_odds": self.points_to_double_odds,
                "seed": self.seed,
            },
        }
        return encode(self.kind, self._metadata, payload)

    @classmethod
    def from_bytes(cls, blob: bytes) -> Self:
        document = decode(blob, cls.kind)
        payload = document["payload"]
        try:
            model = cls(categorical=payload["categorical"], exclude=payload["exclude"], **payload["settings"])
            model._feature_names = tuple(payload["feature_names"])
            model._binnings = {b["name"]: FeatureBinning.from_dict(b) for b in payload["binnings"]}
            model._coefficients = {name: float(w) for name, w in payload["coefficients"].items()}
            model._intercept = float(payload["intercept"])
        except (KeyError, TypeError, ValueError) as error:
            raise ModelError("stored scorecard is damaged") from error
        if set(model._coefficients) != set(model._binnings) or not set(model._binnings) <= set(model._feature_names):
            raise ModelError("stored scorecard is damaged")
        model._metadata = dict(document["metadata"])
        return model

    # --- internals -----------------------------------------------------------------------------------

    def _require_fitted(self) -> None:
        if not self._coefficients:
            raise ModelError("the scorecard has not been trained")

    def _matrix(self, X: Features) -> NDArray[np.float64]:
        self._require_fitted()
        matrix, _ = feature_matrix(X, self._feature_names)
        return matrix

    @staticmethod
    def _woe_column(binning: FeatureBinning, values: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(binning.woe)[binning.bin_index(values)]

    def _log_odds(self, matrix: NDArray[np.float64]) -> NDArray[np.float64]:
        total = np.full(matrix.shape[0], self._intercept)
        for name, weight in self._coefficients.items():
            column = self._feature_names.index(name)
            total += weight * self._woe_column(self._binnings[name], matrix[:, column])
        return total

    def _points_table(self, name: str) -> NDArray[np.float64]:
        share_of_base = (self._offset + self._factor * self._intercept) / len(self._coefficients)
        return share_of_base + self._factor * self._coefficients[name] * np.asarray(self._binnings[name].woe)

    def _points_column(self, name: str, matrix: NDArray[np.float64]) -> NDArray[np.float64]:
        column = self._feature_names.index(name)
        return self._points_table(name)[self._binnings[name].bin_index(matrix[:, column])]
