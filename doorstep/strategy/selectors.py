"""Reads of the strategy domain: versions, previews, what-if, treatments, scripts and experiment results."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import get_language

from doorstep.core.bulk import read_frame
from doorstep.core.money import from_fen
from doorstep.portfolio import selectors as portfolio_selectors
from doorstep.portfolio.models import CaseStatus
from doorstep.strategy import attributes, engine
from doorstep.strategy import rules as r
from doorstep.strategy.models import CaseTreatment, DailyRun, Script, StrategyVersion

User = AbstractBaseUser | AnonymousUser


def _require(user: User, permission: str) -> None:
    if not user.has_perm(permission):  # type: ignore[union-attr]
        raise PermissionDenied


def version_list(*, user: User) -> QuerySet[StrategyVersion]:
    _require(user, "strategy.view_strategy")
    return StrategyVersion.objects.select_related(
        "strategy", "created_by", "submitted_by", "approved_by"
    ).order_by("strategy__name", "-number")


def version_get(*, user: User, version_id: int) -> StrategyVersion:
    version = version_list(user=user).filter(pk=version_id).first()
    if version is None:
        raise Http404("no such version")
    return version


@dataclass(frozen=True)
class RulePreview:
    arm: str
    position: int | None
    key: str
    name: str
    cases: int
    overdue: Decimal
    share: float


@dataclass(frozen=True)
class Preview:
    business_date: dt.date
    source: str  # "live": today's portfolio; "saved": the attributes a past daily run decided on
    total_cases: int
    rows: list[RulePreview]
    changed: int | None  # against the decisions actually taken that day (what-if only)


def _preview(definition: r.Definition, cases: pl.DataFrame, business_date: dt.date, source: str) -> Preview:
    counts = engine.rule_counts(definition, cases)
    total = cases.height
    rows = [
        RulePreview(
            count.arm,
            count.position,
            count.rule_key,
            count.rule_name,
            count.cases,
            from_fen(count.overdue_fen),
            (count.cases / total) if total else 0.0,
        )
        for count in counts
    ]
    return Preview(business_date, source, total, rows, None)


def version_preview(*, user: User, version: StrategyVersion, business_date: dt.date | None = None) -> Preview:
    """How many cases and how much money each rule takes: today (live) or on a past run's date (what-if).

    Nothing is written: the what-if mode reads the attributes saved by that day's run.
    """
    _require(user, "strategy.view_strategy")
    from doorstep.strategy.services import definition_of

    definition = definition_of(version)
    if business_date is None:
        today = timezone.localdate()
        return _preview(definition, attributes.case_frame(today), today, "live")
    cases = attributes.load_saved_frame(business_date)
    if cases is None:
        raise Http404("no daily run kept the attributes of that date")
    preview = _preview(definition, cases, business_date, "saved")
    actual = read_frame(
        "SELECT case_id, arm, rule_key FROM strategy_casetreatment "  # noqa: S608 - only constants, dates and integers go into this SQL
        f"WHERE business_date = '{business_date.isoformat()}'",
        {"case_id": pl.Int64, "arm": pl.String, "rule_key": pl.String},
    )
    changed = engine.changed_decisions(definition, cases, actual) if actual.height else None
    return Preview(preview.business_date, preview.source, preview.total_cases, preview.rows, changed)


def saved_dates() -> list[dt.date]:
    directory = attributes.frames_directory()
    if not directory.exists():
        return []
    dates = []
    for path in directory.glob("cases-*.parquet"):
        try:
            dates.append(dt.date.fromisoformat(path.stem.removeprefix("cases-")))
        except ValueError:
            continue
    return sorted(dates, reverse=True)


def version_findings(version: StrategyVersion) -> list[r.Finding]:
    from doorstep.strategy.services import definition_of

    definition = definition_of(version)
    return r.validate(definition.rules, provided=attributes.provided_attributes())


def case_treatment_current(*, user: User, case_id: int) -> CaseTreatment | None:
    """The case's decision in the latest strategy run, for a case the user may see (404 otherwise)."""
    case = portfolio_selectors.case_get(user=user, case_id=case_id)
    latest = latest_run_date()
    if latest is None:
        return None
    return (
        CaseTreatment.objects.select_related("version__strategy")
        .filter(business_date=latest, case=case)
        .first()
    )


def latest_run_date() -> dt.date | None:
    """The business date of the latest strategy decisions (read backwards along the table's key)."""
    return CaseTreatment.objects.order_by("-business_date").values_list("business_date", flat=True).first()


SCRIPT_SECTIONS = ("opening", "purpose", "questions", "options", "never_say")


@dataclass(frozen=True)
class ScriptText:
    code: str
    channel: str
    title: str
    sections: list[tuple[str, str]]  # (section code, text) in conversation order


def script_text(*, code: str, language: str | None = None) -> ScriptText | None:
    """A script in the reader's language (zh-Hans unless English is asked for), for visit briefs and calls."""
    script = Script.objects.filter(code=code, is_active=True).first()
    if script is None:
        return None
    suffix = "en" if (language or get_language() or "zh-hans").startswith("en") else "zh"
    return ScriptText(
        code=script.code,
        channel=script.channel,
        title=getattr(script, f"title_{suffix}"),
        sections=[(section, getattr(script, f"{section}_{suffix}")) for section in SCRIPT_SECTIONS],
    )


def script_for_case(*, user: User, case_id: int, language: str | None = None) -> ScriptText | None:
    """The script of the next step the strategy set for a case the user may see."""
    treatment = case_treatment_current(user=user, case_id=case_id)
    if treatment is None or not treatment.next_script:
        return None
    return script_text(code=treatment.next_script, language=language)


def script_list(*, user: User) -> QuerySet[Script]:
    _require(user, "strategy.view_script")
    return Script.objects.filter(is_active=True)


def daily_run_list(*, user: User) -> QuerySet[DailyRun]:
    _require(user, "strategy.view_dailyrun")
    return DailyRun.objects.prefetch_related("steps")


# --- experiment results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    code: str
    estimate: float | None
    low: float | None
    high: float | None
    numerator: int | Decimal | None = None
    denominator: int | Decimal | None = None
    has_data: bool = True


@dataclass(frozen=True)
class ArmResult:
    arm: str
    cases: int
    metrics: dict[str, Metric]


@dataclass(frozen=True)
class Comparison:
    arm: str
    metric: str
    difference: float
    low: float
    high: float
    significant: bool


@dataclass(frozen=True)
class ExperimentResults:
    version: StrategyVersion
    test_id: str
    arms: list[ArmResult]
    comparisons: list[Comparison]
    first_day: dt.date | None
    last_day: dt.date | None


METRICS = ("recovery_rate", "cure_rate", "promise_kept_rate", "cost_per_yuan", "complaints")


def experiment_results(*, user: User, version: StrategyVersion) -> ExperimentResults:
    """Every case the version treated, by arm (its first arm), with recovery and cure measured from the portfolio.

    Recovery is the fall in overdue money since the case entered collection (all of it for a cured case);
    promise-kept, cost and complaints are reported as "no data" until those domains record them.
    """
    _require(user, "strategy.view_strategy")
    experiment = (version.definition or {}).get("experiment") or {}
    frame = read_frame(
        "SELECT t.case_id, t.arm, t.business_date, c.status, "  # noqa: S608 - only constants, dates and integers go into this SQL
        "CAST(ROUND(c.entry_overdue_total * 100) AS BIGINT), CAST(ROUND(c.overdue_total * 100) AS BIGINT) "
        "FROM strategy_casetreatment t JOIN portfolio_case c ON c.id = t.case_id "
        f"WHERE t.version_id = {int(version.pk)}",
        {
            "case_id": pl.Int64,
            "arm": pl.String,
            "business_date": pl.Date,
            "status": pl.String,
            "entry_fen": pl.Int64,
            "overdue_fen": pl.Int64,
        },
    )
    first_day = frame["business_date"].min() if frame.height else None
    last_day = frame["business_date"].max() if frame.height else None
    per_case = (
        frame.sort(["case_id", "business_date"])
        .unique(subset="case_id", keep="first", maintain_order=True)
        .with_columns(
            (pl.col("status") == CaseStatus.CURED.value).alias("cured"),
            pl.when(pl.col("status") == CaseStatus.CURED.value)
            .then(pl.col("entry_fen"))
            .otherwise((pl.col("entry_fen") - pl.col("overdue_fen")).clip(lower_bound=0))
            .alias("recovered_fen"),
        )
    )
    order = ["champion", *[item["key"] for item in experiment.get("challengers", [])], "holdout"]
    seen = per_case["arm"].unique().to_list()
    arms = [arm for arm in order if arm in seen] + sorted(set(seen) - set(order))
    results: list[ArmResult] = []
    raw: dict[str, dict[str, Any]] = {}
    for arm in arms:
        part = per_case.filter(pl.col("arm") == arm)
        cases = part.height
        cured = int(part["cured"].sum())
        recovered = part["recovered_fen"].to_list()
        entry = part["entry_fen"].to_list()
        cure = r.wilson(cured, cases)
        recovery = r.ratio_interval(recovered, entry)
        raw[arm] = {"cured": cured, "cases": cases, "recovered": recovered, "entry": entry}
        metrics = {
            "recovery_rate": Metric(
                "recovery_rate",
                recovery.estimate if recovery else None,
                recovery.low if recovery else None,
                recovery.high if recovery else None,
                from_fen(sum(recovered)),
                from_fen(sum(entry)),
                recovery is not None,
            ),
            "cure_rate": Metric(
                "cure_rate",
                cure.estimate if cure else None,
                cure.low if cure else None,
                cure.high if cure else None,
                cured,
                cases,
                cure is not None,
            ),
            "promise_kept_rate": Metric("promise_kept_rate", None, None, None, has_data=False),
            "cost_per_yuan": Metric("cost_per_yuan", None, None, None, has_data=False),
            "complaints": Metric("complaints", None, None, None, has_data=False),
        }
        results.append(ArmResult(arm, cases, metrics))
    comparisons: list[Comparison] = []
    if "champion" in raw:
        base = raw["champion"]
        for arm in arms:
            if arm == "champion":
                continue
            other = raw[arm]
            cure_difference = r.difference_of_proportions(
                other["cured"], other["cases"], base["cured"], base["cases"]
            )
            if cure_difference is not None:
                comparisons.append(
                    Comparison(
                        arm,
                        "cure_rate",
                        cure_difference.estimate,
                        cure_difference.low,
                        cure_difference.high,
                        r.is_significant(cure_difference),
                    )
                )
            a = r.ratio_interval(other["recovered"], other["entry"])
            b = r.ratio_interval(base["recovered"], base["entry"])
            if a is not None and b is not None:
                # Independent arms: the variances of the two ratios add.
                half_a, half_b = (a.high - a.low) / 2, (b.high - b.low) / 2
                half = (half_a**2 + half_b**2) ** 0.5
                difference = a.estimate - b.estimate
                comparisons.append(
                    Comparison(
                        arm,
                        "recovery_rate",
                        difference,
                        difference - half,
                        difference + half,
                        r.is_significant(r.Interval(difference, difference - half, difference + half)),
                    )
                )
    return ExperimentResults(
        version, str(experiment.get("test_id", "")), results, comparisons, first_day, last_day
    )
