"""The contact rules as pure functions over plain data. No Django here.

`evaluate()` takes a proposed contact, the borrower's facts, the relevant ledger history and the
rule set's enabled rules, and returns a verdict: every rule that fired (refusals and near misses),
whether each refusal may be overridden, and the earliest moment the same contact would be allowed.

Every rule names a `check` (the evaluator below) and carries its parameters as data, so the same
evaluator serves several jurisdictions: "contact_hours" is CN-T1 with 08:00–22:00 and IN-T1 with
08:00–19:00. Times are aware datetimes; days and hours are judged in the borrower's zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, NamedTuple

REFUSE = "refuse"
WARN = "warn"

OUTBOUND = "outbound"
INBOUND = "inbound"
DEBTOR = "debtor"
GUARANTOR = "guarantor"
THIRD_PARTY = "third_party"
CALL = "call"
VISIT = "visit"

# Ledger outcomes meaning the call never reached the line (busy tone, network failure).
NOT_PLACED_OUTCOMES = frozenset({"busy", "failed"})
# How far an earliest-time search looks ahead before answering "no time would help".
SEARCH_DAYS = 400
MAX_ROUNDS = 64


@dataclass(frozen=True)
class Certificate:
    kind: str
    issued_on: dt.date
    expires_on: dt.date | None

    def valid_on(self, day: dt.date) -> bool:
        return self.issued_on <= day and (self.expires_on is None or day <= self.expires_on)


@dataclass(frozen=True)
class CollectorFacts:
    collector_id: int
    name: str
    badge_number: str = ""
    is_agency: bool = False
    certificates: tuple[Certificate, ...] = ()


class Action(NamedTuple):
    """A proposed contact. `end` is the planned end (a visit's whole duration); None means instantaneous.

    A named tuple, like `PastContact`: the gate builds one per check and moves it while searching
    for the earliest allowed time.
    """

    channel: str
    start: dt.datetime
    end: dt.datetime | None = None
    target: str = DEBTOR
    relation: str = ""
    purpose: str = "collect"  # collect | locate | message | validation_notice
    direction: str = OUTBOUND
    contact_point: str = ""  # a keyed hash of the phone number or address; never the number itself
    debt_key: str = ""  # which debt the contact is about (US counts per debt)
    place: str = "home"  # home | workplace | other
    collectors: tuple[CollectorFacts, ...] = ()
    discloses_debt: bool = False
    recorded: bool = True
    enters_residence: bool = False
    entry_consent: bool = False
    notice_given: bool = False

    @property
    def finish(self) -> dt.datetime:
        return self.end if self.end is not None else self.start

    def moved_to(self, start: dt.datetime) -> Action:
        if self.end is None:
            return self._replace(start=start)
        return self._replace(start=start, end=start + (self.end - self.start))


@dataclass(frozen=True)
class WeeklyWindow:
    """Borrower-requested contact time: ISO weekdays (1 = Monday) and local [opens, closes)."""

    weekdays: frozenset[int]
    opens: dt.time
    closes: dt.time


@dataclass(frozen=True)
class BorrowerFacts:
    zone: dt.tzinfo
    is_vulnerable: bool = False
    is_deceased: bool = False
    has_dispute: bool = False
    do_not_visit: bool = False
    is_unreachable: bool = False
    is_incapacitated: bool = False
    consent_outside_hours: bool = False
    workplace_contact_forbidden: bool = False
    cease_requested: bool = False
    grievance_pending: bool = False
    outsourcing_notice_at: dt.datetime | None = None
    first_contact_at: dt.datetime | None = None
    validation_notice_at: dt.datetime | None = None
    contact_windows: tuple[WeeklyWindow, ...] = ()
    blackouts: tuple[tuple[dt.datetime, dt.datetime], ...] = ()
    do_not_contact: frozenset[str] = frozenset()


class PastContact(NamedTuple):
    """One ledger row as the rules see it. `carried_out` is false for refused attempts.

    A named tuple rather than a frozen dataclass: one is built per ledger row on every check, and a
    tuple is several times cheaper to build.
    """

    started_at: dt.datetime
    channel: str
    direction: str = OUTBOUND
    target: str = DEBTOR
    contact_point: str = ""
    debt_key: str = ""
    connected: bool | None = None
    right_party: bool | None = None
    with_consent: bool = False
    outcome: str = ""
    carried_out: bool = True


@dataclass(frozen=True)
class RuleSpec:
    rule_id: str
    check: str
    params: Mapping[str, Any] = field(default_factory=dict)
    overridable: bool = False


@dataclass(frozen=True)
class Hit:
    """A rule that fired. `code` and `params` become a sentence in the user's language."""

    rule_id: str
    code: str
    severity: str
    overridable: bool
    params: Mapping[str, Any] = field(default_factory=dict)
    earliest: dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "code": self.code,
            "severity": self.severity,
            "overridable": self.overridable,
            "params": {key: _plain(value) for key, value in self.params.items()},
            "earliest": self.earliest.isoformat() if self.earliest else None,
        }


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    hits: tuple[Hit, ...]
    earliest_allowed: dt.datetime | None

    @property
    def refusals(self) -> tuple[Hit, ...]:
        return tuple(hit for hit in self.hits if hit.severity == REFUSE)

    @property
    def warnings(self) -> tuple[Hit, ...]:
        return tuple(hit for hit in self.hits if hit.severity == WARN)

    @property
    def overridable(self) -> bool:
        """A refusal may be overridden only when every rule that refused allows it."""
        return bool(self.refusals) and all(hit.overridable for hit in self.refusals)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(hit.rule_id for hit in self.hits)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, frozenset | set | tuple):
        return sorted(value) if isinstance(value, frozenset | set) else list(value)
    return value


# ---------------------------------------------------------------- time helpers


# The parsed forms below are cached by value: rule parameters repeat on every check of a rule set.
@lru_cache(maxsize=256)
def parse_time(text: str) -> dt.time:
    """"08:00" → 08:00; "24:00" means the end of the day and is returned as time.max."""
    if text in {"24:00", "24:00:00"}:
        return dt.time.max
    return dt.time.fromisoformat(text)


def local_midnight_after(moment: dt.datetime, zone: dt.tzinfo, days: int = 1) -> dt.datetime:
    day = moment.astimezone(zone).date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time.min, tzinfo=zone)


def _at(day: dt.date, when: dt.time, zone: dt.tzinfo) -> dt.datetime:
    if when == dt.time.max:
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return dt.datetime.combine(day, when, tzinfo=zone)


# Datetimes in two different zones compare as instants, at the price of offset look-ups on every
# comparison; datetimes in one zone compare by wall clock. Window bounds are therefore kept in both
# forms: a moment in the borrower's zone is compared with the local bounds, any other moment in UTC
# with the UTC bounds, which gives exactly Python's own answers several times faster.
def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is dt.UTC else moment.astimezone(dt.UTC)


@lru_cache(maxsize=1024)
def _window_on(
    day: dt.date, opens: dt.time, closes: dt.time, zone: dt.tzinfo
) -> tuple[dt.datetime, dt.datetime, dt.datetime, dt.datetime]:
    """A window's opening and closing on one local day, and the same two instants in UTC."""
    opening, closing = _at(day, opens, zone), _at(day, closes, zone)
    return opening, closing, _utc(opening), _utc(closing)


def fits_window(
    start: dt.datetime, finish: dt.datetime, zone: dt.tzinfo, opens: dt.time, closes: dt.time
) -> tuple[bool, dt.datetime, dt.datetime]:
    """Whether [start, finish] lies inside [opens, closes] of the local day it starts on."""
    opening, closing, opening_utc, closing_utc = _window_on(start.astimezone(zone).date(), opens, closes, zone)
    if start.tzinfo is zone or finish.tzinfo is zone:
        inside = opening <= start < closing and finish <= closing
    else:
        start_utc = _utc(start)
        inside = opening_utc <= start_utc < closing_utc and _utc(finish) <= closing_utc
    return inside, opening, closing


def next_fit(
    start: dt.datetime, duration: dt.timedelta, zone: dt.tzinfo, windows: Sequence[WeeklyWindow]
) -> dt.datetime | None:
    """The earliest moment ≥ start at which a contact of `duration` fits entirely in one window."""
    first_day = start.astimezone(zone).date()
    in_zone, start_utc = start.tzinfo is zone, _utc(start)
    for offset in range(0, 15):
        day = first_day + dt.timedelta(days=offset)
        candidates = []
        for window in windows:
            if day.isoweekday() not in window.weekdays:
                continue
            opening, closing, opening_utc, closing_utc = _window_on(day, window.opens, window.closes, zone)
            if in_zone:
                begin = max(opening, start)
                fits = begin + duration <= closing and begin < closing
            elif start_utc > opening_utc:
                begin = start
                fits = _utc(start + duration) <= closing_utc and start_utc < closing_utc
            else:
                begin = opening
                fits = opening + duration <= closing and opening < closing
            if fits:
                candidates.append(begin)
        if candidates:
            return min(candidates)
    return None


@lru_cache(maxsize=64)
def _every_day(opens: dt.time, closes: dt.time) -> tuple[WeeklyWindow]:
    return (WeeklyWindow(frozenset(range(1, 8)), opens, closes),)


@lru_cache(maxsize=64)
def _minutes(count: int) -> dt.timedelta:
    return dt.timedelta(minutes=count)


def _local_day(moment: dt.datetime, zone: dt.tzinfo) -> dt.date:
    return moment.astimezone(zone).date()


# ---------------------------------------------------------------- the evaluators

Evaluator = Callable[[RuleSpec, Action, BorrowerFacts, Sequence[PastContact]], Iterable[Hit]]
CHECKS: dict[str, Evaluator] = {}


def _evaluator(name: str) -> Callable[[Evaluator], Evaluator]:
    def register(function: Evaluator) -> Evaluator:
        CHECKS[name] = function
        return function

    return register


def _refuse(rule: RuleSpec, code: str, earliest: dt.datetime | None = None, **params: Any) -> Hit:
    return Hit(rule.rule_id, code, REFUSE, rule.overridable, params, earliest)


def _warn(rule: RuleSpec, code: str, **params: Any) -> Hit:
    return Hit(rule.rule_id, code, WARN, False, params, None)


def _applies_to_channel(rule: RuleSpec, action: Action) -> bool:
    channels = rule.params.get("channels")
    return not channels or action.channel in channels


@_evaluator("contact_hours")
def check_contact_hours(rule: RuleSpec, action: Action, facts: BorrowerFacts, _: Sequence[PastContact]) -> list[Hit]:
    """CN-T1, US-T1, UK-T1, IN-T1: the whole contact (a visit from arrival to departure) inside local hours."""
    if not _applies_to_channel(rule, action):
        return []
    if rule.params.get("consent_waives") and facts.consent_outside_hours:
        return []
    allowed_start, allowed_end = rule.params["allowed_start"], rule.params["allowed_end"]
    opens, closes = parse_time(allowed_start), parse_time(allowed_end)
    inside, opening, closing = fits_window(action.start, action.finish, facts.zone, opens, closes)
    if not inside:
        earliest = next_fit(action.start, action.finish - action.start, facts.zone, _every_day(opens, closes))
        return [_refuse(rule, "outside_hours", earliest, start=allowed_start, end=allowed_end, zone=str(facts.zone))]
    margin = _minutes(int(rule.params.get("near_miss_minutes", 15)))
    if action.start - opening < margin or closing - action.finish < margin:
        return [_warn(rule, "near_hours_edge", start=allowed_start, end=allowed_end, zone=str(facts.zone))]
    return []


@lru_cache(maxsize=64)
def _utc_days_around(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return (
        dt.datetime.combine(day - dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC),
        dt.datetime.combine(day + dt.timedelta(days=2), dt.time.min, tzinfo=dt.UTC),
    )


def _same_day(events: Iterable[PastContact], day: dt.date, zone: dt.tzinfo) -> Iterable[PastContact]:
    # A UTC offset is less than a day, so a moment on local `day` falls on the UTC day before, on or
    # after it: one comparison in UTC rules out most events before their local day is worked out.
    earliest, latest = _utc_days_around(day)
    return (
        event
        for event in events
        if earliest <= _utc(event.started_at) < latest and _local_day(event.started_at, zone) == day
    )


def _daily_cap(rule: RuleSpec, action: Action, facts: BorrowerFacts, count: int, code: str) -> list[Hit]:
    limit = int(rule.params["max_per_day"])
    if count >= limit:
        return [_refuse(rule, code, local_midnight_after(action.start, facts.zone), count=count, limit=limit)]
    if count == limit - 1:
        return [_warn(rule, "near_cap", count=count + 1, limit=limit)]
    return []


@_evaluator("unanswered_per_number_per_day")
def check_unanswered(rule: RuleSpec, action: Action, facts: BorrowerFacts, history: Sequence[PastContact]) -> list[Hit]:
    """CN-F1: unanswered dial attempts to one number per local calendar day."""
    if action.channel != CALL or action.direction != OUTBOUND:
        return []
    day = _local_day(action.start, facts.zone)
    count = sum(
        1
        for event in _same_day(history, day, facts.zone)
        if event.carried_out
        and event.channel == CALL
        and event.direction == OUTBOUND
        and event.contact_point == action.contact_point
        and event.connected is not True
    )
    return _daily_cap(rule, action, facts, count, "unanswered_cap")


@_evaluator("connected_per_debtor_per_day")
def check_connected(rule: RuleSpec, action: Action, facts: BorrowerFacts, history: Sequence[PastContact]) -> list[Hit]:
    """CN-F2: connected outbound calls with the debtor per day, counted over the whole shared ledger."""
    if action.channel != CALL or action.direction != OUTBOUND or action.target != DEBTOR:
        return []
    day = _local_day(action.start, facts.zone)
    count = sum(
        1
        for event in _same_day(history, day, facts.zone)
        if event.carried_out
        and event.channel == CALL
        and event.direction == OUTBOUND
        and event.target == DEBTOR
        and event.connected is True
    )
    return _daily_cap(rule, action, facts, count, "connected_cap")


def _us_counted_calls(action: Action, history: Sequence[PastContact]) -> list[PastContact]:
    return [
        event
        for event in history
        if event.carried_out
        and event.channel == CALL
        and event.direction == OUTBOUND
        and event.debt_key == action.debt_key
        and not event.with_consent
        and event.outcome not in NOT_PLACED_OUTCOMES
    ]


@_evaluator("calls_per_debt_rolling")
def check_rolling_calls(rule: RuleSpec, action: Action, facts: BorrowerFacts, history: Sequence[PastContact]) -> list[Hit]:
    """US-F1: at most N calls about one debt in any D consecutive local days, and a cooldown after a conversation."""
    if action.channel != CALL or action.direction != OUTBOUND:
        return []
    hits: list[Hit] = []
    limit, days = int(rule.params["max_calls"]), int(rule.params["period_days"])
    zone = facts.zone
    day = _local_day(action.start, zone)
    per_day: dict[dt.date, int] = {}
    for event in _us_counted_calls(action, history):
        event_day = _local_day(event.started_at, zone)
        per_day[event_day] = per_day.get(event_day, 0) + 1

    def busiest_period_through(candidate: dt.date) -> int:
        # Every period of `days` consecutive days that contains the candidate day must stay under the cap.
        worst = 0
        for shift in range(days):
            first = candidate - dt.timedelta(days=days - 1 - shift)
            total = sum(per_day.get(first + dt.timedelta(days=i), 0) for i in range(days))
            worst = max(worst, total)
        return worst

    busiest = busiest_period_through(day)
    if busiest >= limit:
        earliest = None
        for offset in range(1, SEARCH_DAYS):
            candidate = day + dt.timedelta(days=offset)
            if busiest_period_through(candidate) < limit:
                earliest = dt.datetime.combine(candidate, dt.time.min, tzinfo=zone)
                break
        hits.append(_refuse(rule, "weekly_call_cap", earliest, count=busiest, limit=limit, days=days))
    elif busiest == limit - 1:
        hits.append(_warn(rule, "near_cap", count=busiest + 1, limit=limit))

    cooldown = int(rule.params.get("cooldown_days", 0))
    if cooldown:
        conversations = [
            _local_day(event.started_at, zone)
            for event in history
            if event.carried_out
            and event.channel == CALL
            and event.connected is True
            and event.right_party is True
            and event.debt_key == action.debt_key
            and event.started_at <= action.start
        ]
        if conversations:
            last = max(conversations)
            # The conversation day is day 1 of the cooldown.
            until = last + dt.timedelta(days=cooldown)
            if day < until:
                earliest = dt.datetime.combine(until, dt.time.min, tzinfo=zone)
                hits.append(_refuse(rule, "conversation_cooldown", earliest, date=last, until=until))
    return hits


@_evaluator("target_allowed")
def check_target_allowed(rule: RuleSpec, action: Action, facts: BorrowerFacts, _: Sequence[PastContact]) -> list[Hit]:
    """IN-3P1 and the first half of CN-3P1: only these kinds of person may be contacted."""
    if action.direction != OUTBOUND:
        return []
    allowed = rule.params.get("allowed_targets", [DEBTOR, GUARANTOR])
    if action.target not in allowed:
        return [_refuse(rule, "target_not_allowed", None, target=action.target)]
    return []


@_evaluator("third_party_purpose")
def check_third_party_purpose(rule: RuleSpec, action: Action, facts: BorrowerFacts, _: Sequence[PastContact]) -> list[Hit]:
    """CN-3P1: a third party unrelated to the debt is never asked to pay."""
    if action.direction == OUTBOUND and action.target == THIRD_PARTY and action.purpose == "collect":
        return [_refuse(rule, "third_party_collect")]
    return []


@_evaluator("third_party_preconditions")
def check_third_party_preconditions(
    rule: RuleSpec, action: Action, facts: BorrowerFacts, _: Sequence[PastContact]
) -> list[Hit]:
    """CN-3P2: third parties only when the debtor is unreachable, dead or incapable; never the debt."""
    if action.direction != OUTBOUND or action.target != THIRD_PARTY:
        return []
    hits = []
    met = {"debtor_unreachable": facts.is_unreachable, "deceased": facts.is_deceased,
           "incapacitated": facts.is_incapacitated}
    if not any(met.get(name, False) for name in rule.params.get("preconditions", list(met))):
        hits.append(_refuse(rule, "third_party_precondition"))
    purposes = rule.params.get("allowed_purposes", ["locate", "message"])
    if action.purpose not in purposes:
        hits.append(_refuse(rule, "third_party_purpose", None, purpose=action.purpose))
    if action.discloses_debt and not rule.params.get("disclose_debt", False):
        hits.append(_refuse(rule, "third_party_disclosure"))
    return hits


@_evaluator("third_party_once")
def check_third_party_once(rule: RuleSpec, action: Action, facts: BorrowerFacts, history: Sequence[PastContact]) -> list[Hit]:
    """US-3P1: a third party is asked for location information only, once, and hears nothing of the debt."""
    if action.direction != OUTBOUND or action.target != THIRD_PARTY:
        return []
    hits = []
    if action.purpose != "locate":
        hits.append(_refuse(rule, "third_party_purpose", None, purpose=action.purpose))
    if action.discloses_debt:
        hits.append(_refuse(rule, "third_party_disclosure"))
    limit = int(rule.params.get("max_contacts", 1))
    earlier = sum(
        1
        for event in history
        if event.carried_out and event.target == THIRD_PARTY and event.contact_point == action.contact_point
    )
    if action.contact_point and earlier >= limit:
        hits.append(_refuse(rule, "third_party_repeat", None, count=earlier, limit=limit))
    return hits


@_evaluator("visit_team")
def check_visit_team(rule: RuleSpec, action: Action, facts: BorrowerFacts, _: Sequence[PastContact]) -> list[Hit]:
    """CN-V1: at least N collectors, each with an ID badge; no entry into a home without consent."""
    if action.channel != VISIT:
        return []
    hits = []
    minimum = int(rule.params.get("min_team", 2))
    if len(action.collectors) < minimum:
        hits.append(_refuse(rule, "visit_team_too_small", None, count=len(action.collectors), minimum=minimum))
    if rule.params.get("id_shown", True):
        for collector in action.collectors:
            if not collector.badge_number:
                hits.append(_refuse(rule, "visit_no_id", None, collector=collector.name))
    if action.enters_residence and not action.entry_consent:
        hits.append(_refuse(rule, "visit_entry_without_consent"))
    return hits


@_evaluator("recording")
def check_recording(rule: RuleSpec, action: Action, facts: BorrowerFacts, _: Sequence[PastContact]) -> list[Hit]:
    """CN-V2: calls are recorded (mandatory); visits are recorded where the product says so."""
    if action.recorded:
        return []
    if action.channel == CALL and rule.params.get("record_calls") == "mandatory":
        return [_refuse(rule, "recording_required", None, channel=CALL)]
    if action.channel == VISIT:
        if rule.params.get("record_visits") == "mandatory":
            return [_refuse(rule, "recording_required", None, channel=VISIT)]
        if rule.params.get("record_visits") == "recommended":
            return [_warn(rule, "recording_recommended")]
    return []


@_evaluator("outsourcing_notice")
def check_outsourcing_notice(rule: RuleSpec, action: Action, facts: BorrowerFacts, _: Sequence[PastContact]) -> list[Hit]:
    """CN-ID1, IN-ID1: agency staff may act only after the borrower was told the case was outsourced."""
    if not any(collector.is_agency for collector in action.collectors):
        return []
    notice = facts.outsourcing_notice_at
    if notice is None:
        return [_refuse(rule, "outsourcing_notice_missing")]
    if notice > action.start:
        return [_refuse(rule, "outsourcing_notice_missing", notice)]
    return []


@_evaluator("training_current")
def check_training(rule: RuleSpec, action: Action, facts: BorrowerFacts, _: Sequence[PastContact]) -> list[Hit]:
    """CN-A2, IN-TR1: every collector on the contact holds a valid certificate of each required kind."""
    if not action.collectors or not _applies_to_channel(rule, action):
        return []
    day = _local_day(action.start, facts.zone)
    agency_only = rule.params.get("applies_to") == "agency"
    hits = []
    for collector in action.collectors:
        if agency_only and not collector.is_agency:
            continue
        for kind in rule.params.get("required_kinds", []):
            if not any(cert.kind == kind and cert.valid_on(day) for cert in collector.certificates):
                future = [cert.issued_on for cert in collector.certificates if cert.kind == kind and cert.issued_on > day]
                earliest = dt.datetime.combine(min(future), dt.time.min, tzinfo=facts.zone) if future else None
                hits.append(_refuse(rule, "training_missing", earliest, collector=collector.name, kind=kind))
    return hits


@_evaluator("validation_notice")
def check_validation_notice(rule: RuleSpec, action: Action, facts: BorrowerFacts, _: Sequence[PastContact]) -> list[Hit]:
    """US-V1: the validation notice goes out within N days of the first communication."""
    if action.direction != OUTBOUND or action.purpose == "validation_notice" or facts.validation_notice_at:
        return []
    if facts.first_contact_at is None:
        return []
    deadline = facts.first_contact_at + dt.timedelta(days=int(rule.params.get("days", 5)))
    if action.start > deadline:
        return [_refuse(rule, "validation_notice_overdue", None, deadline=deadline.astimezone(facts.zone))]
    return [_warn(rule, "validation_notice_due", deadline=deadline.astimezone(facts.zone))]


@_evaluator("workplace")
def check_workplace(rule: RuleSpec, action: Action, facts: BorrowerFacts, _: Sequence[PastContact]) -> list[Hit]:
    """US-P1: no contact at work when the employer forbids it."""
    if action.place == "workplace" and facts.workplace_contact_forbidden and action.direction == OUTBOUND:
        return [_refuse(rule, "workplace_forbidden")]
    return []


@_evaluator("cease")
def check_cease(rule: RuleSpec, action: Action, facts: BorrowerFacts, _: Sequence[PastContact]) -> list[Hit]:
    """US-P2: a cease request stops collection contact."""
    if facts.cease_requested and action.direction == OUTBOUND and action.purpose != "validation_notice":
        return [_refuse(rule, "cease_requested")]
    return []


@_evaluator("visit_protections")
def check_visit_protections(rule: RuleSpec, action: Action, facts: BorrowerFacts, _: Sequence[PastContact]) -> list[Hit]:
    """UK-V1: no visit to a known vulnerable customer; adequate notice before a visit."""
    if action.channel != VISIT:
        return []
    hits = []
    if facts.is_vulnerable:
        hits.append(_refuse(rule, "vulnerable_no_visit"))
    if rule.params.get("notice_required", True) and not action.notice_given:
        hits.append(_refuse(rule, "visit_notice_missing"))
    return hits


@_evaluator("grievance_hold")
def check_grievance(rule: RuleSpec, action: Action, facts: BorrowerFacts, _: Sequence[PastContact]) -> list[Hit]:
    """IN-G1: while a grievance is pending the case stays with the bank, not its agents."""
    if facts.grievance_pending and any(collector.is_agency for collector in action.collectors):
        return [_refuse(rule, "grievance_pending")]
    return []


@_evaluator("dispute_hold")
def check_dispute(rule: RuleSpec, action: Action, facts: BorrowerFacts, _: Sequence[PastContact]) -> list[Hit]:
    if facts.has_dispute and action.direction == OUTBOUND:
        return [_refuse(rule, "dispute_hold")]
    return []


@_evaluator("deceased")
def check_deceased(rule: RuleSpec, action: Action, facts: BorrowerFacts, _: Sequence[PastContact]) -> list[Hit]:
    if facts.is_deceased and action.direction == OUTBOUND and action.target == DEBTOR:
        return [_refuse(rule, "deceased")]
    return []


@_evaluator("do_not_visit")
def check_do_not_visit(rule: RuleSpec, action: Action, facts: BorrowerFacts, _: Sequence[PastContact]) -> list[Hit]:
    if facts.do_not_visit and action.channel == VISIT:
        return [_refuse(rule, "do_not_visit")]
    return []


@_evaluator("vulnerable")
def check_vulnerable(rule: RuleSpec, action: Action, facts: BorrowerFacts, _: Sequence[PastContact]) -> list[Hit]:
    if facts.is_vulnerable and action.channel in rule.params.get("channels", [VISIT]):
        return [_refuse(rule, "vulnerable")]
    return []


@_evaluator("do_not_contact")
def check_do_not_contact(rule: RuleSpec, action: Action, facts: BorrowerFacts, _: Sequence[PastContact]) -> list[Hit]:
    if action.direction == OUTBOUND and action.contact_point and action.contact_point in facts.do_not_contact:
        return [_refuse(rule, "do_not_contact")]
    return []


@_evaluator("requested_window")
def check_requested_window(rule: RuleSpec, action: Action, facts: BorrowerFacts, _: Sequence[PastContact]) -> list[Hit]:
    """A window the borrower asked for (shift work, say): contact only inside it."""
    if not facts.contact_windows or action.direction != OUTBOUND or action.target != DEBTOR:
        return []
    for window in facts.contact_windows:
        if action.start.astimezone(facts.zone).isoweekday() in window.weekdays:
            inside, _opening, _closing = fits_window(action.start, action.finish, facts.zone, window.opens, window.closes)
            if inside:
                return []
    earliest = next_fit(action.start, action.finish - action.start, facts.zone, facts.contact_windows)
    return [_refuse(rule, "outside_requested_window", earliest)]


@_evaluator("blackout")
def check_blackout(rule: RuleSpec, action: Action, facts: BorrowerFacts, _: Sequence[PastContact]) -> list[Hit]:
    """A period the borrower asked not to be contacted in (a bereavement, a hospital stay)."""
    if action.direction != OUTBOUND or action.target != DEBTOR:
        return []
    for begins, ends in facts.blackouts:
        if action.start < ends and action.finish >= begins:
            return [_refuse(rule, "blackout", ends, until=ends.astimezone(facts.zone))]
    return []


# ---------------------------------------------------------------- the verdict


def _hits(action: Action, facts: BorrowerFacts, history: Sequence[PastContact], rules: Sequence[RuleSpec]) -> list[Hit]:
    hits: list[Hit] = []
    for rule in rules:
        evaluator = CHECKS.get(rule.check)
        if evaluator is not None:
            hits.extend(evaluator(rule, action, facts, history))
    return hits


def evaluate(
    action: Action, facts: BorrowerFacts, history: Sequence[PastContact], rules: Sequence[RuleSpec]
) -> Verdict:
    """The verdict on `action`. Inbound contacts are never refused, only judged for the record."""
    if action.start.tzinfo is None or (action.end is not None and action.end.tzinfo is None):
        raise ValueError("contact times must be timezone-aware")
    if action.end is not None and action.end < action.start:
        raise ValueError("a contact cannot end before it starts")
    hits = _hits(action, facts, history, rules)
    if action.direction == INBOUND:
        hits = [replace(hit, severity=WARN) for hit in hits if hit.severity == REFUSE]
    refusals = [hit for hit in hits if hit.severity == REFUSE]
    if not refusals:
        return Verdict(True, tuple(hits), action.start)
    return Verdict(False, tuple(hits), _earliest(action, facts, history, rules, refusals))


def _earliest(
    action: Action,
    facts: BorrowerFacts,
    history: Sequence[PastContact],
    rules: Sequence[RuleSpec],
    refusals: list[Hit],
) -> dt.datetime | None:
    """Move the contact to the latest of the refusals' own earliest times until no rule refuses it.

    Each rule knows when it alone would allow the contact; moving there may run into another rule
    (a window opening on a day the weekly cap is still full), so the search repeats from there.
    """
    horizon = action.start + dt.timedelta(days=SEARCH_DAYS)
    moment = action.start
    for _round in range(MAX_ROUNDS):
        if any(hit.earliest is None for hit in refusals):
            return None
        later = max(hit.earliest for hit in refusals if hit.earliest is not None)
        if later <= moment or later > horizon:
            return None
        moment = later
        refusals = [hit for hit in _hits(action.moved_to(moment), facts, history, rules) if hit.severity == REFUSE]
        if not refusals:
            return moment
    return None
