"""The metrics against figures worked out by hand on a small portfolio of eight cases in November 2026.

At the end of October (start of November) and of November the cases stand as follows:

    case  loans                                  start   end           why
    1     one, M2 since 10-05, M3 on 11-04       M2      M3
    2     one, M1 since 10-10, cured 11-12       M1      cured
    3     one, M3 since 10-01, M4+ on 11-01      M3      M4+
    4     one, M4+ since 10-01, written off 11-20 M4+    written_off
    5     opened 11-03 in M1                     new     M1
    6     opened 10-20 in M1, M2 on 12-02        M1      M1            the December move comes after D
    7     two: M1 and M2 in October, M3 11-14    M2      M3            the worst loan is the case's bucket
    8     opened 10-25 in M1, M2 on 11-24        M1      M2
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from doorstep.reports import metrics

D = dt.date
BUCKETS = ["M1", "M2", "M3", "M4+"]
NOVEMBER = D(2026, 11, 1)
AS_OF = D(2026, 11, 30)

CASES = pl.DataFrame(
    {
        "case_id": [1, 2, 3, 4, 5, 6, 7, 8],
        "opened_on": [D(2026, 9, 5), D(2026, 10, 10), D(2026, 8, 1), D(2026, 7, 1), D(2026, 11, 3),
                      D(2026, 10, 20), D(2026, 10, 1), D(2026, 10, 25)],
        "branch_code": ["CD001", "CD001", "CD002", "CD002", "CD001", "CD001", "CD002", "CD001"],
        "product_code": ["CARD", "CARD", "LOAN", "LOAN", "CARD", "LOAN", "LOAN", "CARD"],
        "entry_overdue_fen": [100_000, 300_000, 200_000, 500_000, 80_000, 120_000, 400_000, 60_000],
    }
)
MOVES = [  # case, loan, date, to
    (1, 11, D(2026, 9, 5), "M1"), (1, 11, D(2026, 10, 5), "M2"), (1, 11, D(2026, 11, 4), "M3"),
    (2, 21, D(2026, 10, 10), "M1"), (2, 21, D(2026, 11, 12), ""),
    (3, 31, D(2026, 8, 1), "M1"), (3, 31, D(2026, 9, 1), "M2"), (3, 31, D(2026, 10, 1), "M3"),
    (3, 31, D(2026, 11, 1), "M4+"),
    (4, 41, D(2026, 7, 1), "M1"), (4, 41, D(2026, 8, 1), "M2"), (4, 41, D(2026, 9, 1), "M3"),
    (4, 41, D(2026, 10, 1), "M4+"),
    (5, 51, D(2026, 11, 3), "M1"),
    (6, 61, D(2026, 10, 20), "M1"), (6, 61, D(2026, 12, 2), "M2"),
    (7, 71, D(2026, 10, 1), "M1"), (7, 72, D(2026, 10, 15), "M2"), (7, 72, D(2026, 11, 14), "M3"),
    (8, 81, D(2026, 10, 25), "M1"), (8, 81, D(2026, 11, 24), "M2"),
]
BUCKET_MOVES = pl.DataFrame(
    {
        "case_id": [m[0] for m in MOVES],
        "loan_id": [m[1] for m in MOVES],
        "snapshot_date": [m[2] for m in MOVES],
        "seq": list(range(1, len(MOVES) + 1)),
        "to_bucket": [m[3] for m in MOVES],
    }
)
CHANGES = [  # case, date, to
    (1, D(2026, 9, 5), "open"), (2, D(2026, 10, 10), "open"), (2, D(2026, 11, 12), "cured"),
    (3, D(2026, 8, 1), "open"), (4, D(2026, 7, 1), "open"), (4, D(2026, 11, 20), "written_off"),
    (5, D(2026, 11, 3), "open"), (6, D(2026, 10, 20), "open"), (7, D(2026, 10, 1), "open"),
    (8, D(2026, 10, 25), "open"),
    (1, D(2026, 12, 1), "cured"),  # after D: must not count
]
STATUS_CHANGES = pl.DataFrame(
    {
        "case_id": [c[0] for c in CHANGES],
        "business_date": [c[1] for c in CHANGES],
        "seq": list(range(1, len(CHANGES) + 1)),
        "to_status": [c[2] for c in CHANGES],
    }
)
CONTACTS = pl.DataFrame(
    {
        "case_id": [1, 1, 1, 1, 1, 3, 6],
        "on": [D(2026, 11, 2), D(2026, 11, 3), D(2026, 11, 4), D(2026, 11, 5), D(2026, 11, 30), D(2026, 11, 6),
               D(2026, 10, 30)],
        "recorded_on": [D(2026, 11, 2), D(2026, 11, 3), D(2026, 11, 4), D(2026, 11, 5), D(2026, 12, 1),
                        D(2026, 11, 6), D(2026, 10, 30)],
        "channel": ["call", "call", "call", "call", "call", "sms", "call"],
        "verdict": ["allowed", "allowed", "overridden", "refused", "allowed", "allowed", "allowed"],
        "right_party": [True, False, True, None, True, None, True],
    }
)
VISITS = pl.DataFrame(
    {
        "case_id": [2, 6, 8],
        "notice_on": [D(2026, 11, 5), D(2026, 11, 6), D(2026, 11, 7)],
        "done_on": [D(2026, 11, 8), D(2026, 11, 9), None],
        "met": [True, False, False],
    },
    schema={"case_id": pl.Int64, "notice_on": pl.Date, "done_on": pl.Date, "met": pl.Boolean},
)
PAYMENTS = pl.DataFrame(
    {
        "case_id": [2, 2, 1],
        "paid_on": [D(2026, 11, 12), D(2026, 10, 20), D(2026, 11, 30)],
        "recorded_on": [D(2026, 11, 12), D(2026, 10, 20), D(2026, 11, 30)],
        "amount_fen": [40_000, 7_000, 10_000],
    }
)
PROMISES = pl.DataFrame(
    {
        "case_id": [1, 2, 6, 8],
        "made_on": [D(2026, 11, 2), D(2026, 11, 8), D(2026, 11, 9), D(2026, 11, 20)],
        "due_on": [D(2026, 11, 10), D(2026, 11, 20), D(2026, 11, 25), D(2026, 12, 5)],
        "kept_on": [D(2026, 11, 9), None, D(2026, 12, 1), None],
        "recorded_on": [D(2026, 11, 2), D(2026, 11, 8), D(2026, 11, 9), D(2026, 11, 20)],
    },
    schema={"case_id": pl.Int64, "made_on": pl.Date, "due_on": pl.Date, "kept_on": pl.Date, "recorded_on": pl.Date},
)
COMPLAINTS = pl.DataFrame({"case_id": [6], "filed_on": [D(2026, 11, 10)]})
ASSIGNMENTS = pl.DataFrame(
    {"case_id": [1, 2, 5, 6, 8, 3], "team_id": [10, 10, 10, 10, 10, 20], "collector_id": [100, 100, 101, 101, 101, None]},
    schema={"case_id": pl.Int64, "team_id": pl.Int64, "collector_id": pl.Int64},
)
TREATMENTS = pl.DataFrame(
    {"case_id": [1, 2, 6, 8], "strategy": ["标准 v1"] * 4, "arm": ["champion", "champion", "holdout", "holdout"]}
)
UNIT_COSTS = {"visit": Decimal("60.00"), "call": Decimal("3.00"), "sms": Decimal("0.05"), "letter": Decimal("8.00")}


def facts(as_of: dt.date = AS_OF) -> pl.DataFrame:
    return metrics.case_month_facts(
        month=NOVEMBER, as_of=as_of, cases=CASES, status_changes=STATUS_CHANGES, bucket_moves=BUCKET_MOVES,
        buckets=BUCKETS, assignments=ASSIGNMENTS, treatments=TREATMENTS, contacts=CONTACTS, visits=VISITS,
        payments=PAYMENTS, promises=PROMISES, complaints=COMPLAINTS,
    )


def test_each_case_starts_and_ends_where_its_history_puts_it() -> None:
    frame = facts()
    moves = dict(zip(frame["case_id"], zip(frame["bucket_start"], frame["bucket_end"], strict=True), strict=True))
    assert moves == {
        1: ("M2", "M3"), 2: ("M1", "cured"), 3: ("M3", "M4+"), 4: ("M4+", "written_off"),
        5: ("new", "M1"), 6: ("M1", "M1"), 7: ("M2", "M3"), 8: ("M1", "M2"),
    }
    assert frame.filter(pl.col("case_id") == 5)["entry_month"].item() == NOVEMBER


def test_roll_rate_matrix_by_hand() -> None:
    matrix = metrics.roll_rate_matrix(facts(), BUCKETS)
    cells = {(row["bucket_start"], row["bucket_end"]): (row["cases"], row["total"]) for row in matrix.to_dicts()}
    assert cells == {
        ("M1", "M1"): (1, 3), ("M1", "M2"): (1, 3), ("M1", "cured"): (1, 3),
        ("M2", "M3"): (2, 2),
        ("M3", "M4+"): (1, 1),
        ("M4+", "written_off"): (1, 1),
    }
    assert matrix.filter((pl.col("bucket_start") == "M1") & (pl.col("bucket_end") == "M2"))["rate"].item() == pytest.approx(1 / 3)


def test_flow_rate_to_write_off_is_the_product_of_forward_rolls() -> None:
    flows = {row["bucket"]: row for row in metrics.flow_rates(facts(), BUCKETS).to_dicts()}
    assert flows["M1"]["forward"] == pytest.approx(1 / 3)
    assert flows["M2"]["forward"] == 1.0
    assert flows["M4+"]["forward"] == 1.0
    assert flows["M1"]["to_write_off"] == pytest.approx(1 / 3)
    assert flows["M3"]["to_write_off"] == 1.0


def test_headline_rates_by_hand() -> None:
    rates = metrics.kpis(facts(), BUCKETS, UNIT_COSTS)
    # Seven cases had a bucket on 1 November; case 2 is cured.
    assert (rates["cure_rate"].numerator, rates["cure_rate"].denominator) == (1, 7)
    # Calls carried out in November and recorded by the 30th: 11-02 (reached), 11-03, 11-04 (override,
    # reached). The refused call is not carried out; the call of the 30th was recorded on 1 December.
    assert (rates["right_party_contact_rate"].numerator, rates["right_party_contact_rate"].denominator) == (2, 3)
    assert (rates["visit_contact_rate"].numerator, rates["visit_contact_rate"].denominator) == (1, 2)
    # Due in November: cases 1 (kept 11-09), 2 (broken), 6 (kept only on 1 December).
    assert (rates["promise_kept_rate"].numerator, rates["promise_kept_rate"].denominator) == (1, 3)
    assert rates["complaints_per_100_visits"].value == 50.0
    # 2 visits × 60 + 3 calls × 3 + 1 SMS × 0.05 = 129.05 yuan for 400 + 100 yuan collected.
    cost = rates["cost_to_collect"]
    assert (cost.numerator, cost.denominator) == (12_905, 50_000)
    assert cost.value == pytest.approx(0.2581)


def test_funnel_counts_cases_at_each_stage() -> None:
    assert metrics.funnel(facts()) == [("notice", 3), ("visit", 2), ("promise", 4), ("payment", 2)]


def test_point_in_time_ignores_what_was_recorded_later() -> None:
    early = facts(as_of=D(2026, 11, 15))
    later = facts(as_of=AS_OF)
    by_case = {row["case_id"]: row for row in early.to_dicts()}
    # On 15 November case 4 was not yet written off and case 8 still in M1; case 5 already open.
    assert by_case[4]["bucket_end"] == "M4+"
    assert by_case[8]["bucket_end"] == "M1"
    assert by_case[2]["bucket_end"] == "cured"
    assert by_case[1]["collected_fen"] == 0 and by_case[2]["collected_fen"] == 40_000
    # Later data never changes the past: the facts as of the 15th are the same whatever arrives after.
    more_moves = pl.concat(
        [BUCKET_MOVES, pl.DataFrame({"case_id": [8], "loan_id": [81], "snapshot_date": [D(2026, 11, 16)],
                                     "seq": [999], "to_bucket": ["M3"]})]
    )
    again = metrics.case_month_facts(
        month=NOVEMBER, as_of=D(2026, 11, 15), cases=CASES, status_changes=STATUS_CHANGES, bucket_moves=more_moves,
        buckets=BUCKETS, contacts=CONTACTS, visits=VISITS, payments=PAYMENTS, promises=PROMISES, complaints=COMPLAINTS,
        assignments=ASSIGNMENTS, treatments=TREATMENTS,
    )
    assert again.equals(early)
    assert {row["case_id"]: row["bucket_end"] for row in later.to_dicts()}[4] == "written_off"


def test_recovery_by_entry_month_by_hand() -> None:
    entries = pl.DataFrame(
        {
            "entry_month": [D(2026, 9, 1)] * 6 + [D(2026, 10, 1)] * 2,
            "month": [D(2026, 9, 1), D(2026, 9, 1), D(2026, 10, 1), D(2026, 10, 1), D(2026, 11, 1),
                      D(2026, 11, 1), D(2026, 10, 1), D(2026, 11, 1)],
            "entry_overdue_fen": [100_000, 300_000, 100_000, 300_000, 100_000, 300_000, 50_000, 50_000],
            "collected_fen": [10_000, 0, 10_000, 20_000, 0, 0, 5_000, 20_000],
        }
    )
    curve = metrics.recovery_by_entry_month(entries)
    points = {(row["entry_month"], row["months_since_entry"]): (row["collected_fen"], row["entry_overdue_fen"])
              for row in curve.to_dicts()}
    assert points == {
        (D(2026, 9, 1), 0): (10_000, 400_000),
        (D(2026, 9, 1), 1): (40_000, 400_000),
        (D(2026, 9, 1), 2): (40_000, 400_000),
        (D(2026, 10, 1), 0): (5_000, 50_000),
        (D(2026, 10, 1), 1): (25_000, 50_000),
    }
    assert curve["rate"].to_list() == pytest.approx([0.025, 0.1, 0.1, 0.1, 0.5])


def test_summaries_give_the_same_rates_as_case_rows() -> None:
    frame = facts()
    cube = frame.group_by("branch_code", "bucket_start", "bucket_end").agg(
        pl.len().alias("cases"), *[pl.col(c).sum() for c in metrics.MEASURE_COLUMNS]
    )
    for name, ratio in metrics.kpis(frame, BUCKETS, UNIT_COSTS).items():
        if name == "entered_overdue_fen":
            continue
        assert metrics.kpis(cube, BUCKETS, UNIT_COSTS)[name] == ratio
    assert metrics.roll_rate_matrix(cube, BUCKETS).equals(metrics.roll_rate_matrix(frame, BUCKETS))


def test_slices_and_collector_productivity() -> None:
    frame = facts()
    by_arm = {row["key"]: row for row in metrics.slice_summary(frame, "arm", BUCKETS).to_dicts()}
    assert by_arm["champion"]["cases"] == 2 and by_arm["champion"]["cured"] == 1
    assert by_arm["holdout"]["visits"] == 1
    productivity = {row["collector_id"]: row for row in metrics.collector_productivity(frame).to_dicts()}
    assert productivity[100]["collected_fen"] == 40_000 + 10_000
    assert productivity[100]["cases"] == 2
    assert productivity[101]["visits"] == 1 and productivity[101]["collected_per_visit_fen"] == 0


def test_sms_and_letters_come_from_the_messages_sent_when_given() -> None:
    messages = pl.DataFrame(
        {"case_id": [1, 1, 3, 3], "sent_on": [D(2026, 11, 2), D(2026, 12, 1), D(2026, 11, 3), D(2026, 11, 4)],
         "channel": ["sms", "sms", "letter", "sms"]}
    )
    frame = metrics.case_month_facts(
        month=NOVEMBER, as_of=AS_OF, cases=CASES, status_changes=STATUS_CHANGES, bucket_moves=BUCKET_MOVES,
        buckets=BUCKETS, contacts=CONTACTS, messages=messages,
    )
    counts = {row["case_id"]: (row["sms"], row["letters"]) for row in frame.to_dicts()}
    # The ledger's SMS for case 3 is the same message: counted once, from the outbox.
    assert counts[1] == (1, 0) and counts[3] == (1, 1)
    assert metrics.collection_cost_fen(frame, UNIT_COSTS) == 3 * 300 + 2 * 5 + 800


def test_the_trend_in_one_pass_agrees_with_the_rates_month_by_month() -> None:
    november = facts()
    october = metrics.case_month_facts(
        month=D(2026, 10, 1), as_of=D(2026, 10, 31), cases=CASES, status_changes=STATUS_CHANGES,
        bucket_moves=BUCKET_MOVES, buckets=BUCKETS, contacts=CONTACTS, visits=VISITS, payments=PAYMENTS,
        promises=PROMISES, complaints=COMPLAINTS,
    )
    both = pl.concat([october, november], how="diagonal_relaxed")
    trend = {row["month"]: row for row in metrics.rates_by_month(both, BUCKETS)}
    for month, frame in ((D(2026, 10, 1), october), (NOVEMBER, november)):
        rates = metrics.kpis(frame, BUCKETS, UNIT_COSTS)
        for key in ("cure_rate", "right_party_contact_rate", "visit_contact_rate", "promise_kept_rate"):
            assert trend[month][key] == rates[key].value
        assert trend[month]["totals"] == {k: v for k, v in metrics.totals(frame).items() if k != "cases"}
