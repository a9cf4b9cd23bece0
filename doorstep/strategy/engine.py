"""The columnar strategy step: from the portfolio's attribute frame to one treatment row per case.

Plain Polars over frames; the database reads and writes are in `attributes` and `services`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from doorstep.strategy import rules as r

NO_MATCH = "no rule matched"


def why_text(rules: tuple[r.Rule, ...] | list[r.Rule], rule_key: str, arm: str) -> str:
    """Why a case got its treatment: the arm it is in and the condition of the first rule that was true."""
    rule = next((item for item in rules if item.key == rule_key), None) if rule_key else None
    why = NO_MATCH if rule is None else f"{rule.name}: {r.format_condition(rule.condition)}"
    if arm == r.HOLDOUT:
        return f"[hold-out, no visits] {why}"
    if arm != r.CHAMPION:
        return f"[challenger {arm}] {why}"
    return why


def _rule_table(definition: r.Definition) -> pl.DataFrame:
    rows = []
    for arm in definition.arms():
        for position, rule in enumerate(definition.rules_for(arm)):
            rows.append(
                {
                    "arm": arm,
                    "position": position,
                    "rule_key": rule.key,
                    "path": rule.path_label(),
                }
            )
    schema = {
        "arm": pl.String,
        "position": pl.Int32,
        "rule_key": pl.String,
        "path": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


def path_table(definitions: Mapping[int, r.Definition]) -> pl.DataFrame:
    """The path of every rule of every arm of the given versions, to compare today's decision with the last."""
    rows = [
        {
            "previous_version_id": version_id,
            "previous_arm": arm,
            "previous_rule_key": rule.key,
            "previous_path": rule.path_label(),
        }
        for version_id, definition in definitions.items()
        for arm in definition.arms()
        for rule in definition.rules_for(arm)
    ]
    schema = {
        "previous_version_id": pl.Int64,
        "previous_arm": pl.String,
        "previous_rule_key": pl.String,
        "previous_path": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


def _step_table(definition: r.Definition) -> pl.DataFrame:
    rows = [
        {
            "arm": arm,
            "position": position,
            "next_index": index,
            "next_channel": step.channel,
            "next_priority": step.priority,
        }
        for arm in definition.arms()
        for position, rule in enumerate(definition.rules_for(arm))
        for index, step in enumerate(rule.steps)
    ]
    schema = {
        "arm": pl.String,
        "position": pl.Int32,
        "next_index": pl.Int32,
        "next_channel": pl.String,
        "next_priority": pl.Int16,
    }
    return pl.DataFrame(rows, schema=schema)


PREVIOUS_SCHEMA = {
    "case_id": pl.Int64,
    "previous_version_id": pl.Int64,
    "previous_arm": pl.String,
    "previous_rule_key": pl.String,
    "previous_started_on": pl.Date,
}

TREATMENT_COLUMNS = [
    "case_id",
    "business_date",
    "version_id",
    "arm",
    "rule_key",
    "started_on",
    "next_step",
    "next_channel",
    "next_priority",
    "next_due_on",
]


def treatments(
    *,
    definition: r.Definition,
    version_id: int,
    cases: pl.DataFrame,
    previous: pl.DataFrame,
    previous_paths: pl.DataFrame,
    business_date: dt.date,
) -> pl.DataFrame:
    """One row per case, with the columns of the CaseTreatment table.

    A case stays in its treatment (and its path's clock keeps running) while it keeps the same arm,
    rule and path as on the previous run; otherwise it starts the path today.
    """
    decided = r.decide_frame(definition, cases).select("case_id", "arm", "position", "overdue_amount")
    decided = decided.join(_rule_table(definition), on=["arm", "position"], how="left")
    previous = previous.join(
        previous_paths, on=["previous_version_id", "previous_arm", "previous_rule_key"], how="left"
    )
    decided = decided.join(previous, on="case_id", how="left")
    same_treatment = (
        pl.col("position").is_not_null()
        & (pl.col("previous_arm") == pl.col("arm"))
        & (pl.col("previous_rule_key") == pl.col("rule_key"))
        & (pl.col("previous_path") == pl.col("path"))
    ).fill_null(False)
    today = pl.lit(business_date, dtype=pl.Date)
    decided = decided.with_columns(
        pl.when(same_treatment).then(pl.col("previous_started_on")).otherwise(today).alias("started_on")
    ).with_columns((today - pl.col("started_on")).dt.total_days().cast(pl.Int32).alias("days_in_treatment"))
    scheduled = r.schedule_frame(definition, decided, "days_in_treatment")
    scheduled = scheduled.join(_step_table(definition), on=["arm", "position", "next_index"], how="left")
    return scheduled.with_columns(
        pl.lit(business_date, dtype=pl.Date).alias("business_date"),
        pl.lit(version_id, dtype=pl.Int64).alias("version_id"),
        pl.col("rule_key").fill_null(""),
        pl.col("next_index").cast(pl.Int16).alias("next_step"),
        pl.col("next_channel").fill_null(""),
        (pl.col("started_on") + pl.duration(days=pl.col("next_day"))).alias("next_due_on"),
    ).select(TREATMENT_COLUMNS)


@dataclass(frozen=True)
class RuleCount:
    arm: str
    position: int | None
    rule_key: str
    rule_name: str
    cases: int
    overdue_fen: int


def rule_counts(definition: r.Definition, cases: pl.DataFrame) -> list[RuleCount]:
    """How many cases and how much overdue money each rule of each arm takes (no rule: position None)."""
    decided = r.decide_frame(definition, cases)
    grouped = (
        decided.group_by("arm", "position")
        .agg(pl.len().alias("cases"), pl.col("overdue_amount").sum().alias("overdue_fen"))
        .join(_rule_table(definition), on=["arm", "position"], how="left")
    )
    counts = {(row["arm"], row["position"]): row for row in grouped.iter_rows(named=True)}
    result = []
    for arm in definition.arms():
        for position, rule in enumerate(definition.rules_for(arm)):
            row: dict[str, Any] = counts.get((arm, position), {})
            result.append(
                RuleCount(
                    arm, position, rule.key, rule.name, row.get("cases", 0), row.get("overdue_fen") or 0
                )
            )
        row = counts.get((arm, None), {})
        if row:
            result.append(RuleCount(arm, None, "", "", row["cases"], row.get("overdue_fen") or 0))
    return result


def changed_decisions(definition: r.Definition, cases: pl.DataFrame, actual: pl.DataFrame) -> int:
    """How many cases a draft would put under a different rule (or arm) than they actually got."""
    decided = r.decide_frame(definition, cases).join(
        _rule_table(definition), on=["arm", "position"], how="left"
    )
    decided = decided.select("case_id", pl.col("arm"), pl.col("rule_key").fill_null(""))
    compared = decided.join(actual, on="case_id", how="full", suffix="_actual", coalesce=True)
    different = (pl.col("rule_key") != pl.col("rule_key_actual")) | (pl.col("arm") != pl.col("arm_actual"))
    return int(compared.filter(different.fill_null(True)).height)
