"""The rule language: the columnar compiler decides exactly as the per-case evaluator does."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doorstep.strategy import rules as r

BUCKETS = list(r.DEFAULT_BUCKETS)
PRODUCTS = ["CONSUMER", "CARD", "AUTO"]
BRANCHES = ["CD001", "CD002"]
OUTCOMES = ["promise", "refused", "no_answer"]


# --- generated portfolios -----------------------------------------------------------------------------

cases_strategy = st.fixed_dictionaries(
    {
        "bucket": st.sampled_from(BUCKETS),
        "days_past_due": st.integers(0, 400),
        "overdue_amount": st.integers(0, 5_000_000),
        "outstanding_principal": st.integers(0, 20_000_000),
        "product": st.sampled_from(PRODUCTS),
        "branch": st.sampled_from(BRANCHES),
        "territory": st.one_of(st.none(), st.sampled_from(["north", "south"])),
        "status": st.sampled_from(r.CASE_STATUSES),
        "score": st.one_of(st.none(), st.integers(0, 100_000)),
        "score_band": st.one_of(st.none(), st.sampled_from(["A", "B", "C"])),
        "last_contact_outcome": st.one_of(st.none(), st.sampled_from(OUTCOMES)),
        "broken_promises_30d": st.one_of(st.none(), st.integers(0, 4)),
        "broken_promises_90d": st.one_of(st.none(), st.integers(0, 6)),
        "is_vulnerable": st.booleans(),
        "is_deceased": st.booleans(),
        "has_dispute": st.booleans(),
        "do_not_visit": st.booleans(),
    }
)

CATEGORY_VALUES = {
    "bucket": BUCKETS,
    "product": PRODUCTS,
    "branch": BRANCHES,
    "territory": ["north", "south"],
    "status": list(r.CASE_STATUSES),
    "score_band": ["A", "B", "C"],
    "last_contact_outcome": OUTCOMES,
}
NUMBER_RANGES = {
    "days_past_due": (0, 400),
    "overdue_amount": (0, 5_000_000),
    "outstanding_principal": (0, 20_000_000),
    "score": (0, 100_000),
    "broken_promises_30d": (0, 4),
    "broken_promises_90d": (0, 6),
}
FLAGS = ["is_vulnerable", "is_deceased", "has_dispute", "do_not_visit"]


@st.composite
def atoms(draw: Any) -> r.Condition:
    kind = draw(st.sampled_from(["number", "category", "flag"]))
    if kind == "flag":
        return r.Compare(draw(st.sampled_from(FLAGS)), "==", draw(st.booleans()))
    if kind == "category":
        name = draw(st.sampled_from(sorted(CATEGORY_VALUES)))
        values = draw(st.lists(st.sampled_from(CATEGORY_VALUES[name]), min_size=1, max_size=3, unique=True))
        if draw(st.booleans()):
            return r.Compare(name, draw(st.sampled_from(["==", "!="])), values[0])
        return r.InList(name, tuple(values), negated=draw(st.booleans()))
    name = draw(st.sampled_from(sorted(NUMBER_RANGES)))
    low, high = NUMBER_RANGES[name]
    value = draw(st.integers(low, high))
    if draw(st.booleans()):
        return r.Compare(name, draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="])), value)
    other = draw(st.integers(low, high))
    return r.Between(name, min(value, other), max(value, other))


conditions = st.recursive(
    st.one_of(atoms(), st.just(r.Always())),
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda items: r.And(tuple(items))),
        st.lists(children, min_size=2, max_size=3).map(lambda items: r.Or(tuple(items))),
        children.map(r.Not),
    ),
    max_leaves=6,
)

step_lists = st.lists(
    st.builds(
        r.Step,
        channel=st.sampled_from(r.CHANNELS),
        day=st.integers(0, 30),
        every=st.sampled_from([0, 0, 7, 14]),
        priority=st.integers(1, 5),
    ),
    min_size=1,
    max_size=3,
).map(lambda steps: tuple(sorted(steps, key=lambda step: step.day)))


@st.composite
def rule_tables(draw: Any) -> list[r.Rule]:
    count = draw(st.integers(1, 5))
    return [
        r.Rule(f"r{index}", f"Rule {index}", draw(conditions), draw(step_lists)) for index in range(count)
    ]


def frame_of(cases: list[dict[str, Any]]) -> pl.DataFrame:
    schema = {
        name: {"number": pl.Int64, "category": pl.String, "flag": pl.Boolean}[attribute.kind]
        for name, attribute in r.ATTRIBUTES.items()
    }
    return pl.DataFrame(cases, schema={"case_id": pl.Int64, "days_in_treatment": pl.Int32, **schema})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=rule_tables(),
    portfolio=st.lists(cases_strategy, min_size=1, max_size=40),
    days=st.lists(st.integers(0, 60), min_size=40, max_size=40),
    holdout=st.sampled_from([0, 500, 2000]),
    challenger_share=st.sampled_from([0, 3000]),
)
def test_the_compiled_rule_table_decides_every_case_as_the_per_case_evaluator_does(
    table: list[r.Rule], portfolio: list[dict[str, Any]], days: list[int], holdout: int, challenger_share: int
) -> None:
    challengers = (
        (r.Challenger("c1", "Challenger", challenger_share, tuple(reversed(table))),)
        if challenger_share
        else ()
    )
    experiment = r.Experiment("t-2026", holdout, challengers) if holdout or challengers else None
    definition = r.Definition(tuple(table), experiment)
    cases = [
        {"case_id": 1000 + index, "days_in_treatment": days[index], **case}
        for index, case in enumerate(portfolio)
    ]

    columnar = r.schedule_frame(definition, r.decide_frame(definition, frame_of(cases)), "days_in_treatment")

    by_case = {row["case_id"]: row for row in columnar.iter_rows(named=True)}
    assert len(by_case) == len(cases)
    for case in cases:
        expected = r.decide(definition, case, case["days_in_treatment"])
        row = by_case[case["case_id"]]
        assert (row["arm"], row["position"], row["next_index"], row["next_day"]) == (
            expected.arm,
            expected.position,
            expected.next_index,
            expected.next_day,
        ), case


@settings(max_examples=150, deadline=None)
@given(table=rule_tables(), portfolio=st.lists(cases_strategy, min_size=1, max_size=60))
def test_what_the_validator_proves_holds_for_every_generated_case(
    table: list[r.Rule], portfolio: list[dict[str, Any]]
) -> None:
    findings = r.validate(table)
    if any(finding.kind == "too_complex" for finding in findings):
        return
    dead = {finding.rule for finding in findings if finding.kind in {"never_matches", "shadowed"}}
    has_gap = any(finding.kind == "gap" for finding in findings)
    for case in portfolio:
        position = r.first_match(table, case)
        if position is not None:
            assert table[position].key not in dead
        elif not has_gap:
            pytest.fail(f"the validator found no gap, yet no rule matches {case}")


@settings(max_examples=100, deadline=None)
@given(table=rule_tables())
def test_a_reported_gap_example_really_matches_no_rule(table: list[r.Rule]) -> None:
    gaps = [finding for finding in r.validate(table) if finding.kind == "gap"]
    if not gaps:
        return
    example: dict[str, Any] = {}
    for name, text in gaps[0].example.items():
        example[name] = None if text == "unknown" else r.parse_value(r.ATTRIBUTES[name], text)
    base = {name: (False if attribute.kind == "flag" else None) for name, attribute in r.ATTRIBUTES.items()}
    # Free attributes may take any value; a value the rules never mention is a fair sample.
    base.update(
        {
            "bucket": "M1",
            "status": "open",
            "days_past_due": 0,
            "overdue_amount": 0,
            "outstanding_principal": 0,
        }
    )
    base.update({"product": "UNMENTIONED", "branch": "UNMENTIONED"})
    # The example only pins the attributes the gap needs; check it against a completion that keeps the gap.
    case = {**base, **example}
    # A completion may accidentally satisfy a rule on an unpinned attribute; the claim is about the box.
    if r.first_match(table, case) is not None:
        pinned = set(example)
        assert any(r.attributes_used(rule.condition) - pinned for rule in table)


@given(case_id=st.integers(1, 10**12), test_id=st.text(min_size=1, max_size=12))
def test_arm_assignment_is_a_pure_function_of_the_test_and_the_case(case_id: int, test_id: str) -> None:
    experiment = r.Experiment(test_id, 1000, (r.Challenger("c1", "C1", 2500, ()),))
    first = r.arm_for(experiment, case_id)
    assert first == r.arm_for(experiment, case_id)
    assert r.arm_buckets(test_id, [case_id]) == [r.arm_bucket(test_id, case_id)]


def test_arm_shares_follow_the_configured_basis_points() -> None:
    experiment = r.Experiment("cure-2026-q4", 500, (r.Challenger("c1", "C1", 2000, ()),))
    arms = [r.arm_for(experiment, case_id) for case_id in range(1, 20_001)]
    assert abs(arms.count("holdout") / 20_000 - 0.05) < 0.01
    assert abs(arms.count("c1") / 20_000 - 0.20) < 0.015
    assert abs(arms.count("champion") / 20_000 - 0.75) < 0.015


def test_a_known_case_lands_in_the_arm_its_sha256_bucket_says() -> None:
    import hashlib

    bucket = int.from_bytes(hashlib.sha256(b"t1:42").digest()[:8], "big") % 10_000
    assert r.arm_bucket("t1", 42) == bucket


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("bucket in (M2, M3) and overdue_amount >= 5000", "bucket in (M2, M3) and overdue_amount >= 5000.00"),
        ("not do_not_visit", "not do_not_visit"),
        (
            "days_past_due between 31 and 60 or bucket = M4+",
            "days_past_due between 31 and 60 or bucket == M4+",
        ),
        (
            "(score >= 650.5 or score_band = A) and not has_dispute",
            "(score >= 650.50 or score_band == A) and not has_dispute",
        ),
        ('product not in ("CARD X")', 'product not in ("CARD X")'),
        ("", "always"),
    ],
)
def test_conditions_read_back_as_they_were_written(text: str, canonical: str) -> None:
    condition = r.parse_condition(text)
    assert r.format_condition(condition) == canonical
    assert r.parse_condition(r.format_condition(condition)) == condition
    assert r.condition_from_json(r.condition_to_json(condition)) == condition


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = red", "unknown attribute"),
        ("bucket = M9", "one of"),
        ("bucket > M2", "cannot be compared"),
        ("overdue_amount >= 10.001", "decimal places"),
        ("days_past_due >=", "ends too early"),
        ("bucket in (M1", "ends too early"),
        ("days_past_due", "needs a comparison"),
    ],
)
def test_bad_conditions_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(r.RuleError, match=message):
        r.parse_condition(text)


def test_a_condition_on_a_score_nobody_provides_matches_no_case() -> None:
    rules = [
        r.Rule("k", "Scored", r.parse_condition("score >= 600 or not score >= 600"), (r.Step("call", 0),))
    ]
    case = {"case_id": 1, "bucket": "M1", "score": None}
    assert r.first_match(rules, case) is None
    frame = pl.DataFrame({"case_id": [1], "bucket": ["M1"]})
    assert r.decide_frame(r.Definition(tuple(rules)), frame)["position"].to_list() == [None]


def test_the_validator_names_dead_rules_overlaps_and_gaps() -> None:
    table = [
        r.Rule("m2", "M2", r.parse_condition("bucket = M2"), (r.Step("call", 0),)),
        r.Rule(
            "m2big",
            "M2 big",
            r.parse_condition("bucket = M2 and overdue_amount >= 5000"),
            (r.Step("visit", 0),),
        ),
        r.Rule(
            "never",
            "Never",
            r.parse_condition("days_past_due < 10 and days_past_due > 20"),
            (r.Step("sms", 0),),
        ),
        r.Rule("late", "Late", r.parse_condition("bucket in (M2, M3)"), (r.Step("letter", 0),)),
    ]
    findings = {(finding.kind, finding.rule, finding.other) for finding in r.validate(table)}
    assert ("shadowed", "m2big", None) in findings
    assert ("never_matches", "never", None) in findings
    assert ("overlap", "late", "m2") in findings
    gap = next(finding for finding in r.validate(table) if finding.kind == "gap")
    assert gap.example["bucket"] in {"M1", "M4+"}


def test_a_table_ending_in_a_catch_all_has_no_gap() -> None:
    table = [
        r.Rule("m1", "M1", r.parse_condition("bucket = M1"), (r.Step("sms", 0),)),
        r.Rule("rest", "Rest", r.Always(), (r.Step("call", 0),)),
    ]
    assert [finding.kind for finding in r.validate(table)] == ["overlap"]


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (0, (0, 0)),
        (2, (1, 3)),
        (3, (1, 3)),
        (4, (2, 10)),
        (10, (2, 10)),
        (11, (2, 17)),
        (24, (2, 24)),
        (25, (2, 31)),
    ],
)
def test_the_next_step_follows_the_path_and_then_its_cadence(days: int, expected: tuple[int, int]) -> None:
    steps = (r.Step("sms", 0), r.Step("call", 3), r.Step("visit", 10, every=7))
    assert r.next_step(steps, days) == expected


def test_a_path_without_cadence_is_done_after_its_last_step() -> None:
    assert r.next_step((r.Step("sms", 0), r.Step("letter", 5)), 6) == (None, None)


def test_wilson_interval_and_difference_of_proportions() -> None:
    interval = r.wilson(30, 100)
    assert interval is not None
    assert interval.estimate == pytest.approx(0.30)
    assert interval.low == pytest.approx(0.2189, abs=1e-4)
    assert interval.high == pytest.approx(0.3958, abs=1e-4)
    assert r.wilson(0, 0) is None
    small = r.difference_of_proportions(12, 40, 10, 40)
    assert small is not None and not r.is_significant(small)
    large = r.difference_of_proportions(1200, 4000, 1000, 4000)
    assert large is not None and r.is_significant(large)
    assert large.estimate == pytest.approx(0.05)


def test_ratio_interval_covers_the_ratio_of_sums() -> None:
    interval = r.ratio_interval([100, 0, 50, 200], [200, 100, 100, 400])
    assert interval is not None
    assert interval.estimate == pytest.approx(350 / 800)
    assert interval.low < interval.estimate < interval.high
    assert r.ratio_interval([1], [2]) is None
