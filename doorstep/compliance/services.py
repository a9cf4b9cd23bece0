"""The compliance gate and every write to the contact ledger and the rule sets.

`check()` is read-only and fast: one indexed query reads the case, the borrower's flags and the
ledger around the proposed time; the rule set and the collectors' certificates come from small
in-process caches. `contact_record()` writes the attempt to the ledger (refused ones too), judging
it again under a per-borrower lock so that two collectors cannot both take the last call of the day.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.collectors.models import Certificate, Collector
from doorstep.compliance import rules
from doorstep.compliance.catalogue import RULE_SETS
from doorstep.compliance.models import (
    Agency,
    BorrowerCompliance,
    CaseJurisdiction,
    Channel,
    ContactEvent,
    Direction,
    Jurisdiction,
    Place,
    Purpose,
    RetentionRun,
    Rule,
    RuleSet,
    Target,
    Verdict,
)
from doorstep.compliance.reasons import reason_text
from doorstep.core.audit import Actor, actor_fields, audit_record
from doorstep.portfolio import selectors as portfolio_selectors
from doorstep.portfolio.models import Borrower, Case

CACHE_SECONDS = 30.0
CARRIED_OUT = (Verdict.ALLOWED.value, Verdict.OVERRIDDEN.value)
MIN_OVERRIDE_REASON = 10
# The ledger is read this far either side of a proposed contact: far enough for the 7-day rolling
# caps to see every period that contains the contact's day.
MIN_REACH = dt.timedelta(days=8)
# Any value but None lets psycopg prepare; the gate asks for it explicitly with prepare=True.
PREPARE_THRESHOLD = 1_000_000
CHANNELS, TARGETS, PURPOSES = frozenset(Channel.values), frozenset(Target.values), frozenset(Purpose.values)
DIRECTIONS, PLACES = frozenset(Direction.values), frozenset(Place.values)


@dataclass(frozen=True)
class ContactAction:
    """A proposed contact, as schedulers, planners and the collector app describe it."""

    case_id: int
    channel: str
    start: dt.datetime
    end: dt.datetime | None = None
    target: str = Target.DEBTOR
    relation: str = ""
    purpose: str = Purpose.COLLECT
    direction: str = Direction.OUTBOUND
    contact_point_hash: str = ""
    loan_id: int | None = None
    place: str = Place.HOME
    collector_ids: tuple[int, ...] = ()
    discloses_debt: bool = False
    recorded: bool = True
    enters_residence: bool = False
    entry_consent: bool = False
    notice_given: bool = False
    with_consent: bool = False

    @property
    def debt_key(self) -> str:
        return f"loan:{self.loan_id}" if self.loan_id else f"case:{self.case_id}"

    def validate(self) -> None:
        errors = {}
        if self.channel not in CHANNELS:
            errors["channel"] = _("Unknown channel.")
        if self.target not in TARGETS:
            errors["target"] = _("Unknown target.")
        if self.purpose not in PURPOSES:
            errors["purpose"] = _("Unknown purpose.")
        if self.direction not in DIRECTIONS:
            errors["direction"] = _("Unknown direction.")
        if self.place not in PLACES:
            errors["place"] = _("Unknown place.")
        if timezone.is_naive(self.start) or (self.end is not None and timezone.is_naive(self.end)):
            errors["start"] = _("Times must carry a time zone.")
        elif self.end is not None and self.end < self.start:
            errors["end"] = _("A contact cannot end before it starts.")
        if errors:
            raise ValidationError(errors)


@dataclass(frozen=True)
class ContactVerdict:
    """The gate's answer: allowed or not, the rules that fired, and when the contact would be allowed."""

    action: ContactAction
    result: rules.Verdict
    rule_set_version: str
    zone: dt.tzinfo
    borrower_id: int

    @property
    def allowed(self) -> bool:
        return self.result.allowed

    @property
    def earliest_allowed(self) -> dt.datetime | None:
        return self.result.earliest_allowed

    @property
    def overridable(self) -> bool:
        return self.result.overridable

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return self.result.rule_ids

    @property
    def hits(self) -> list[dict[str, Any]]:
        return [hit.as_dict() for hit in self.result.hits]

    @property
    def reasons(self) -> list[dict[str, Any]]:
        """Every rule that fired, with its sentence in the active language."""
        return [{**hit, "reason": reason_text(hit)} for hit in self.hits]


class ComplianceError(ValidationError):
    pass


# ---------------------------------------------------------------- rule sets


@dataclass(frozen=True)
class LoadedRuleSet:
    label: str
    specs: tuple[rules.RuleSpec, ...]
    lookback: dt.timedelta
    loaded_at: float = field(default=0.0, compare=False)


_cache_lock = threading.Lock()
_rule_sets: dict[str, LoadedRuleSet] = {}
_collectors: dict[int, tuple[rules.CollectorFacts, float]] = {}


def caches_clear() -> None:
    """Forget cached rule sets and collectors (after an edit in this process; tests)."""
    with _cache_lock:
        _rule_sets.clear()
        _collectors.clear()


def default_jurisdiction() -> str:
    return str(getattr(settings, "DOORSTEP_JURISDICTION", "CN"))


def ruleset_active(jurisdiction: str) -> RuleSet:
    """The active rule set of a jurisdiction, seeding version 1 from the shipped table if there is none."""
    rule_set = RuleSet.objects.filter(jurisdiction=jurisdiction, is_active=True).first()
    if rule_set is None:
        if jurisdiction not in RULE_SETS:
            raise ComplianceError(_("No rule set for jurisdiction %(code)s.") % {"code": jurisdiction})
        rule_set = _ruleset_seed(jurisdiction)
    return rule_set


def _ruleset_seed(jurisdiction: str) -> RuleSet:
    with transaction.atomic():
        rule_set, created = RuleSet.objects.get_or_create(
            jurisdiction=jurisdiction,
            version=1,
            defaults={"is_active": True, "note": "Initial rule table", "created_by_label": "system"},
        )
        if created:
            Rule.objects.bulk_create(
                Rule(
                    rule_set=rule_set,
                    rule_id=row["rule_id"],
                    evaluator=row["check"],
                    enabled=row.get("enabled", True),
                    params=row["params"],
                    overridable=row["overridable"],
                    stage=row["stage"],
                    confidence=row["confidence"],
                    summary=row["summary"],
                    source=row["source"],
                )
                for row in RULE_SETS[jurisdiction]
            )
    return rule_set


def _lookback(specs: Iterable[rules.RuleSpec]) -> dt.timedelta:
    days = 2
    for spec in specs:
        for name in ("period_days", "cooldown_days"):
            if name in spec.params:
                days = max(days, int(spec.params[name]) + 1)
    return dt.timedelta(days=days)


def _loaded_rule_set(jurisdiction: str) -> LoadedRuleSet:
    now = time.monotonic()
    loaded = _rule_sets.get(jurisdiction)
    if loaded is not None and now - loaded.loaded_at < CACHE_SECONDS:
        return loaded
    rule_set = ruleset_active(jurisdiction)
    specs = tuple(
        rules.RuleSpec(rule.rule_id, rule.evaluator, dict(rule.params), rule.overridable)
        for rule in rule_set.rules.filter(enabled=True).exclude(evaluator="").order_by("id")
    )
    loaded = LoadedRuleSet(rule_set.label, specs, _lookback(specs), now)
    with _cache_lock:
        _rule_sets[jurisdiction] = loaded
    return loaded


def _validate_params(evaluator: str, params: Mapping[str, Any]) -> None:
    try:
        if evaluator == "contact_hours":
            opens, closes = rules.parse_time(params["allowed_start"]), rules.parse_time(params["allowed_end"])
            if opens >= closes:
                raise ValueError("window")
        for name in ("max_per_day", "max_calls", "period_days", "min_team", "max_contacts", "days", "retention_years"):
            if name in params and (not isinstance(params[name], int) or isinstance(params[name], bool) or params[name] < 0):
                raise ValueError(name)
        if evaluator == "calls_per_debt_rolling" and (params["max_calls"] < 1 or params["period_days"] < 1):
            raise ValueError("period")
    except (KeyError, ValueError, TypeError) as error:
        raise ComplianceError(
            _("The parameters are not valid for this rule (%(detail)s).") % {"detail": str(error) or "?"}
        ) from error


# Rules that ship without an override stay that way: the law leaves a team lead no discretion there.
NEVER_OVERRIDABLE: dict[str, frozenset[str]] = {
    code: frozenset(row["rule_id"] for row in rows if not row["overridable"]) for code, rows in RULE_SETS.items()
}


def ruleset_publish(
    *, actor: AbstractBaseUser, jurisdiction: str, changes: Mapping[str, Mapping[str, Any]], note: str
) -> RuleSet:
    """A new version of the jurisdiction's rule set with `changes` ({rule_id: {enabled, params, overridable}}).

    The previous version stays, inactive, as history; ledger rows keep the version that judged them.
    """
    if not actor.has_perm("compliance.edit_rules"):  # type: ignore[attr-defined]
        raise PermissionDenied(_("You may not edit rule sets."))
    if not note.strip():
        raise ComplianceError(_("Say what changed and why."))
    with transaction.atomic():
        current = RuleSet.objects.select_for_update().get(pk=ruleset_active(jurisdiction).pk)
        old_rules = list(current.rules.order_by("id"))
        known = {rule.rule_id for rule in old_rules}
        unknown = set(changes) - known
        if unknown:
            raise ComplianceError(_("Unknown rules: %(rules)s.") % {"rules": ", ".join(sorted(unknown))})
        diff: dict[str, dict[str, Any]] = {}
        new_rules = []
        for rule in old_rules:
            change = changes.get(rule.rule_id, {})
            params = dict(change.get("params", rule.params))
            enabled = bool(change.get("enabled", rule.enabled))
            overridable = bool(change.get("overridable", rule.overridable))
            if rule.evaluator:
                _validate_params(rule.evaluator, params)
            if overridable and not rule.overridable and rule.rule_id in NEVER_OVERRIDABLE.get(jurisdiction, ()):
                raise ComplianceError(
                    _("Rule %(rule)s never allows an override.") % {"rule": rule.rule_id}
                )
            before = {"enabled": rule.enabled, "params": rule.params, "overridable": rule.overridable}
            after = {"enabled": enabled, "params": params, "overridable": overridable}
            if before != after:
                diff[rule.rule_id] = {"before": before, "after": after}
            new_rules.append((rule, params, enabled, overridable))
        if not diff:
            raise ComplianceError(_("Nothing changed."))
        fields = actor_fields(actor)
        current.is_active = False
        current.save(update_fields=["is_active"])
        published = RuleSet.objects.create(
            jurisdiction=jurisdiction,
            version=current.version + 1,
            is_active=True,
            note=note.strip()[:300],
            created_by=fields["actor"],
            created_by_label=fields["actor_label"],
        )
        Rule.objects.bulk_create(
            Rule(
                rule_set=published,
                rule_id=rule.rule_id,
                evaluator=rule.evaluator,
                enabled=enabled,
                params=params,
                overridable=overridable,
                stage=rule.stage,
                confidence=rule.confidence,
                summary=rule.summary,
                source=rule.source,
            )
            for rule, params, enabled, overridable in new_rules
        )
        audit_record(
            actor=actor,
            action="compliance.ruleset.published",
            target=published,
            data={"version": published.label, "previous": current.label, "note": note.strip(), "changes": diff},
        )
    transaction.on_commit(caches_clear)
    return published


def case_jurisdiction_set(*, actor: AbstractBaseUser, case: Case, jurisdiction: str, reason: str) -> None:
    """Judge one case under another jurisdiction's rules (a borrower living abroad, a US-booked loan)."""
    if not actor.has_perm("compliance.edit_rules"):  # type: ignore[attr-defined]
        raise PermissionDenied(_("You may not change a case's jurisdiction."))
    if jurisdiction not in Jurisdiction.values:
        raise ComplianceError(_("Unknown jurisdiction."))
    if not reason.strip():
        raise ComplianceError(_("Give a reason."))
    with transaction.atomic():
        Case.objects.select_for_update().get(pk=case.pk)
        previous = CaseJurisdiction.objects.filter(case=case).values_list("jurisdiction", flat=True).first()
        CaseJurisdiction.objects.update_or_create(
            case=case,
            defaults={"jurisdiction": jurisdiction, "reason": reason.strip(), "set_by": actor, "set_at": timezone.now()},
        )
        audit_record(
            actor=actor,
            action="compliance.case.jurisdiction_set",
            target=case,
            data={"from": previous or default_jurisdiction(), "to": jurisdiction, "reason": reason.strip()},
        )


BORROWER_FACT_FIELDS = frozenset(
    {
        "consent_outside_hours",
        "is_unreachable",
        "is_incapacitated",
        "workplace_contact_forbidden",
        "cease_requested",
        "grievance_pending",
        "outsourced_to",
        "outsourcing_notice_at",
        "validation_notice_at",
        "contact_windows",
        "blackouts",
        "do_not_contact",
    }
)


def borrower_facts_update(*, actor: Actor, borrower: Borrower, reason: str, **changes: Any) -> BorrowerCompliance:
    """Record what the contact rules must know about a borrower (a consent, a requested window, an objection)."""
    unknown = set(changes) - BORROWER_FACT_FIELDS
    if unknown:
        raise ComplianceError(_("Unknown borrower facts: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    if "contact_windows" in changes:
        _parse_windows(changes["contact_windows"])
    if "blackouts" in changes:
        _parse_blackouts(changes["blackouts"])
    with transaction.atomic():
        facts = _facts_locked(borrower.pk)
        before = {name: _json_safe(getattr(facts, name)) for name in changes}
        for name, value in changes.items():
            setattr(facts, name, value)
        facts.updated_at = timezone.now()
        facts.full_clean()
        facts.save()
        audit_record(
            actor=actor,
            action="compliance.borrower.facts_updated",
            target=borrower,
            data={"before": before, "after": {name: _json_safe(value) for name, value in changes.items()},
                  "reason": reason},
        )
    return facts


def _json_safe(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _facts_locked(borrower_id: int) -> BorrowerCompliance:
    """The borrower's compliance row, locked. Every ledger write for one borrower queues on it."""
    BorrowerCompliance.objects.get_or_create(borrower_id=borrower_id)
    return BorrowerCompliance.objects.select_for_update().get(borrower_id=borrower_id)


# ---------------------------------------------------------------- reading facts fast


def _parse_windows(raw: Any) -> tuple[rules.WeeklyWindow, ...]:
    if isinstance(raw, str):
        raw = json.loads(raw or "[]")
    try:
        windows = tuple(
            rules.WeeklyWindow(
                frozenset(int(day) for day in item.get("weekdays", range(1, 8))),
                rules.parse_time(item["opens"]),
                rules.parse_time(item["closes"]),
            )
            for item in raw or []
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ComplianceError(_("A contact window needs weekdays, opens and closes (HH:MM).")) from error
    if any(window.opens >= window.closes or not window.weekdays <= set(range(1, 8)) for window in windows):
        raise ComplianceError(_("A contact window must open before it closes, on weekdays 1–7."))
    return windows


def _parse_blackouts(raw: Any) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
    if isinstance(raw, str):
        raw = json.loads(raw or "[]")
    try:
        periods = tuple(
            (dt.datetime.fromisoformat(item["starts"]), dt.datetime.fromisoformat(item["ends"])) for item in raw or []
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ComplianceError(_("A blackout needs starts and ends as ISO date-times with a zone.")) from error
    if any(timezone.is_naive(a) or timezone.is_naive(b) or b <= a for a, b in periods):
        raise ComplianceError(_("A blackout must carry a time zone and end after it starts."))
    return periods


def _as_datetime(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if timezone.is_naive(value) else value
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _as_json(value: Any) -> Any:
    if isinstance(value, str):
        return json.loads(value) if value else []
    return value or []


_ZONES: dict[str, ZoneInfo] = {}


def _zone(name: str) -> ZoneInfo:
    zone = _ZONES.get(name)
    if zone is None:
        zone = _ZONES[name] = ZoneInfo(name or settings.TIME_ZONE)
    return zone


@lru_cache(maxsize=64)
def _facts_sql(case_count: int) -> str:
    placeholders = ", ".join(["%s"] * case_count)
    # Only "%s" placeholders are interpolated into the text; every value is a bound parameter.
    return f"""
        SELECT c.id, c.borrower_id, b.time_zone, b.is_vulnerable, b.is_deceased, b.has_dispute, b.do_not_visit,
               f.consent_outside_hours, f.is_unreachable, f.is_incapacitated, f.workplace_contact_forbidden,
               f.cease_requested, f.grievance_pending, f.outsourcing_notice_at, f.first_contact_at,
               f.validation_notice_at, f.contact_windows, f.blackouts, f.do_not_contact, j.jurisdiction,
               e.id, e.started_at, e.channel, e.direction, e.target, e.contact_point_hash, e.loan_id, e.case_id,
               e.connected, e.right_party, e.with_consent, e.outcome_code, e.verdict
          FROM portfolio_case c
          JOIN portfolio_borrower b ON b.id = c.borrower_id
          LEFT JOIN compliance_borrowercompliance f ON f.borrower_id = c.borrower_id
          LEFT JOIN compliance_casejurisdiction j ON j.case_id = c.id
          LEFT JOIN compliance_contactevent e
                 ON e.borrower_id = c.borrower_id AND e.started_at >= %s AND e.started_at < %s
         WHERE c.id IN ({placeholders})
    """  # noqa: S608


def _borrower_facts(columns: tuple[Any, ...]) -> rules.BorrowerFacts:
    """The borrower's facts from the gate query's columns, `b.time_zone` through `f.do_not_contact`."""
    (time_zone, is_vulnerable, is_deceased, has_dispute, do_not_visit, consent_outside_hours, is_unreachable,
     is_incapacitated, workplace_contact_forbidden, cease_requested, grievance_pending, outsourcing_notice_at,
     first_contact_at, validation_notice_at, contact_windows, blackouts, do_not_contact) = columns
    return rules.BorrowerFacts(
        zone=_zone(time_zone),
        is_vulnerable=bool(is_vulnerable),
        is_deceased=bool(is_deceased),
        has_dispute=bool(has_dispute),
        do_not_visit=bool(do_not_visit),
        consent_outside_hours=bool(consent_outside_hours),
        is_unreachable=bool(is_unreachable),
        is_incapacitated=bool(is_incapacitated),
        workplace_contact_forbidden=bool(workplace_contact_forbidden),
        cease_requested=bool(cease_requested),
        grievance_pending=bool(grievance_pending),
        outsourcing_notice_at=_as_datetime(outsourcing_notice_at),
        first_contact_at=_as_datetime(first_contact_at),
        validation_notice_at=_as_datetime(validation_notice_at),
        contact_windows=_parse_windows(contact_windows) if contact_windows not in (None, "[]", []) else (),
        blackouts=_parse_blackouts(blackouts) if blackouts not in (None, "[]", []) else (),
        do_not_contact=frozenset(_as_json(do_not_contact)) if do_not_contact else frozenset(),
    )


# Most borrowers share one of a few combinations of flags (most have no compliance row at all), and
# the facts are immutable, so equal columns share one BorrowerFacts.
_borrower_facts_shared = lru_cache(maxsize=4096)(_borrower_facts)


def _borrower_facts_of(columns: tuple[Any, ...]) -> rules.BorrowerFacts:
    try:
        return _borrower_facts_shared(columns)
    except TypeError:  # JSON columns decoded to lists cannot be a cache key
        return _borrower_facts(columns)


@dataclass
class _CaseFacts:
    borrower_id: int
    facts: rules.BorrowerFacts
    jurisdiction: str
    history: list[rules.PastContact]
    seen: set[int]


def _past(row: Sequence[Any]) -> rules.PastContact:
    (_event_id, started_at, channel, direction, target, point, loan_id, case_id,
     connected, right_party, with_consent, outcome, verdict) = row
    return rules.PastContact(
        started_at=_as_datetime(started_at),  # type: ignore[arg-type]
        channel=channel,
        direction=direction,
        target=target,
        contact_point=point,
        debt_key=f"loan:{loan_id}" if loan_id else f"case:{case_id}",
        connected=None if connected is None else bool(connected),
        right_party=None if right_party is None else bool(right_party),
        with_consent=bool(with_consent),
        outcome=outcome,
        carried_out=verdict in CARRIED_OUT,
    )


def _fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """Run the gate's query. On PostgreSQL it runs as a prepared statement: planning this join costs
    ten times more than executing it, so the plan is made once per connection and reused."""
    database = connections[DEFAULT_DB_ALIAS]  # one look-up of the thread's connection, not one per attribute
    if database.vendor == "postgresql":
        import psycopg

        database.ensure_connection()
        raw = database.connection
        # Django turns prepared statements off for the connection (prepare_threshold=None); the gate
        # turns them on for its own statement only. psycopg re-prepares after a rollback by itself.
        threshold = raw.prepare_threshold
        raw.prepare_threshold = PREPARE_THRESHOLD
        started = time.monotonic()
        try:
            with psycopg.Cursor(raw) as cursor:
                cursor.execute(sql, params, prepare=True)
                rows = cursor.fetchall()
        finally:
            raw.prepare_threshold = threshold
        if database.queries_logged:  # keep the query visible to Django's query log, as its own cursors do
            database.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
        return rows
    with database.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _load_case_facts(case_ids: Sequence[int], since: dt.datetime, until: dt.datetime) -> dict[int, _CaseFacts]:
    """One query: the cases, their borrowers' flags and facts, and the ledger rows in [since, until)."""
    loaded: dict[int, _CaseFacts] = {}
    rows = _fetch(_facts_sql(len(case_ids)), [since, until, *case_ids])
    for row in rows:
        case_id = row[0]
        entry = loaded.get(case_id)
        if entry is None:
            facts = _borrower_facts_of(row[2:19])
            entry = loaded[case_id] = _CaseFacts(row[1], facts, row[19] or default_jurisdiction(), [], set())
        if row[20] is not None and row[20] not in entry.seen:
            entry.seen.add(row[20])
            entry.history.append(_past(row[20:]))
    return loaded


def _third_party_history(points: Sequence[str]) -> dict[str, list[tuple[int, rules.PastContact]]]:
    """Every contact ever made with these third parties' numbers (US-3P1 allows one, whenever it was)."""
    found: dict[str, list[tuple[int, rules.PastContact]]] = defaultdict(list)
    points = sorted(set(points))
    for first in range(0, len(points), 500):
        chunk = points[first : first + 500]
        placeholders = ", ".join(["%s"] * len(chunk))
        sql = f"""
            SELECT e.id, e.started_at, e.channel, e.direction, e.target, e.contact_point_hash, e.loan_id,
                   e.case_id, e.connected, e.right_party, e.with_consent, e.outcome_code, e.verdict
              FROM compliance_contactevent e
             WHERE e.target = 'third_party' AND e.contact_point_hash IN ({placeholders})
        """  # noqa: S608 -- only "%s" placeholders are interpolated
        for row in _fetch(sql, chunk):
            found[row[5]].append((row[0], _past(row)))
    return found


def _collector_facts(collector_ids: Iterable[int]) -> dict[int, rules.CollectorFacts]:
    now = time.monotonic()
    wanted = set(collector_ids)
    found: dict[int, rules.CollectorFacts] = {}
    for collector_id in wanted:
        cached = _collectors.get(collector_id)
        if cached is not None and now - cached[1] < CACHE_SECONDS:
            found[collector_id] = cached[0]
    missing = wanted - set(found)
    if missing:
        agency_teams = set(Agency.objects.filter(teams__isnull=False).values_list("teams", flat=True))
        certificates: dict[int, list[rules.Certificate]] = defaultdict(list)
        for collector_id, kind, issued_on, expires_on in Certificate.objects.filter(
            collector_id__in=missing
        ).values_list("collector_id", "kind", "issued_on", "expires_on"):
            certificates[collector_id].append(rules.Certificate(kind, issued_on, expires_on))
        for collector in Collector.objects.filter(pk__in=missing).select_related("user"):
            facts = rules.CollectorFacts(
                collector_id=collector.pk,
                name=collector.display_name,
                badge_number=collector.badge_number,
                is_agency=collector.team_id in agency_teams,
                certificates=tuple(certificates[collector.pk]),
            )
            found[collector.pk] = facts
            with _cache_lock:
                _collectors[collector.pk] = (facts, now)
    unknown = wanted - set(found)
    if unknown:
        raise ComplianceError(_("Unknown collectors: %(ids)s.") % {"ids": ", ".join(map(str, sorted(unknown)))})
    return found


def _pure_action(action: ContactAction, collectors: Mapping[int, rules.CollectorFacts]) -> rules.Action:
    return rules.Action(
        channel=action.channel,
        start=action.start,
        end=action.end,
        target=action.target,
        relation=action.relation,
        purpose=action.purpose,
        direction=action.direction,
        contact_point=action.contact_point_hash,
        debt_key=action.debt_key,
        place=action.place,
        collectors=tuple(collectors[collector_id] for collector_id in action.collector_ids),
        discloses_debt=action.discloses_debt,
        recorded=action.recorded,
        enters_residence=action.enters_residence,
        entry_consent=action.entry_consent,
        notice_given=action.notice_given,
    )


def check_many(actions: Sequence[ContactAction]) -> list[ContactVerdict]:
    """Judge many proposed contacts (a planner's day) with one ledger query for all their borrowers.

    Each action is judged against the ledger as it stands: actions of one batch do not count
    against each other. A planner that proposes several contacts for one borrower records them in
    turn through `contact_record`, which judges each again.
    """
    if not actions:
        return []
    for action in actions:
        action.validate()
    collectors = _collector_facts({cid for action in actions for cid in action.collector_ids})
    widest = max(MIN_REACH, _loaded_rule_set(default_jurisdiction()).lookback)
    earliest_start = min(action.start for action in actions)
    latest_start = max(action.start for action in actions)
    case_ids = sorted({action.case_id for action in actions})
    loaded: dict[int, _CaseFacts] = {}
    for first in range(0, len(case_ids), 500):
        loaded.update(_load_case_facts(case_ids[first : first + 500], earliest_start - widest, latest_start + widest))
    # A case judged under another jurisdiction may need a longer look at its ledger.
    for case_id, case_facts in list(loaded.items()):
        lookback = _loaded_rule_set(case_facts.jurisdiction).lookback
        if lookback > widest:
            loaded.update(_load_case_facts([case_id], earliest_start - lookback, latest_start + lookback))
    third_parties = _third_party_history(
        [a.contact_point_hash for a in actions if a.target == Target.THIRD_PARTY and a.contact_point_hash]
    )
    verdicts = []
    for action in actions:
        case_facts = loaded.get(action.case_id)
        if case_facts is None:
            raise ComplianceError(_("No such case: %(id)s.") % {"id": action.case_id})
        verdicts.append(_judge(action, case_facts, collectors, third_parties))
    return verdicts


def check(action: ContactAction) -> ContactVerdict:
    """The verdict on one proposed contact. Reads only; record the attempt with `contact_record`."""
    action.validate()
    collectors = _collector_facts(action.collector_ids) if action.collector_ids else {}
    jurisdiction = default_jurisdiction()
    reach = max(MIN_REACH, _loaded_rule_set(jurisdiction).lookback)
    loaded = _load_case_facts([action.case_id], action.start - reach, action.start + reach)
    case_facts = loaded.get(action.case_id)
    if case_facts is None:
        raise ComplianceError(_("No such case: %(id)s.") % {"id": action.case_id})
    if case_facts.jurisdiction != jurisdiction:
        lookback = _loaded_rule_set(case_facts.jurisdiction).lookback
        if lookback > reach:
            loaded = _load_case_facts([action.case_id], action.start - lookback, action.start + lookback)
            case_facts = loaded[action.case_id]
    return _judge(action, case_facts, collectors, None)


def _judge(
    action: ContactAction,
    case_facts: _CaseFacts,
    collectors: Mapping[int, rules.CollectorFacts],
    third_parties: Mapping[str, list[tuple[int, rules.PastContact]]] | None,
) -> ContactVerdict:
    rule_set = _loaded_rule_set(case_facts.jurisdiction)
    history = case_facts.history
    if action.target == Target.THIRD_PARTY and action.contact_point_hash:
        if third_parties is None:
            third_parties = _third_party_history([action.contact_point_hash])
        history = list(history)
        for event_id, past in third_parties.get(action.contact_point_hash, []):
            if event_id not in case_facts.seen:
                history.append(past)
    result = rules.evaluate(_pure_action(action, collectors), case_facts.facts, history, rule_set.specs)
    return ContactVerdict(action, result, rule_set.label, case_facts.facts.zone, case_facts.borrower_id)


# ---------------------------------------------------------------- the ledger


def contact_record(
    *,
    actor: Actor,
    action: ContactAction,
    connected: bool | None = None,
    right_party: bool | None = None,
    outcome_code: str = "",
) -> tuple[ContactEvent, ContactVerdict]:
    """Write the attempt to the ledger with its verdict, refused or not.

    The contact is judged again while the borrower's row is locked, so the ledger never holds two
    allowed contacts that together break a cap. Callers act only on an allowed verdict.
    """
    action.validate()
    with transaction.atomic():
        case = Case.objects.only("id", "borrower_id").filter(pk=action.case_id).first()
        if case is None:
            raise ComplianceError(_("No such case: %(id)s.") % {"id": action.case_id})
        facts_row = _facts_locked(case.borrower_id)
        verdict = check(action)
        fields = actor_fields(actor)
        collectors = list(Collector.objects.filter(pk__in=action.collector_ids).only("id", "team_id"))
        event = ContactEvent.objects.create(
            case_id=action.case_id,
            borrower_id=case.borrower_id,
            loan_id=action.loan_id,
            channel=action.channel,
            direction=action.direction,
            target=action.target,
            target_relation=action.relation[:50],
            contact_point_hash=action.contact_point_hash,
            started_at=action.start,
            ended_at=action.end,
            actor=fields["actor"],
            actor_label=fields["actor_label"],
            connected=connected,
            right_party=right_party,
            outcome_code=outcome_code,
            verdict=Verdict.ALLOWED if verdict.allowed else Verdict.REFUSED,
            rules_fired=verdict.hits,
            rule_set_version=verdict.rule_set_version,
            purpose=action.purpose,
            place=action.place,
            with_consent=action.with_consent,
            team_id=collectors[0].team_id if collectors else None,
            near_miss=bool(verdict.result.warnings),
            earliest_allowed=verdict.earliest_allowed,
        )
        if collectors:
            event.collectors.set(collectors)
        if verdict.allowed and action.direction == Direction.OUTBOUND:
            changed = []
            if facts_row.first_contact_at is None or action.start < facts_row.first_contact_at:
                facts_row.first_contact_at = action.start
                changed.append("first_contact_at")
            if action.purpose == Purpose.VALIDATION_NOTICE and facts_row.validation_notice_at is None:
                facts_row.validation_notice_at = action.start
                changed.append("validation_notice_at")
            if changed:
                facts_row.save(update_fields=changed)
        audit_record(
            actor=actor,
            action="compliance.contact.allowed" if verdict.allowed else "compliance.contact.refused",
            target=event,
            data={"case": action.case_id, "channel": action.channel, "rules": list(verdict.rule_ids),
                  "rule_set": verdict.rule_set_version},
        )
    return event, verdict


def contact_outcome(
    *,
    actor: Actor,
    contact_event: ContactEvent,
    connected: bool | None,
    right_party: bool | None = None,
    outcome_code: str = "",
    ended_at: dt.datetime | None = None,
) -> ContactEvent:
    """What happened on an allowed contact: answered or not, who was reached, how it ended."""
    with transaction.atomic():
        event = ContactEvent.objects.select_for_update().get(pk=contact_event.pk)
        if event.verdict not in CARRIED_OUT:
            raise ComplianceError(_("A refused contact has no outcome."))
        event.connected, event.right_party, event.outcome_code = connected, right_party, outcome_code[:32]
        if ended_at is not None:
            event.ended_at = ended_at
        event.save(update_fields=["connected", "right_party", "outcome_code", "ended_at"])
        audit_record(
            actor=actor,
            action="compliance.contact.outcome_recorded",
            target=event,
            data={"connected": connected, "right_party": right_party, "outcome": outcome_code},
        )
    return event


def contact_override(*, actor: AbstractBaseUser, contact_event: ContactEvent, reason: str) -> ContactEvent:
    """A team lead allows a refused contact, in writing, where every rule that refused it allows overrides."""
    if not actor.has_perm("compliance.override_contact"):  # type: ignore[attr-defined]
        raise PermissionDenied(_("Only a team lead may override a refusal."))
    # The team lead must be able to see the case: an override is a decision about their own team's work.
    portfolio_selectors.case_get(user=actor, case_id=contact_event.case_id)
    reason = reason.strip()
    if len(reason) < MIN_OVERRIDE_REASON:
        raise ComplianceError(
            _("Write the reason for the override (at least %(count)s characters).") % {"count": MIN_OVERRIDE_REASON}
        )
    with transaction.atomic():
        event = ContactEvent.objects.select_for_update().get(pk=contact_event.pk)
        if event.verdict != Verdict.REFUSED:
            raise ComplianceError(_("Only a refused contact can be overridden."))
        refusals = [hit for hit in event.rules_fired if hit.get("severity") == rules.REFUSE]
        blocking = sorted({hit["rule_id"] for hit in refusals if not hit.get("overridable")})
        if blocking:
            raise ComplianceError(
                _("These rules allow no override: %(rules)s.") % {"rules": ", ".join(blocking)}
            )
        event.verdict = Verdict.OVERRIDDEN
        event.override_reason = reason
        event.overridden_by = actor  # type: ignore[assignment]
        event.overridden_at = timezone.now()
        event.save(update_fields=["verdict", "override_reason", "overridden_by", "overridden_at"])
        audit_record(
            actor=actor,
            action="compliance.contact.overridden",
            target=event,
            data={"case": event.case_id, "rules": [hit["rule_id"] for hit in refusals], "reason": reason},
        )
    return event


# ---------------------------------------------------------------- retention


@dataclass(frozen=True)
class RetentionPolicy:
    jurisdiction: str
    rule_id: str
    years: int
    action: str  # anonymise | purge
    channels: tuple[str, ...]  # empty means every channel


def retention_policies(jurisdiction: str) -> list[RetentionPolicy]:
    rule_set = ruleset_active(jurisdiction)
    policies = []
    for rule in rule_set.rules.filter(enabled=True).order_by("id"):
        years = rule.params.get("retention_years")
        if isinstance(years, int) and years > 0:
            applies = [name for name in rule.params.get("applies_to", ["all"]) if name != "all"]
            policies.append(
                RetentionPolicy(jurisdiction, rule.rule_id, years, rule.params.get("action", "anonymise"), tuple(applies))
            )
    return policies


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def retention_run(*, actor: Actor, today: dt.date, dry_run: bool) -> RetentionRun:
    """Anonymise or purge ledger rows past their retention period, per jurisdiction and channel.

    Where several periods apply to one row (CN: recordings 2 years, records 5 years) the longest
    wins, as the research notes require. Anonymising clears the number and free text but keeps the
    row, its verdict and its rules, so reports still add up; purging deletes the row.
    """
    details: dict[str, Any] = {}
    anonymised = purged = 0
    default = default_jurisdiction()
    with transaction.atomic():
        for jurisdiction in Jurisdiction.values:
            policies = retention_policies(jurisdiction)
            if not policies:
                continue
            rows = ContactEvent.objects.filter(rule_set_version__startswith=f"{jurisdiction}-v")
            if jurisdiction == default:
                rows = ContactEvent.objects.filter(
                    rule_set_version__startswith=f"{jurisdiction}-v"
                ) | ContactEvent.objects.filter(rule_set_version="")
            for channel in Channel.values:
                applicable = [policy for policy in policies if not policy.channels or channel in policy.channels]
                if not applicable:
                    continue
                longest = max(applicable, key=lambda policy: (policy.years, policy.action == "anonymise"))
                cutoff = timezone.make_aware(
                    dt.datetime.combine(_years_before(today, longest.years), dt.time.min), _zone("")
                )
                due = rows.filter(channel=channel, started_at__lt=cutoff)
                key = f"{jurisdiction}/{channel}"
                if longest.action == "purge":
                    count = due.count()
                    if count and not dry_run:
                        ids = list(due.values_list("pk", flat=True))
                        ContactEvent.collectors.through.objects.filter(contactevent_id__in=ids).delete()
                        ContactEvent.objects.filter(pk__in=ids).delete()
                    purged += count
                else:
                    due = due.filter(anonymised_at__isnull=True)
                    count = due.count()
                    if count and not dry_run:
                        due.update(
                            contact_point_hash="", target_relation="", override_reason="", anonymised_at=timezone.now()
                        )
                    anonymised += count
                if count:
                    details[key] = {"rule": longest.rule_id, "years": longest.years, "action": longest.action,
                                    "before": cutoff.date().isoformat(), "rows": count}
        run = RetentionRun.objects.create(
            today=today, dry_run=dry_run, anonymised=anonymised, purged=purged, details=details,
            actor_label=actor_fields(actor)["actor_label"],
        )
        audit_record(
            actor=actor,
            action="compliance.retention.dry_run" if dry_run else "compliance.retention.ran",
            target=run,
            data={"anonymised": anonymised, "purged": purged, "details": details},
        )
    return run


def ledger_export_record(*, actor: AbstractBaseUser, since: dt.date, until: dt.date) -> None:
    """An export of the ledger leaves the bank: the audit trail says who took which period."""
    audit_record(
        actor=actor,
        action="compliance.ledger.exported",
        object_type="compliance.contactevent",
        data={"since": since.isoformat(), "until": until.isoformat()},
    )
