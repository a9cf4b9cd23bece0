"""Uplift-targeted against rule-targeted field visits at the same capacity, in the simulated portfolio.

    .venv/bin/python bench/uplift.py --repeats 20

For each repeat (a new seed): simulate the history, train the two-model LightGBM uplift learner on the
visit-eligible cases of every month but the last three (visited against the randomised hold-out), then give
the last three months' eligible cases (bucket M2 and later) a visit capacity of half of them, two ways:
  * rule: the largest overdue amounts first (the usual field rule);
  * uplift: the largest expected extra recovery first (predicted uplift times the overdue amount).
Both are valued with the simulation's true chances of paying with and without a visit, so the figures
are expectations, not one draw. Printed: recovered amount per visit (the recovery the visits add, over
the visits made), and total recovery of the pool, with 95% intervals over the repeats. The rule is the
baseline measured in the same run. No database is needed (`--database` is accepted for symmetry).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from doorstep.scoring import features as F  # noqa: E402
from doorstep.scoring.maths.uplift import TwoModelUplift, qini_curve  # noqa: E402
from doorstep.scoring.simulation import SimulationSettings, simulate  # noqa: E402

# Share of the overdue amount a payer pays on average (full 65% of the time, else 30-70%).
PAID_SHARE = 0.65 + 0.35 * 0.5


def one_repeat(seed: int, accounts: int, months: int, capacity_share: float) -> dict[str, float]:
    history = simulate(SimulationSettings(accounts=accounts, months=months, seed=seed))
    cases, events = F.history_panel(history)
    panel = F.feature_panel(cases, events).join(
        cases.select("case_id", "as_of", "paid_30d", "visit_eligible", "visited", "held_out", "p_visit", "p_no_visit"),
        on=["case_id", "as_of"],
    )
    months_seen = panel["as_of"].unique().sort()
    first_evaluated = months_seen[-3]
    eligible = panel.filter(pl.col("visit_eligible"))
    train = eligible.filter(pl.col("as_of") < first_evaluated)
    pool = eligible.filter(pl.col("as_of") >= first_evaluated)
    model = TwoModelUplift(categorical=F.CATEGORICAL, exclude=F.EXCLUDED, seed=seed).fit(
        train.select(F.FEATURES), train["paid_30d"], train["visited"]
    )
    predicted = model.predict_uplift(pool.select(F.FEATURES))
    amount = pool["overdue_total"].to_numpy() * PAID_SHARE  # yuan
    p_visit, p_none = pool["p_visit"].to_numpy(), pool["p_no_visit"].to_numpy()
    capacity = round(capacity_share * pool.height)

    def recovery(chosen: np.ndarray) -> tuple[float, float]:
        visited = np.zeros(pool.height, dtype=bool)
        visited[chosen] = True
        total = float(np.sum(np.where(visited, p_visit, p_none) * amount))
        extra = float(np.sum((p_visit - p_none)[visited] * amount[visited]))
        return total, extra

    rule_total, rule_extra = recovery(np.argsort(-amount, kind="stable")[:capacity])
    uplift_total, uplift_extra = recovery(np.argsort(-(predicted * amount), kind="stable")[:capacity])
    _oracle_total, oracle_extra = recovery(np.argsort(-((p_visit - p_none) * amount), kind="stable")[:capacity])
    qini = qini_curve(pool["paid_30d"].to_numpy(), pool["visited"].to_numpy(), predicted).coefficient
    return {
        "capacity": capacity,
        "rule_per_visit": rule_extra / capacity,
        "uplift_per_visit": uplift_extra / capacity,
        "oracle_per_visit": oracle_extra / capacity,
        "gain_total": uplift_total / rule_total - 1,
        "gain_per_visit": uplift_extra / rule_extra - 1 if rule_extra > 0 else float("nan"),
        "qini": qini,
        "correlation": float(np.corrcoef(predicted, p_visit - p_none)[0, 1]),
    }


def interval(values: list[float]) -> str:
    array = np.asarray(values, dtype=float)
    mean = array.mean()
    half = 1.96 * array.std(ddof=1) / np.sqrt(array.size) if array.size > 1 else float("nan")
    return f"{mean:,.4f} [{mean - half:,.4f}, {mean + half:,.4f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--capacity", type=float, default=0.5, help="share of eligible cases that can be visited")
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--database", default="", help="unused: the simulation needs no database")
    arguments = parser.parse_args()
    started = time.perf_counter()
    results = [
        one_repeat(arguments.seed + r, arguments.accounts, arguments.months, arguments.capacity)
        for r in range(arguments.repeats)
    ]
    column = {key: [r[key] for r in results] for key in results[0]}
    print(f"repeats={arguments.repeats} accounts={arguments.accounts} months={arguments.months} "
          f"capacity={arguments.capacity:.0%} of eligible cases (mean {np.mean(column['capacity']):.0f} visits)")
    print(f"recovered per visit, rule (baseline):   {interval(column['rule_per_visit'])} yuan")
    print(f"recovered per visit, uplift-targeted:   {interval(column['uplift_per_visit'])} yuan")
    print(f"recovered per visit, perfect knowledge: {interval(column['oracle_per_visit'])} yuan")
    print(f"gain in recovery per visit:             {interval(column['gain_per_visit'])}")
    print(f"gain in total recovery of the pool:     {interval(column['gain_total'])}")
    print(f"Qini coefficient on the month:          {interval(column['qini'])}")
    print(f"correlation of predicted and true uplift: {interval(column['correlation'])}")
    print(f"seconds={time.perf_counter() - started:.1f}")


if __name__ == "__main__":
    main()
