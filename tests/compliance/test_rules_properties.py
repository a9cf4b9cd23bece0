"""Properties of the rule core: whatever a collector tries, the allowed contacts never break a cap."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from doorstep.compliance.rules import Action, BorrowerFacts, PastContact, evaluate
from tests.compliance.test_rules import CN, US

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
EPOCH = dt.datetime(2026, 11, 2, 0, 0, tzinfo=dt.UTC)

attempt = st.tuples(
    st.integers(min_value=0, max_value=14 * 24 * 60),  # minutes after the epoch
    st.sampled_from(["phone-1", "phone-2", "phone-3"]),
    st.sampled_from(["loan:1", "loan:2"]),
    st.sampled_from(["no_answer", "answered_other", "conversation", "busy"]),
    st.booleans(),  # inbound?
)


def play(attempts: list[tuple[int, str, str, str, bool]], rules: list, zone: ZoneInfo) -> list[PastContact]:
    """Try every attempt in time order; the allowed ones happen with their outcome and join the ledger."""
    ledger: list[PastContact] = []
    for minutes, point, debt, outcome, inbound in sorted(attempts):
        start = EPOCH + dt.timedelta(minutes=minutes)
        action = Action(
            channel="call", start=start, contact_point=point, debt_key=debt,
            direction="inbound" if inbound else "outbound",
        )
        verdict = evaluate(action, BorrowerFacts(zone=zone), ledger, rules)
        if verdict.allowed:
            ledger.append(
                PastContact(
                    started_at=start, channel="call", direction=action.direction, contact_point=point, debt_key=debt,
                    connected=outcome in {"answered_other", "conversation"},
                    right_party=outcome == "conversation", outcome="busy" if outcome == "busy" else "",
                )
            )
    return ledger


@settings(max_examples=150, deadline=None)
@given(st.lists(attempt, max_size=80))
def test_no_sequence_of_allowed_calls_breaks_the_chinese_caps(attempts) -> None:
    ledger = play(attempts, CN, SHANGHAI)
    outbound = [event for event in ledger if event.direction == "outbound"]
    unanswered = Counter(
        (event.started_at.astimezone(SHANGHAI).date(), event.contact_point) for event in outbound if not event.connected
    )
    connected = Counter(event.started_at.astimezone(SHANGHAI).date() for event in outbound if event.connected)
    assert max(unanswered.values(), default=0) <= 6
    assert max(connected.values(), default=0) <= 3
    for event in outbound:
        local = event.started_at.astimezone(SHANGHAI).time()
        assert dt.time(8) <= local < dt.time(22)


@settings(max_examples=150, deadline=None)
@given(st.lists(attempt, max_size=80))
def test_no_sequence_of_allowed_calls_breaks_the_us_caps(attempts) -> None:
    ledger = play(attempts, US, NEW_YORK)
    for debt in ("loan:1", "loan:2"):
        calls = [
            event.started_at.astimezone(NEW_YORK).date()
            for event in ledger
            if event.direction == "outbound" and event.debt_key == debt and event.outcome != "busy"
        ]
        for first in {day - dt.timedelta(days=shift) for day in calls for shift in range(7)}:
            assert sum(1 for day in calls if first <= day < first + dt.timedelta(days=7)) <= 7
        conversations = [event.started_at for event in ledger if event.debt_key == debt and event.right_party]
        for event in ledger:
            if event.direction != "outbound" or event.debt_key != debt:
                continue
            day = event.started_at.astimezone(NEW_YORK).date()
            earlier_talks = [talk.astimezone(NEW_YORK).date() for talk in conversations if talk < event.started_at]
            if earlier_talks:
                assert day >= max(earlier_talks) + dt.timedelta(days=7)


@settings(max_examples=150, deadline=None)
@given(st.lists(attempt, max_size=60), attempt, st.sampled_from(["CN", "US"]))
def test_the_earliest_allowed_time_is_really_allowed(attempts, proposal, code) -> None:
    rules, zone = (CN, SHANGHAI) if code == "CN" else (US, NEW_YORK)
    ledger = play(attempts, rules, zone)
    minutes, point, debt, _outcome, _inbound = proposal
    action = Action(channel="call", start=EPOCH + dt.timedelta(minutes=minutes), contact_point=point, debt_key=debt)
    verdict = evaluate(action, BorrowerFacts(zone=zone), ledger, rules)
    if verdict.earliest_allowed is not None:
        assert verdict.earliest_allowed >= action.start
        assert evaluate(action.moved_to(verdict.earliest_allowed), BorrowerFacts(zone=zone), ledger, rules).allowed
