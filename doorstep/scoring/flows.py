"""Scoring's place in the daily run (before the strategy, so rules see today's scores) and the strategy
attributes it supplies: ``score`` (points, in hundredths), ``score_band`` and ``uplift``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from django.utils.translation import gettext_lazy as _

from doorstep.core.audit import Actor
from doorstep.core.bulk import read_frame


def scoring_step(run: Any, actor: Actor) -> dict[str, Any]:
    from doorstep.scoring.services import scores_refresh

    return scores_refresh(actor=actor, business_date=run.business_date)


def _scores(expression: str, dtype: type[pl.DataType]) -> pl.DataFrame:
    return read_frame(
        f"SELECT case_id, {expression} FROM scoring_casescore",  # noqa: S608 - a constant expression
        {"case_id": pl.Int64, "value": dtype},
    )


def score_attribute(_business_date: dt.date) -> pl.DataFrame:
    return _scores("CAST(ROUND(points * 100) AS BIGINT)", pl.Int64)


def score_band_attribute(_business_date: dt.date) -> pl.DataFrame:
    return _scores("band", pl.String)


def uplift_attribute(_business_date: dt.date) -> pl.DataFrame:
    """Visit uplift in percentage points, in hundredths (an uplift of 0.0425 is 4.25 points, stored 425)."""
    return read_frame(
        "SELECT case_id, CAST(ROUND(uplift * 10000) AS BIGINT) FROM scoring_casescore WHERE uplift IS NOT NULL",
        {"case_id": pl.Int64, "value": pl.Int64},
    )


def register() -> None:
    from doorstep.strategy.attributes import register_attribute_provider
    from doorstep.strategy.flows import DailyStep, register_daily_step
    from doorstep.strategy.rules import ATTRIBUTES

    register_daily_step(DailyStep("scoring", _("Scoring"), scoring_step, after=("intake",)))
    register_attribute_provider("score", score_attribute)
    register_attribute_provider("score_band", score_band_attribute)
    if "uplift" in ATTRIBUTES and ATTRIBUTES["uplift"].optional:
        register_attribute_provider("uplift", uplift_attribute)
