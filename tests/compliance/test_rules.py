"""The pure rule core, rule by rule, at the boundaries. No database."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from doorstep.compliance import rules
from doorstep.compliance.catalogue import RULE_SETS
from doorstep.compliance.rules import (
    Action,
    BorrowerFacts,
    Certificate,
    CollectorFacts,
    PastContact,
    RuleSpec,
    WeeklyWindow,
    evaluate,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
URUMQI = ZoneInfo("Asia/Urumqi")  # two hours behind Beijing time
NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
KOLKATA = ZoneInfo("Asia/Kolkata")


def rule_set(code: str) -> list[RuleSpec]:
    return [
        RuleSpec(row["rule_id"], row["check"], row["params"], row["overridable"])
        for row in RULE_SETS[code]
        if row["check"] and row.get("enabled", True)
    ]


CN, US, UK, IN = rule_set("CN"), rule_set("US"), rule_set("UK"), rule_set("IN")


def at(zone: ZoneInfo, text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone)


def trained(name: str = "赵催收", *kinds: str, agency: bool = False) -> CollectorFacts:
    kinds = kinds or ("pre_job", "annual")
    return CollectorFacts(
        collector_id=hash(name) % 1000,
        name=name,
        badge_number="CD0001",
        is_agency=agency,
        certificates=tuple(Certificate(kind, dt.date(2026, 1, 1), dt.date(2026, 12, 31)) for kind in kinds),
    )


PAIR = (trained("赵催收"), trained("钱催收"))


def call(start: dt.datetime, **fields: object) -> Action:
    fields.setdefault("contact_point", "phone-1")
    fields.setdefault("debt_key", "loan:1")
    return Action(channel="call", start=start, **fields)  # type: ignore[arg-type]


def fired(verdict: rules.Verdict) -> set[str]:
    return {hit.rule_id for hit in verdict.refusals}


# ---------------------------------------------------------------- hours


@pytest.mark.parametrize(
    ("rules_", "zone", "local_time", "allowed"),
    [
        (CN, SHANGHAI, "2026-11-30T21:59:59", True),
        (CN, SHANGHAI, "2026-11-30T22:00:00", False),
        (CN, SHANGHAI, "2026-11-30T07:59:59", False),
        (CN, SHANGHAI, "2026-11-30T08:00:00", True),
        (US, NEW_YORK, "2026-11-30T20:59:59", True),
        (US, NEW_YORK, "2026-11-30T21:00:00", False),
        (UK, LONDON, "2026-11-30T21:00:00", False),
        (IN, KOLKATA, "2026-11-30T18:59:59", True),
        (IN, KOLKATA, "2026-11-30T19:00:00", False),
        (IN, KOLKATA, "2026-11-30T07:59:00", False),
    ],
)
def test_contact_hours_at_the_second(rules_, zone, local_time, allowed) -> None:
    verdict = evaluate(call(at(zone, local_time)), BorrowerFacts(zone=zone), [], rules_)
    assert verdict.allowed is allowed


def test_a_refused_late_call_is_allowed_at_eight_the_next_morning() -> None:
    verdict = evaluate(call(at(SHANGHAI, "2026-11-30T22:00:00")), BorrowerFacts(zone=SHANGHAI), [], CN)
    assert fired(verdict) == {"CN-T1"}
    assert verdict.earliest_allowed == at(SHANGHAI, "2026-12-01T08:00:00")
    assert not verdict.overridable


def test_an_early_call_waits_until_eight_the_same_morning() -> None:
    verdict = evaluate(call(at(SHANGHAI, "2026-11-30T06:30:00")), BorrowerFacts(zone=SHANGHAI), [], CN)
    assert verdict.earliest_allowed == at(SHANGHAI, "2026-11-30T08:00:00")


def test_a_visit_that_starts_inside_the_window_and_ends_outside_it_is_refused() -> None:
    visit = Action(
        channel="visit", start=at(SHANGHAI, "2026-11-30T21:30:00"), end=at(SHANGHAI, "2026-11-30T22:15:00"),
        collectors=PAIR,
    )
    verdict = evaluate(visit, BorrowerFacts(zone=SHANGHAI), [], CN)
    assert fired(verdict) == {"CN-T1"}
    assert verdict.earliest_allowed == at(SHANGHAI, "2026-12-01T08:00:00")


def test_a_visit_that_ends_exactly_at_closing_time_is_allowed_but_noted_as_a_near_miss() -> None:
    visit = Action(
        channel="visit", start=at(SHANGHAI, "2026-11-30T21:15:00"), end=at(SHANGHAI, "2026-11-30T22:00:00"),
        collectors=PAIR,
    )
    verdict = evaluate(visit, BorrowerFacts(zone=SHANGHAI), [], CN)
    assert verdict.allowed
    assert [(hit.rule_id, hit.code) for hit in verdict.warnings] == [("CN-T1", "near_hours_edge")]


def test_a_borrower_in_another_time_zone_is_judged_by_their_own_clock() -> None:
    # 22:30 in Beijing is 20:30 in Ürümqi: a call to a borrower there is still within hours.
    moment = at(SHANGHAI, "2026-11-30T22:30:00")
    assert not evaluate(call(moment), BorrowerFacts(zone=SHANGHAI), [], CN).allowed
    assert evaluate(call(moment), BorrowerFacts(zone=URUMQI), [], CN).allowed
    # 09:00 in Beijing is 07:00 in Ürümqi: too early there, allowed at 08:00 local (10:00 Beijing).
    early = evaluate(call(at(SHANGHAI, "2026-11-30T09:00:00")), BorrowerFacts(zone=URUMQI), [], CN)
    assert early.earliest_allowed == at(URUMQI, "2026-11-30T08:00:00")
    assert early.earliest_allowed == at(SHANGHAI, "2026-11-30T10:00:00")


def test_recorded_consent_lifts_the_chinese_quiet_hours_but_not_the_indian_ones() -> None:
    late_cn = call(at(SHANGHAI, "2026-11-30T22:30:00"))
    assert evaluate(late_cn, BorrowerFacts(zone=SHANGHAI, consent_outside_hours=True), [], CN).allowed
    late_in = call(at(KOLKATA, "2026-11-30T19:30:00"))
    assert not evaluate(late_in, BorrowerFacts(zone=KOLKATA, consent_outside_hours=True), [], IN).allowed


def test_hours_follow_daylight_saving_time_in_new_york() -> None:
    # 2026-03-08 02:00 EST → EDT. 08:00 local is 12:00 UTC afterwards, 13:00 UTC before.
    before = evaluate(call(dt.datetime(2026, 3, 7, 12, 30, tzinfo=dt.UTC)), BorrowerFacts(zone=NEW_YORK), [], US)
    after = evaluate(call(dt.datetime(2026, 3, 9, 12, 30, tzinfo=dt.UTC)), BorrowerFacts(zone=NEW_YORK), [], US)
    assert not before.allowed
    assert after.allowed


# ---------------------------------------------------------------- China: frequency


def unanswered(moment: dt.datetime, point: str = "phone-1") -> PastContact:
    return PastContact(started_at=moment, channel="call", contact_point=point, connected=False, debt_key="loan:1")


def connected(moment: dt.datetime, point: str = "phone-1") -> PastContact:
    return PastContact(
        started_at=moment, channel="call", contact_point=point, connected=True, right_party=True, debt_key="loan:1"
    )


@pytest.mark.parametrize(("earlier", "allowed"), [(5, True), (6, False)])
def test_cn_f1_the_seventh_unanswered_attempt_to_one_number_is_refused(earlier: int, allowed: bool) -> None:
    history = [unanswered(at(SHANGHAI, f"2026-11-30T{9 + i:02d}:00:00")) for i in range(earlier)]
    verdict = evaluate(call(at(SHANGHAI, "2026-11-30T17:00:00")), BorrowerFacts(zone=SHANGHAI), history, CN)
    assert verdict.allowed is allowed
    if not allowed:
        assert fired(verdict) == {"CN-F1"}
        assert verdict.earliest_allowed == at(SHANGHAI, "2026-12-01T08:00:00")
    else:
        assert any(hit.code == "near_cap" for hit in verdict.warnings)


def test_cn_f1_counts_per_number_and_per_local_day() -> None:
    history = [unanswered(at(SHANGHAI, f"2026-11-30T{9 + i:02d}:00:00")) for i in range(6)]
    facts = BorrowerFacts(zone=SHANGHAI)
    assert evaluate(call(at(SHANGHAI, "2026-11-30T17:00:00"), contact_point="phone-2"), facts, history, CN).allowed
    assert evaluate(call(at(SHANGHAI, "2026-12-01T09:00:00")), facts, history, CN).allowed


def test_cn_f1_ignores_attempts_the_gate_refused() -> None:
    history = [
        PastContact(at(SHANGHAI, f"2026-11-30T{9 + i:02d}:00:00"), "call", contact_point="phone-1", carried_out=False)
        for i in range(6)
    ]
    assert evaluate(call(at(SHANGHAI, "2026-11-30T17:00:00")), BorrowerFacts(zone=SHANGHAI), history, CN).allowed


@pytest.mark.parametrize(("earlier", "allowed"), [(2, True), (3, False)])
def test_cn_f2_a_fourth_connected_call_in_a_day_is_refused_whichever_number(earlier: int, allowed: bool) -> None:
    history = [connected(at(SHANGHAI, f"2026-11-30T{9 + i:02d}:00:00"), point=f"phone-{i}") for i in range(earlier)]
    verdict = evaluate(call(at(SHANGHAI, "2026-11-30T17:00:00"), contact_point="phone-9"), BorrowerFacts(zone=SHANGHAI), history, CN)
    assert verdict.allowed is allowed
    assert ("CN-F2" in fired(verdict)) is not allowed


# ---------------------------------------------------------------- United States: 7 in 7, cooldown


def us_call(day: int, hour: int = 10, debt: str = "loan:1", **fields: object) -> PastContact:
    fields.setdefault("connected", False)
    return PastContact(
        started_at=at(NEW_YORK, f"2026-11-{day:02d}T{hour:02d}:00:00"), channel="call", debt_key=debt,
        **fields,  # type: ignore[arg-type]
    )


def test_us_f1_the_seventh_call_in_seven_days_is_allowed_and_the_eighth_refused() -> None:
    history = [us_call(day) for day in range(10, 16)]  # six calls, 10th to 15th
    facts = BorrowerFacts(zone=NEW_YORK)
    seventh = evaluate(call(at(NEW_YORK, "2026-11-16T10:00:00")), facts, history, US)
    assert seventh.allowed
    history.append(us_call(16))
    eighth = evaluate(call(at(NEW_YORK, "2026-11-16T15:00:00")), facts, history, US)
    assert fired(eighth) == {"US-F1"}
    # The call of the 10th leaves the 7-day period on the 17th.
    assert eighth.earliest_allowed == at(NEW_YORK, "2026-11-17T08:00:00")


def test_us_f1_counts_per_debt_and_skips_consented_and_unplaced_calls() -> None:
    facts = BorrowerFacts(zone=NEW_YORK)
    history = [us_call(day) for day in range(10, 17)]
    assert evaluate(call(at(NEW_YORK, "2026-11-16T15:00:00"), debt_key="loan:2"), facts, history, US).allowed
    excluded = [us_call(day, with_consent=True) for day in range(10, 14)] + [
        us_call(day, outcome="busy") for day in range(14, 17)
    ]
    assert evaluate(call(at(NEW_YORK, "2026-11-16T15:00:00")), facts, excluded, US).allowed


def test_us_f1_no_call_within_seven_days_after_a_conversation() -> None:
    facts = BorrowerFacts(zone=NEW_YORK)
    talk = us_call(10, connected=True, right_party=True)
    history = [talk]
    # The conversation day is day 1; days 1–7 are closed, day 8 opens.
    assert fired(evaluate(call(at(NEW_YORK, "2026-11-16T20:00:00")), facts, history, US)) == {"US-F1"}
    refused = evaluate(call(at(NEW_YORK, "2026-11-12T10:00:00")), facts, history, US)
    assert refused.earliest_allowed == at(NEW_YORK, "2026-11-17T08:00:00")
    assert evaluate(call(at(NEW_YORK, "2026-11-17T08:00:00")), facts, history, US).allowed


def test_us_f1_a_later_conversation_resets_the_cooldown() -> None:
    facts = BorrowerFacts(zone=NEW_YORK)
    first = us_call(10, connected=True, right_party=True)
    # The borrower calls in on the 14th and talks: the cooldown starts again from the 14th.
    again = PastContact(
        started_at=at(NEW_YORK, "2026-11-14T12:00:00"), channel="call", direction="inbound", debt_key="loan:1",
        connected=True, right_party=True,
    )
    verdict = evaluate(call(at(NEW_YORK, "2026-11-17T10:00:00")), facts, [first, again], US)
    assert fired(verdict) == {"US-F1"}
    assert verdict.earliest_allowed == at(NEW_YORK, "2026-11-21T08:00:00")


# ---------------------------------------------------------------- targets and third parties


def test_cn_third_parties_only_when_the_borrower_is_unreachable_and_never_about_the_debt() -> None:
    moment = at(SHANGHAI, "2026-11-30T10:00:00")
    facts = BorrowerFacts(zone=SHANGHAI)
    locate = call(moment, target="third_party", relation="emergency_contact", purpose="locate", contact_point="p9")
    assert fired(evaluate(locate, facts, [], CN)) == {"CN-3P2"}
    lost = BorrowerFacts(zone=SHANGHAI, is_unreachable=True)
    assert evaluate(locate, lost, [], CN).allowed
    telling = call(moment, target="third_party", purpose="locate", discloses_debt=True, contact_point="p9")
    assert [hit.code for hit in evaluate(telling, lost, [], CN).refusals] == ["third_party_disclosure"]
    dunning = call(moment, target="third_party", purpose="collect", contact_point="p9")
    assert fired(evaluate(dunning, lost, [], CN)) == {"CN-3P1", "CN-3P2"}
    assert evaluate(dunning, lost, [], CN).earliest_allowed is None


def test_us_a_third_party_is_asked_once_and_only_for_location() -> None:
    moment = at(NEW_YORK, "2026-11-30T10:00:00")
    facts = BorrowerFacts(zone=NEW_YORK)
    ask = call(moment, target="third_party", purpose="locate", contact_point="neighbour")
    assert evaluate(ask, facts, [], US).allowed
    before = [PastContact(at(NEW_YORK, "2026-11-20T10:00:00"), "call", target="third_party", contact_point="neighbour")]
    assert [hit.code for hit in evaluate(ask, facts, before, US).refusals] == ["third_party_repeat"]


def test_india_allows_only_the_borrower_and_guarantor() -> None:
    moment = at(KOLKATA, "2026-11-30T10:00:00")
    facts = BorrowerFacts(zone=KOLKATA)
    assert evaluate(call(moment, target="guarantor"), facts, [], IN).allowed
    assert fired(evaluate(call(moment, target="third_party", purpose="locate"), facts, [], IN)) == {"IN-3P1"}


# ---------------------------------------------------------------- visits, people, certificates


def visit(start: str, zone: ZoneInfo = SHANGHAI, minutes: int = 45, **fields: object) -> Action:
    begin = at(zone, start)
    fields.setdefault("collectors", PAIR)
    return Action(channel="visit", start=begin, end=begin + dt.timedelta(minutes=minutes), **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "codes"),
    [
        ({}, []),
        ({"collectors": (trained(),)}, ["visit_team_too_small"]),
        ({"enters_residence": True}, ["visit_entry_without_consent"]),
        ({"enters_residence": True, "entry_consent": True}, []),
        ({"collectors": (trained(), CollectorFacts(7, "无证", "X1"))}, ["training_missing", "training_missing"]),
    ],
)
def test_cn_v1_and_a2_field_visits(fields: dict, codes: list[str]) -> None:
    verdict = evaluate(visit("2026-11-30T10:00:00", **fields), BorrowerFacts(zone=SHANGHAI), [], CN)
    assert [hit.code for hit in verdict.refusals] == codes


def test_an_expired_certificate_no_longer_counts() -> None:
    lapsed = CollectorFacts(
        3, "孙催收", "CD0003",
        certificates=(Certificate("pre_job", dt.date(2025, 1, 1), None), Certificate("annual", dt.date(2025, 1, 1), dt.date(2025, 12, 31))),
    )
    verdict = evaluate(visit("2026-11-30T10:00:00", collectors=(trained(), lapsed)), BorrowerFacts(zone=SHANGHAI), [], CN)
    assert [(hit.rule_id, hit.params["kind"]) for hit in verdict.refusals] == [("CN-A2", "annual")]
    assert verdict.overridable  # CN-A2 ships overridable; CN-V1 too


@pytest.mark.parametrize(
    ("facts", "rule"),
    [
        (BorrowerFacts(zone=SHANGHAI, has_dispute=True), "FLAG-DISPUTE"),
        (BorrowerFacts(zone=SHANGHAI, is_deceased=True), "FLAG-DECEASED"),
        (BorrowerFacts(zone=SHANGHAI, do_not_visit=True), "FLAG-DNV"),
        (BorrowerFacts(zone=SHANGHAI, is_vulnerable=True), "FLAG-VULNERABLE"),
    ],
)
def test_borrower_flags_stop_visits_everywhere(facts: BorrowerFacts, rule: str) -> None:
    for rules_ in (CN, US, UK, IN):
        verdict = evaluate(visit("2026-11-30T10:00:00", notice_given=True), facts, [], rules_)
        assert rule in fired(verdict)


def test_a_deceased_borrower_has_no_earliest_time() -> None:
    verdict = evaluate(call(at(SHANGHAI, "2026-11-30T10:00:00")), BorrowerFacts(zone=SHANGHAI, is_deceased=True), [], CN)
    assert not verdict.allowed
    assert verdict.earliest_allowed is None
    assert not verdict.overridable


def test_uk_v1_no_visit_to_a_vulnerable_customer_and_notice_first() -> None:
    facts = BorrowerFacts(zone=LONDON)
    assert [hit.code for hit in evaluate(visit("2026-11-30T10:00:00", LONDON), facts, [], UK).refusals] == [
        "visit_notice_missing"
    ]
    assert evaluate(visit("2026-11-30T10:00:00", LONDON, notice_given=True), facts, [], UK).allowed
    vulnerable = BorrowerFacts(zone=LONDON, is_vulnerable=True)
    verdict = evaluate(visit("2026-11-30T10:00:00", LONDON, notice_given=True), vulnerable, [], UK)
    assert fired(verdict) == {"UK-V1", "FLAG-VULNERABLE"}
    assert not verdict.overridable  # UK-V1 allows no override


def test_us_workplace_cease_and_validation_notice() -> None:
    moment = at(NEW_YORK, "2026-11-30T10:00:00")
    assert fired(evaluate(call(moment, place="workplace"), BorrowerFacts(zone=NEW_YORK, workplace_contact_forbidden=True), [], US)) == {"US-P1"}
    assert fired(evaluate(call(moment), BorrowerFacts(zone=NEW_YORK, cease_requested=True), [], US)) == {"US-P2"}
    first = at(NEW_YORK, "2026-11-24T10:00:00")
    overdue = BorrowerFacts(zone=NEW_YORK, first_contact_at=first)
    assert fired(evaluate(call(moment), overdue, [], US)) == {"US-V1"}
    assert evaluate(call(moment, purpose="validation_notice"), overdue, [], US).allowed
    assert evaluate(call(moment), BorrowerFacts(zone=NEW_YORK, first_contact_at=first, validation_notice_at=first), [], US).allowed


def test_agencies_need_the_outsourcing_notice_and_in_india_the_iibf_certificate() -> None:
    moment = at(KOLKATA, "2026-11-30T10:00:00")
    agent = trained("Ravi", "iibf_dra", agency=True)
    facts = BorrowerFacts(zone=KOLKATA)
    assert fired(evaluate(call(moment, collectors=(agent,)), facts, [], IN)) == {"IN-ID1"}
    told = BorrowerFacts(zone=KOLKATA, outsourcing_notice_at=at(KOLKATA, "2026-11-01T10:00:00"))
    assert evaluate(call(moment, collectors=(agent,)), told, [], IN).allowed
    uncertified = trained("Asha", "pre_job", agency=True)
    assert fired(evaluate(call(moment, collectors=(uncertified,)), told, [], IN)) == {"IN-TR1"}
    grievance = BorrowerFacts(zone=KOLKATA, outsourcing_notice_at=told.outsourcing_notice_at, grievance_pending=True)
    assert fired(evaluate(call(moment, collectors=(agent,)), grievance, [], IN)) == {"IN-G1"}
    # The bank's own staff may still work a case with a pending grievance.
    assert evaluate(call(moment, collectors=(trained("Staff", "iibf_dra"),)), grievance, [], IN).allowed


def test_cn_v2_unrecorded_calls_are_refused() -> None:
    verdict = evaluate(call(at(SHANGHAI, "2026-11-30T10:00:00"), recorded=False), BorrowerFacts(zone=SHANGHAI), [], CN)
    assert [hit.code for hit in verdict.refusals] == ["recording_required"]


# ---------------------------------------------------------------- the borrower's own requests


def test_a_requested_evening_window_moves_the_earliest_time() -> None:
    evenings = (WeeklyWindow(frozenset({1, 2, 3, 4, 5}), dt.time(18), dt.time(20)),)
    facts = BorrowerFacts(zone=SHANGHAI, contact_windows=evenings)
    # Saturday morning: the next window is Monday 18:00.
    verdict = evaluate(call(at(SHANGHAI, "2026-11-28T10:00:00")), facts, [], CN)
    assert fired(verdict) == {"FLAG-WINDOW"}
    assert verdict.earliest_allowed == at(SHANGHAI, "2026-11-30T18:00:00")
    assert evaluate(call(at(SHANGHAI, "2026-11-30T19:59:00")), facts, [], CN).allowed


def test_a_blackout_refuses_until_it_ends_then_the_hours_rule_takes_over() -> None:
    blackout = ((at(SHANGHAI, "2026-11-30T00:00:00"), at(SHANGHAI, "2026-12-03T00:00:00")),)
    verdict = evaluate(call(at(SHANGHAI, "2026-12-01T10:00:00")), BorrowerFacts(zone=SHANGHAI, blackouts=blackout), [], CN)
    assert fired(verdict) == {"FLAG-BLACKOUT"}
    # The blackout ends at midnight, when the quiet hours hold: the first allowed moment is 08:00.
    assert verdict.earliest_allowed == at(SHANGHAI, "2026-12-03T08:00:00")


def test_the_earliest_time_combines_a_full_day_with_the_window() -> None:
    # Six unanswered attempts on Monday and an evening-only window: next chance is Tuesday 18:00.
    evenings = (WeeklyWindow(frozenset(range(1, 8)), dt.time(18), dt.time(21)),)
    history = [unanswered(at(SHANGHAI, f"2026-11-30T18:{10 * i:02d}:00")) for i in range(6)]
    verdict = evaluate(call(at(SHANGHAI, "2026-11-30T20:00:00")), BorrowerFacts(zone=SHANGHAI, contact_windows=evenings), history, CN)
    assert verdict.earliest_allowed == at(SHANGHAI, "2026-12-01T18:00:00")


def test_inbound_contacts_are_never_refused() -> None:
    verdict = evaluate(call(at(SHANGHAI, "2026-11-30T23:00:00"), direction="inbound"), BorrowerFacts(zone=SHANGHAI), [], CN)
    assert verdict.allowed
    assert [hit.rule_id for hit in verdict.warnings] == ["CN-T1"]


@pytest.mark.parametrize("bad", [dict(start=dt.datetime(2026, 11, 30, 10)), dict(end=at(SHANGHAI, "2026-11-30T09:00:00"))])
def test_naive_times_and_backwards_contacts_are_rejected(bad: dict) -> None:
    fields = {"channel": "call", "start": at(SHANGHAI, "2026-11-30T10:00:00"), **bad}
    with pytest.raises(ValueError):
        evaluate(Action(**fields), BorrowerFacts(zone=SHANGHAI), [], CN)
