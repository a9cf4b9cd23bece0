"""Small synthetic portfolios whose payment behaviour is known, for the scoring tests."""

from __future__ import annotations

import numpy as np
import polars as pl

FEATURES = ("days_past_due", "paid_share_90d", "promises_broken_90d", "outstanding_principal")


def synthetic_cases(rows: int = 3000, seed: int = 7) -> tuple[pl.DataFrame, np.ndarray]:
    """Cases where paying gets less likely with days past due and broken promises, more with past payments.

    Outstanding principal plays no part in paying: it is there to be found useless.
    """
    rng = np.random.default_rng(seed)
    days_past_due = rng.integers(1, 181, rows)
    paid_share = rng.uniform(0, 1, rows).round(2)
    broken = rng.poisson(1.0, rows)
    principal = rng.uniform(5_000, 200_000, rows).round(0)
    log_odds = 1.2 - 0.025 * days_past_due + 3.0 * paid_share - 0.7 * broken
    paid = (rng.uniform(0, 1, rows) < 1 / (1 + np.exp(-log_odds))).astype(np.int8)
    frame = pl.DataFrame(
        {
            "days_past_due": days_past_due,
            "paid_share_90d": paid_share,
            "promises_broken_90d": broken,
            "outstanding_principal": principal,
        }
    )
    return frame, paid


def borrower(**overrides: float) -> pl.DataFrame:
    """A borrower on the good side of every factor, with the given facts changed."""
    facts = {"days_past_due": 3.0, "paid_share_90d": 0.95, "promises_broken_90d": 0.0, "outstanding_principal": 50_000.0}
    facts.update(overrides)
    return pl.DataFrame({name: [float(value)] for name, value in facts.items()})
