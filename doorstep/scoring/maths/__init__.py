"""The pure mathematics of Doorstep's propensity-to-pay models (no Django here).

Target direction: every model here predicts the probability that a borrower **pays** (or cures) within
the horizon, and is trained on ``outcome = 1`` for "paid" and ``0`` for "did not pay". Public credit data
records *default* instead; it maps as ``paid = 1 - default`` (Taiwan ``Y``: paid = ``1 - Y``; German
credit's last column: 1 good → paid 1, 2 bad → paid 0).
"""

from doorstep.scoring.maths.interface import (
    ModelError,
    PropensityModel,
    ReasonCodes,
    load_model,
)

__all__ = ["ModelError", "PropensityModel", "ReasonCodes", "load_model"]
