"""The strategy rule language, without Django.

A strategy version is an ordered table of segment rules. Each rule has a condition over case attributes
and a treatment path. The first rule whose condition is *true* for a case decides its treatment.

Conditions use three-valued (Kleene) logic: an attribute may be unknown (no score yet, no contact yet),
a comparison on an unknown value is unknown, and an unknown condition does not match. Polars evaluates
boolean expressions the same way, so the compiled expressions and the per-case reference evaluator agree.

Numbers are compared as integers in a stated scale (money in fen, scores in hundredths), so a threshold
of ¥5,000.00 is exactly 500000 and no float ever decides a case.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import polars as pl

# ---------------------------------------------------------------------------------------------------------
# Attributes


AttributeKind = Literal["number", "category", "flag"]


@dataclass(frozen=True)
class Attribute:
    name: str
    kind: AttributeKind
    label: str
    scale: int = 1  # numbers: stored value = written value * scale (money: 100, i.e. fen)
    minimum: int | None = None  # in stored units
    values: tuple[str, ...] | None = None  # categories with a closed domain
    optional: bool = False  # may be unknown for a case


DEFAULT_BUCKETS = ("M1", "M2", "M3", "M4+")
CASE_STATUSES = ("open", "arrangement", "legal")

ATTRIBUTES: dict[str, Attribute] = {
    attribute.name: attribute
    for attribute in (
        Attribute("bucket", "category", "bucket", values=DEFAULT_BUCKETS),
        Attribute("days_past_due", "number", "days past due", minimum=0),
        Attribute("overdue_amount", "number", "overdue amount", scale=100, minimum=0),
        Attribute("outstanding_principal", "number", "outstanding principal", scale=100, minimum=0),
        Attribute("product", "category", "product"),
        Attribute("branch", "category", "branch"),
        Attribute("territory", "category", "territory", optional=True),
        Attribute("status", "category", "case status", values=CASE_STATUSES),
        Attribute("score", "number", "score", scale=100, optional=True),
        Attribute("score_band", "category", "score band", optional=True),
        Attribute("uplift", "number", "visit uplift (percentage points)", scale=100, optional=True),
        Attribute("last_contact_outcome", "category", "last contact outcome", optional=True),
        Attribute("broken_promises_30d", "number", "broken promises, last 30 days", minimum=0, optional=True),
        Attribute("broken_promises_90d", "number", "broken promises, last 90 days", minimum=0, optional=True),
        Attribute("is_vulnerable", "flag", "vulnerable"),
        Attribute("is_deceased", "flag", "deceased"),
        Attribute("has_dispute", "flag", "dispute pending"),
        Attribute("do_not_visit", "flag", "do not visit"),
    )
}


class RuleError(ValueError):
    """A condition or rule that cannot be understood; the message says where and why."""


# ---------------------------------------------------------------------------------------------------------
# The condition AST

Operator = Literal["==", "!=", "<", "<=", ">", ">="]
Scalar = int | str | bool


@dataclass(frozen=True)
class Always:
    pass


@dataclass(frozen=True)
class Compare:
    attribute: str
    op: Operator
    value: Scalar  # numbers in stored units


@dataclass(frozen=True)
class InList:
    attribute: str
    values: tuple[Scalar, ...]
    negated: bool = False


@dataclass(frozen=True)
class Between:
    attribute: str
    low: int
    high: int


@dataclass(frozen=True)
class And:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Always | Compare | InList | Between | And | Or | Not
Atom = Compare | InList | Between


def _attribute(name: str) -> Attribute:
    try:
        return ATTRIBUTES[name]
    except KeyError:
        raise RuleError(f"unknown attribute {name!r}; known: {', '.join(ATTRIBUTES)}") from None


def parse_value(attribute: Attribute, raw: object) -> Scalar:
    """A written value ("5000.00", "M2", "true") in the attribute's stored form."""
    if attribute.kind == "flag":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"true", "yes", "1"}:
            return True
        if text in {"false", "no", "0"}:
            return False
        raise RuleError(f"{attribute.name} is true or false, not {raw!r}")
    if attribute.kind == "number":
        if isinstance(raw, bool | float):
            raise RuleError(f"{attribute.name}: write numbers as text or integers, not {raw!r}")
        try:
            number = Decimal(str(raw).strip().replace(",", ""))
        except InvalidOperation:
            raise RuleError(f"{attribute.name} needs a number, not {raw!r}") from None
        scaled = number * attribute.scale
        if scaled != scaled.to_integral_value():
            places = len(str(attribute.scale)) - 1
            raise RuleError(f"{attribute.name} takes at most {places} decimal places, not {raw!r}")
        return int(scaled)
    text = str(raw).strip()
    if not text:
        raise RuleError(f"{attribute.name} needs a value")
    if attribute.values is not None and text not in attribute.values:
        raise RuleError(f"{attribute.name} is one of {', '.join(attribute.values)}, not {text!r}")
    return text


def format_value(attribute: Attribute, value: Scalar) -> str:
    if attribute.kind == "flag":
        return "true" if value else "false"
    if attribute.kind == "number":
        assert isinstance(value, int)
        if attribute.scale == 1:
            return str(value)
        places = len(str(attribute.scale)) - 1
        return f"{Decimal(value) / attribute.scale:.{places}f}"
    text = str(value)
    return text if re.fullmatch(r"[^\s(),<>=!\"']+", text) and text.lower() not in _KEYWORDS else f'"{text}"'


# ---------------------------------------------------------------------------------------------------------
# JSON form (what a strategy version stores) and the text form (what a manager writes)


def condition_from_json(data: Any) -> Condition:
    if data is None or data == {} or data == {"always": True}:
        return Always()
    if not isinstance(data, dict):
        raise RuleError(f"a condition is an object, not {data!r}")
    for key, kind in (("all", And), ("any", Or)):
        if key in data:
            items = tuple(condition_from_json(item) for item in data[key])
            if not items:
                raise RuleError(f"'{key}' needs at least one condition")
            return items[0] if len(items) == 1 else kind(items)
    if "not" in data:
        return Not(condition_from_json(data["not"]))
    attribute = _attribute(str(data.get("attr", "")))
    op = data.get("op")
    if op in {"in", "not in"}:
        values = tuple(parse_value(attribute, value) for value in data.get("values", []))
        if not values:
            raise RuleError(f"{attribute.name} {op} needs at least one value")
        return InList(attribute.name, values, negated=op == "not in")
    if op == "between":
        if attribute.kind != "number":
            raise RuleError(f"between needs a number attribute; {attribute.name} is not one")
        low, high = parse_value(attribute, data["low"]), parse_value(attribute, data["high"])
        assert isinstance(low, int) and isinstance(high, int)
        return Between(attribute.name, low, high)
    if op in {"==", "!=", "<", "<=", ">", ">="}:
        if op in {"<", "<=", ">", ">="} and attribute.kind != "number":
            raise RuleError(f"{attribute.name} cannot be compared with {op}")
        return Compare(attribute.name, op, parse_value(attribute, data["value"]))
    raise RuleError(f"unknown operator {op!r}")


def _json_value(attribute: Attribute, value: Scalar) -> str:
    return str(value) if attribute.kind == "category" else format_value(attribute, value)


def condition_to_json(condition: Condition) -> dict[str, Any]:
    match condition:
        case Always():
            return {}
        case And(items):
            return {"all": [condition_to_json(item) for item in items]}
        case Or(items):
            return {"any": [condition_to_json(item) for item in items]}
        case Not(item):
            return {"not": condition_to_json(item)}
        case Compare(name, op, value):
            return {"attr": name, "op": op, "value": _json_value(ATTRIBUTES[name], value)}
        case InList(name, values, negated):
            attribute = ATTRIBUTES[name]
            return {
                "attr": name,
                "op": "not in" if negated else "in",
                "values": [_json_value(attribute, value) for value in values],
            }
        case Between(name, low, high):
            attribute = ATTRIBUTES[name]
            return {
                "attr": name,
                "op": "between",
                "low": _json_value(attribute, low),
                "high": _json_value(attribute, high),
            }
    raise TypeError(condition)


_KEYWORDS = {"and", "or", "not", "in", "between", "always", "true", "false"}
_TOKEN = re.compile(r"\s*(\(|\)|,|==|!=|<=|>=|<|>|=|\"[^\"]*\"|'[^']*'|[^\s(),<>=!\"']+)")


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise RuleError(f"cannot read the condition at {text[position:]!r}")
        tokens.append(match.group(1))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.position = 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None:
            raise RuleError("the condition ends too early" + (f"; expected {expected!r}" if expected else ""))
        if expected is not None and token.lower() != expected:
            raise RuleError(f"expected {expected!r}, found {token!r}")
        self.position += 1
        return token

    def at(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token.lower() == word

    def parse(self) -> Condition:
        if not self.tokens:
            return Always()
        condition = self.disjunction()
        if self.peek() is not None:
            raise RuleError(f"unexpected {self.peek()!r}")
        return condition

    def disjunction(self) -> Condition:
        items = [self.conjunction()]
        while self.at("or"):
            self.take()
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def conjunction(self) -> Condition:
        items = [self.unary()]
        while self.at("and"):
            self.take()
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self) -> Condition:
        if self.at("not"):
            self.take()
            return Not(self.unary())
        if self.at("("):
            self.take()
            inner = self.disjunction()
            self.take(")")
            return inner
        if self.at("always"):
            self.take()
            return Always()
        return self.atom()

    def value(self) -> str:
        token = self.take()
        if token in {"(", ")", ","}:
            raise RuleError(f"expected a value, found {token!r}")
        if token[0] in "\"'":
            return token[1:-1]
        return token

    def atom(self) -> Condition:
        name = self.take()
        attribute = _attribute(name)
        token = self.peek()
        if token is None or token.lower() in {"and", "or", ")"}:
            if attribute.kind != "flag":
                raise RuleError(f"{name} needs a comparison")
            return Compare(name, "==", True)
        if token.lower() == "not":
            self.take()
            self.take("in")
            return InList(name, self.value_list(attribute), negated=True)
        if token.lower() == "in":
            self.take()
            return InList(name, self.value_list(attribute))
        if token.lower() == "between":
            self.take()
            low = parse_value(attribute, self.value())
            self.take("and")
            high = parse_value(attribute, self.value())
            if attribute.kind != "number":
                raise RuleError(f"between needs a number attribute; {name} is not one")
            assert isinstance(low, int) and isinstance(high, int)
            return Between(name, low, high)
        op = self.take()
        if op == "=":
            op = "=="
        if op not in {"==", "!=", "<", "<=", ">", ">="}:
            raise RuleError(f"expected a comparison after {name}, found {op!r}")
        if op in {"<", "<=", ">", ">="} and attribute.kind != "number":
            raise RuleError(f"{name} cannot be compared with {op}")
        return Compare(name, op, parse_value(attribute, self.value()))  # type: ignore[arg-type]

    def value_list(self, attribute: Attribute) -> tuple[Scalar, ...]:
        self.take("(")
        values = [parse_value(attribute, self.value())]
        while self.at(","):
            self.take()
            values.append(parse_value(attribute, self.value()))
        self.take(")")
        return tuple(values)


def parse_condition(text: str) -> Condition:
    """`bucket in (M2, M3) and overdue_amount >= 5000 and not do_not_visit`; empty text means always."""
    return _Parser(text).parse()


def format_condition(condition: Condition, *, nested: bool = False) -> str:
    match condition:
        case Always():
            return "always"
        case And(items):
            text = " and ".join(format_condition(item, nested=True) for item in items)
            return f"({text})" if nested and len(items) > 1 else text
        case Or(items):
            text = " or ".join(format_condition(item, nested=True) for item in items)
            return f"({text})" if nested and len(items) > 1 else text
        case Not(item):
            return f"not {format_condition(item, nested=True)}"
        case Compare(name, op, value):
            attribute = ATTRIBUTES[name]
            if attribute.kind == "flag" and op == "==" and value is True:
                return name
            return f"{name} {op} {format_value(attribute, value)}"
        case InList(name, values, negated):
            attribute = ATTRIBUTES[name]
            listed = ", ".join(format_value(attribute, value) for value in values)
            return f"{name} {'not in' if negated else 'in'} ({listed})"
        case Between(name, low, high):
            attribute = ATTRIBUTES[name]
            return f"{name} between {format_value(attribute, low)} and {format_value(attribute, high)}"
    raise TypeError(condition)


def attributes_used(condition: Condition) -> set[str]:
    match condition:
        case Always():
            return set()
        case And(items) | Or(items):
            return set().union(*(attributes_used(item) for item in items))
        case Not(item):
            return attributes_used(item)
        case Compare(name) | InList(name) | Between(name):
            return {name}
    raise TypeError(condition)


# ---------------------------------------------------------------------------------------------------------
# Treatments and rules

CHANNELS = ("sms", "call", "letter", "visit", "legal")


@dataclass(frozen=True)
class Step:
    channel: str
    day: int  # days after the case entered this treatment
    every: int = 0  # repeat every N days after `day`; 0 = once
    script: str = ""
    priority: int = 3  # 1 = most urgent

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise RuleError(f"unknown channel {self.channel!r}; known: {', '.join(CHANNELS)}")
        if self.day < 0 or self.every < 0:
            raise RuleError("a step's day and cadence cannot be negative")
        if not 1 <= self.priority <= 5:
            raise RuleError("priority is from 1 (most urgent) to 5")

    def label(self) -> str:
        text = f"{self.channel}@{self.day}"
        return text + (f"/{self.every}" if self.every else "")


@dataclass(frozen=True)
class Rule:
    key: str
    name: str
    condition: Condition
    steps: tuple[Step, ...]

    def path_label(self) -> str:
        return ">".join(step.label() for step in self.steps)


def rule_from_json(data: Mapping[str, Any]) -> Rule:
    key = str(data.get("key", "")).strip()
    name = str(data.get("name", "")).strip()
    if not key or not name:
        raise RuleError("a rule needs a key and a name")
    try:
        steps = tuple(
            Step(
                channel=str(step["channel"]),
                day=int(step.get("day", 0)),
                every=int(step.get("every", 0)),
                script=str(step.get("script", "")),
                priority=int(step.get("priority", 3)),
            )
            for step in data.get("steps", [])
        )
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, RuleError):
            raise
        raise RuleError(f"rule {name}: a step is incomplete ({error})") from None
    if not steps:
        raise RuleError(f"rule {name}: a treatment needs at least one step")
    steps = tuple(sorted(steps, key=lambda step: step.day))
    return Rule(key=key, name=name, condition=condition_from_json(data.get("when")), steps=steps)


def rule_to_json(rule: Rule) -> dict[str, Any]:
    return {
        "key": rule.key,
        "name": rule.name,
        "when": condition_to_json(rule.condition),
        "steps": [
            {"channel": s.channel, "day": s.day, "every": s.every, "script": s.script, "priority": s.priority}
            for s in rule.steps
        ],
    }


def rules_from_json(data: Iterable[Mapping[str, Any]]) -> list[Rule]:
    rules = [rule_from_json(item) for item in data]
    keys = [rule.key for rule in rules]
    if len(set(keys)) != len(keys):
        raise RuleError("rule keys must be unique within a version")
    return rules


def next_step(steps: Sequence[Step], days_in_treatment: int) -> tuple[int | None, int | None]:
    """The step due next and its day (counted from the start of the treatment); (None, None) when done.

    A step due today is the next step; a repeating last step comes back every `every` days.
    """
    for index, step in enumerate(steps):
        if step.day >= days_in_treatment:
            return index, step.day
    last = steps[-1]
    if last.every:
        cycles = -(-(days_in_treatment - last.day) // last.every)
        return len(steps) - 1, last.day + cycles * last.every
    return None, None


# ---------------------------------------------------------------------------------------------------------
# The per-case reference evaluator (three-valued logic, one case at a time)

Truth = bool | None


def _atom_truth(atom: Atom, case: Mapping[str, Any]) -> Truth:
    value = case.get(atom.attribute)
    if value is None:
        return None
    match atom:
        case Compare(_, op, expected):
            return {
                "==": value == expected,
                "!=": value != expected,
                "<": value < expected,
                "<=": value <= expected,
                ">": value > expected,
                ">=": value >= expected,
            }[op]
        case InList(_, values, negated):
            return (value in values) != negated
        case Between(_, low, high):
            return low <= value <= high
    raise TypeError(atom)


def truth(condition: Condition, case: Mapping[str, Any]) -> Truth:
    match condition:
        case Always():
            return True
        case Not(item):
            inner = truth(item, case)
            return None if inner is None else not inner
        case And(items):
            results = [truth(item, case) for item in items]
            if any(result is False for result in results):
                return False
            return None if any(result is None for result in results) else True
        case Or(items):
            results = [truth(item, case) for item in items]
            if any(result is True for result in results):
                return True
            return None if any(result is None for result in results) else False
    return _atom_truth(condition, case)  # type: ignore[arg-type]


def first_match(rules: Sequence[Rule], case: Mapping[str, Any]) -> int | None:
    """The position of the first rule whose condition is true for `case`, or None."""
    for position, rule in enumerate(rules):
        if truth(rule.condition, case) is True:
            return position
    return None


# ---------------------------------------------------------------------------------------------------------
# The compiler to Polars expressions


def _atom_expression(atom: Atom) -> pl.Expr:
    column = pl.col(atom.attribute)
    match atom:
        case Compare(_, op, value):
            literal = pl.lit(value)
            return {
                "==": column == literal,
                "!=": column != literal,
                "<": column < literal,
                "<=": column <= literal,
                ">": column > literal,
                ">=": column >= literal,
            }[op]
        case InList(_, values, negated):
            member = column.is_in(list(values))
            return ~member if negated else member
        case Between(_, low, high):
            return column.is_between(low, high, closed="both")
    raise TypeError(atom)


def compile_condition(condition: Condition) -> pl.Expr:
    """A boolean expression that is true exactly where the condition is true (null where unknown)."""
    match condition:
        case Always():
            return pl.lit(True)
        case Not(item):
            return ~compile_condition(item)
        case And(items):
            expression = compile_condition(items[0])
            for item in items[1:]:
                expression = expression & compile_condition(item)
            return expression
        case Or(items):
            expression = compile_condition(items[0])
            for item in items[1:]:
                expression = expression | compile_condition(item)
            return expression
    return _atom_expression(condition)  # type: ignore[arg-type]


def compile_rules(rules: Sequence[Rule]) -> pl.Expr:
    """An Int32 expression: the position of the first rule that is true for each row, null if none.

    `when` treats a null predicate as not taken, which is exactly "an unknown condition does not match".
    """
    if not rules:
        return pl.lit(None, dtype=pl.Int32)
    chain: Any = pl
    for position, rule in enumerate(rules):
        chain = chain.when(compile_condition(rule.condition)).then(pl.lit(position, dtype=pl.Int32))
    return chain.otherwise(pl.lit(None, dtype=pl.Int32))


def compile_next_step(
    rules: Sequence[Rule], position: pl.Expr, days_in_treatment: pl.Expr
) -> tuple[pl.Expr, pl.Expr]:
    """Expressions for the next step's index and its day, given each row's rule position (see `next_step`)."""
    index_chain: Any = pl
    day_chain: Any = pl
    any_rule = False
    for rule_position, rule in enumerate(rules):
        steps = rule.steps
        in_rule = position == rule_position
        for index, step in enumerate(steps):
            due = in_rule & (days_in_treatment <= step.day)
            index_chain = index_chain.when(due).then(pl.lit(index, dtype=pl.Int32))
            day_chain = day_chain.when(due).then(pl.lit(step.day, dtype=pl.Int32))
            any_rule = True
        last = steps[-1]
        if last.every:
            cycles = (days_in_treatment - last.day + last.every - 1) // last.every
            index_chain = index_chain.when(in_rule).then(pl.lit(len(steps) - 1, dtype=pl.Int32))
            day_chain = day_chain.when(in_rule).then((last.day + cycles * last.every).cast(pl.Int32))
    if not any_rule:
        return pl.lit(None, dtype=pl.Int32), pl.lit(None, dtype=pl.Int32)
    return (
        index_chain.otherwise(pl.lit(None, dtype=pl.Int32)),
        day_chain.otherwise(pl.lit(None, dtype=pl.Int32)),
    )


# ---------------------------------------------------------------------------------------------------------
# Champion / challenger: deterministic arms

ARM_BUCKETS = 10_000
CHAMPION = "champion"
HOLDOUT = "holdout"


@dataclass(frozen=True)
class Challenger:
    key: str
    name: str
    share: int  # in basis points of ARM_BUCKETS
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Experiment:
    test_id: str
    holdout_share: int = 0  # basis points; hold-out cases get the champion path without field visits
    challengers: tuple[Challenger, ...] = ()

    def __post_init__(self) -> None:
        if not self.test_id:
            raise RuleError("an experiment needs a test id")
        total = self.holdout_share + sum(challenger.share for challenger in self.challengers)
        if self.holdout_share < 0 or any(challenger.share <= 0 for challenger in self.challengers):
            raise RuleError("shares must be positive")
        if total >= ARM_BUCKETS:
            raise RuleError("hold-out and challengers must leave a share for the champion")
        keys = [challenger.key for challenger in self.challengers]
        if len(set(keys)) != len(keys) or {CHAMPION, HOLDOUT} & set(keys):
            raise RuleError("challenger keys must be unique and not 'champion' or 'holdout'")

    def arm_ranges(self) -> list[tuple[str, int, int]]:
        """(arm, first bucket, end bucket) in bucket order: hold-out first, then challengers, then champion."""
        ranges = []
        start = 0
        if self.holdout_share:
            ranges.append((HOLDOUT, 0, self.holdout_share))
            start = self.holdout_share
        for challenger in self.challengers:
            ranges.append((challenger.key, start, start + challenger.share))
            start += challenger.share
        ranges.append((CHAMPION, start, ARM_BUCKETS))
        return ranges


def arm_bucket(test_id: str, case_id: int) -> int:
    """A stable bucket in [0, 10000) from SHA-256 of "test_id:case_id": same case, same test, same arm."""
    digest = hashlib.sha256(f"{test_id}:{case_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % ARM_BUCKETS


def arm_for(experiment: Experiment | None, case_id: int) -> str:
    if experiment is None:
        return CHAMPION
    bucket = arm_bucket(experiment.test_id, case_id)
    for arm, start, end in experiment.arm_ranges():
        if start <= bucket < end:
            return arm
    return CHAMPION


def arm_buckets(test_id: str, case_ids: Sequence[int]) -> list[int]:
    prefix = f"{test_id}:".encode()
    sha256 = hashlib.sha256
    return [
        int.from_bytes(sha256(prefix + str(case_id).encode()).digest()[:8], "big") % ARM_BUCKETS
        for case_id in case_ids
    ]


def without_visits(rule: Rule) -> Rule:
    """The hold-out version of a treatment: the same path with field visits left out (a call if nothing is left)."""
    steps = tuple(step for step in rule.steps if step.channel != "visit")
    if not steps:
        steps = (Step("call", rule.steps[0].day, rule.steps[0].every, "", rule.steps[0].priority),)
    return Rule(rule.key, rule.name, rule.condition, steps)


@dataclass(frozen=True)
class Definition:
    rules: tuple[Rule, ...]
    experiment: Experiment | None = None

    def rules_for(self, arm: str) -> tuple[Rule, ...]:
        if arm == CHAMPION:
            return self.rules
        if arm == HOLDOUT:
            return tuple(without_visits(rule) for rule in self.rules)
        assert self.experiment is not None
        for challenger in self.experiment.challengers:
            if challenger.key == arm:
                return challenger.rules
        raise RuleError(f"no arm {arm!r}")

    def arms(self) -> list[str]:
        if self.experiment is None:
            return [CHAMPION]
        return [arm for arm, _start, _end in self.experiment.arm_ranges()]


def definition_from_json(data: Mapping[str, Any]) -> Definition:
    rules = tuple(rules_from_json(data.get("rules", [])))
    experiment_data = data.get("experiment")
    experiment = None
    if experiment_data:
        experiment = Experiment(
            test_id=str(experiment_data.get("test_id", "")).strip(),
            holdout_share=int(experiment_data.get("holdout_share", 0)),
            challengers=tuple(
                Challenger(
                    key=str(item["key"]),
                    name=str(item.get("name", item["key"])),
                    share=int(item["share"]),
                    rules=tuple(rules_from_json(item.get("rules", []))),
                )
                for item in experiment_data.get("challengers", [])
            ),
        )
    return Definition(rules=rules, experiment=experiment)


def definition_to_json(definition: Definition) -> dict[str, Any]:
    data: dict[str, Any] = {"rules": [rule_to_json(rule) for rule in definition.rules]}
    if definition.experiment is not None:
        experiment = definition.experiment
        data["experiment"] = {
            "test_id": experiment.test_id,
            "holdout_share": experiment.holdout_share,
            "challengers": [
                {
                    "key": challenger.key,
                    "name": challenger.name,
                    "share": challenger.share,
                    "rules": [rule_to_json(rule) for rule in challenger.rules],
                }
                for challenger in experiment.challengers
            ],
        }
    return data


@dataclass(frozen=True)
class Decision:
    arm: str
    position: int | None
    next_index: int | None
    next_day: int | None


def decide(definition: Definition, case: Mapping[str, Any], days_in_treatment: int = 0) -> Decision:
    """The reference decision for one case (the columnar step must reach the same one)."""
    arm = arm_for(definition.experiment, int(case["case_id"]))
    rules = definition.rules_for(arm)
    position = first_match(rules, case)
    if position is None:
        return Decision(arm, None, None, None)
    index, day = next_step(rules[position].steps, days_in_treatment)
    return Decision(arm, position, index, day)


def decide_frame(definition: Definition, frame: pl.DataFrame) -> pl.DataFrame:
    """Columnar arms and matching rules for every row of `frame` (case_id and the attributes).

    Returns the frame's columns plus `arm` and `position` (the first true rule of the arm's table, or null).
    """
    frame = frame.with_columns(_missing_attributes(frame))
    experiment = definition.experiment
    if experiment is None:
        frame = frame.with_columns(pl.lit(CHAMPION).alias("arm"))
    else:
        buckets = pl.Series(
            "arm_bucket", arm_buckets(experiment.test_id, frame["case_id"].to_list()), dtype=pl.Int32
        )
        arm_chain: Any = pl
        for arm, start, end in experiment.arm_ranges():
            arm_chain = arm_chain.when(pl.col("arm_bucket").is_between(start, end - 1, closed="both")).then(
                pl.lit(arm)
            )
        frame = frame.with_columns(buckets).with_columns(arm_chain.otherwise(pl.lit(CHAMPION)).alias("arm"))
        frame = frame.drop("arm_bucket")
    arms = definition.arms()
    if len(arms) == 1:
        return frame.with_columns(compile_rules(definition.rules_for(arms[0])).alias("position"))
    position: Any = pl
    for arm in arms:
        position = position.when(pl.col("arm") == arm).then(compile_rules(definition.rules_for(arm)))
    return frame.with_columns(position.otherwise(pl.lit(None, dtype=pl.Int32)).alias("position"))


def schedule_frame(
    definition: Definition, decisions: pl.DataFrame, days_column: str | None = None
) -> pl.DataFrame:
    """Adds `next_index` and `next_day` (see `next_step`) to frames with `arm` and `position`.

    `days_column` holds each case's days in its current treatment; without it every case starts today.
    """
    days = pl.col(days_column) if days_column else pl.lit(0, dtype=pl.Int32)
    index_chain: Any = pl
    day_chain: Any = pl
    for arm in definition.arms():
        in_arm = pl.col("arm") == arm
        next_index, next_day = compile_next_step(definition.rules_for(arm), pl.col("position"), days)
        index_chain = index_chain.when(in_arm).then(next_index)
        day_chain = day_chain.when(in_arm).then(next_day)
    return decisions.with_columns(
        index_chain.otherwise(pl.lit(None, dtype=pl.Int32)).alias("next_index"),
        day_chain.otherwise(pl.lit(None, dtype=pl.Int32)).alias("next_day"),
    )


def _missing_attributes(frame: pl.DataFrame) -> list[pl.Expr]:
    """Attributes nobody provides yet are unknown for every case (a condition on them does not match)."""
    missing = []
    for attribute in ATTRIBUTES.values():
        if attribute.name not in frame.columns:
            dtype = {"number": pl.Int64, "category": pl.String, "flag": pl.Boolean}[attribute.kind]
            missing.append(pl.lit(None, dtype=dtype).alias(attribute.name))
    return missing


# ---------------------------------------------------------------------------------------------------------
# The validator: reasoning over attribute domains
#
# A condition's "true region" is a union of boxes; a box constrains some attributes to a set of values and
# leaves the others free. Negations are pushed down to the atoms first (De Morgan holds in three-valued
# logic), and a negated atom is true only where its attribute is known, so "unknown" is never in a region.


@dataclass(frozen=True)
class NumberSet:
    """Disjoint, sorted closed integer intervals (None = unbounded), and whether "unknown" is in the set."""

    intervals: tuple[tuple[int | None, int | None], ...]
    unknown: bool = False

    def is_empty(self) -> bool:
        return not self.intervals and not self.unknown

    def intersect(self, other: NumberSet) -> NumberSet:
        result = []
        for low_a, high_a in self.intervals:
            for low_b, high_b in other.intervals:
                low = _max_low(low_a, low_b)
                high = _min_high(high_a, high_b)
                if low is None or high is None or low <= high:
                    result.append((low, high))
        return NumberSet(_normalise(result), self.unknown and other.unknown)

    def complement(self, universe: NumberSet) -> NumberSet:
        gaps: list[tuple[int | None, int | None]] = []
        gap_start: int | None = None  # None: the gap starts at minus infinity
        reached_end = False
        for low, high in self.intervals:
            if low is not None:
                gaps.append((gap_start, low - 1))
            if high is None:
                reached_end = True
                break
            gap_start = high + 1
        if not reached_end:
            gaps.append((gap_start, None))
        return NumberSet(_normalise(gaps), not self.unknown).intersect(universe)

    def example(self) -> int | None:
        if not self.intervals:
            return None
        low, high = self.intervals[0]
        if low is not None:
            return low
        return high if high is not None else 0


def _max_low(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _min_high(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _normalise(intervals: list[tuple[int | None, int | None]]) -> tuple[tuple[int | None, int | None], ...]:
    cleaned = [(low, high) for low, high in intervals if low is None or high is None or low <= high]
    cleaned.sort(key=lambda interval: -math.inf if interval[0] is None else interval[0])
    merged: list[tuple[int | None, int | None]] = []
    for low, high in cleaned:
        if merged:
            last_low, last_high = merged[-1]
            if last_high is None or low is None or low <= last_high + 1:
                new_high = None if last_high is None or high is None else max(last_high, high)
                merged[-1] = (last_low, new_high)
                continue
        merged.append((low, high))
    return tuple(merged)


@dataclass(frozen=True)
class ValueSet:
    """A set of category values; `cofinite` means "every value except these". Plus "unknown"."""

    values: frozenset[Scalar]
    cofinite: bool = False
    unknown: bool = False

    def is_empty(self) -> bool:
        return not self.cofinite and not self.values and not self.unknown

    def intersect(self, other: ValueSet) -> ValueSet:
        unknown = self.unknown and other.unknown
        if self.cofinite and other.cofinite:
            return ValueSet(self.values | other.values, True, unknown)
        if self.cofinite:
            return ValueSet(other.values - self.values, False, unknown)
        if other.cofinite:
            return ValueSet(self.values - other.values, False, unknown)
        return ValueSet(self.values & other.values, False, unknown)

    def complement(self, universe: ValueSet) -> ValueSet:
        return ValueSet(self.values, not self.cofinite, not self.unknown).intersect(universe)

    def example(self) -> Scalar | None:
        if not self.cofinite:
            return sorted(self.values, key=str)[0] if self.values else None
        candidate = "other"
        while candidate in self.values:
            candidate += "_"
        return candidate


Box = dict[str, NumberSet | ValueSet]


def _universe(attribute: Attribute) -> NumberSet | ValueSet:
    if attribute.kind == "number":
        return NumberSet(((attribute.minimum, None),), attribute.optional)
    if attribute.kind == "flag":
        return ValueSet(frozenset({True, False}), False, attribute.optional)
    if attribute.values is not None:
        return ValueSet(frozenset(attribute.values), False, attribute.optional)
    return ValueSet(frozenset(), True, attribute.optional)


def _atom_region(atom: Atom, negated: bool) -> NumberSet | ValueSet:
    attribute = ATTRIBUTES[atom.attribute]
    universe = _universe(attribute)
    known_universe: NumberSet | ValueSet
    if isinstance(universe, NumberSet):
        known_universe = NumberSet(universe.intervals, False)
    else:
        known_universe = ValueSet(universe.values, universe.cofinite, False)
    region: NumberSet | ValueSet
    match atom:
        case Between(_, low, high):
            region = NumberSet(((low, high),))
        case InList(_, values, in_negated):
            region = (
                ValueSet(frozenset(values))
                if attribute.kind != "number"
                else NumberSet(
                    _normalise([(int(v), int(v)) for v in values])  # type: ignore[arg-type]
                )
            )
            negated = negated != in_negated
        case Compare(_, op, value):
            if attribute.kind == "number":
                assert isinstance(value, int)
                region = NumberSet(
                    {
                        "==": ((value, value),),
                        "!=": _normalise([(None, value - 1), (value + 1, None)]),
                        "<": ((None, value - 1),),
                        "<=": ((None, value),),
                        ">": ((value + 1, None),),
                        ">=": ((value, None),),
                    }[op]
                )
            else:
                if op == "==":
                    region = ValueSet(frozenset({value}))
                else:
                    region = ValueSet(frozenset({value}), cofinite=True)
        case _:
            raise TypeError(atom)
    if negated:
        region = region.complement(known_universe)  # type: ignore[arg-type]
    return region.intersect(known_universe)  # type: ignore[arg-type]


class TooComplex(Exception):
    pass


BOX_LIMIT = 20_000


def _intersect_boxes(a: Box, b: Box) -> Box | None:
    result = dict(a)
    for name, values in b.items():
        result[name] = result[name].intersect(values) if name in result else values  # type: ignore[arg-type]
        if result[name].is_empty():
            return None
    return result


def region(condition: Condition, negated: bool = False) -> list[Box]:
    """The boxes where `condition` (or its negation) is true."""
    match condition:
        case Always():
            return [] if negated else [{}]
        case Not(item):
            return region(item, not negated)
        case And(items) | Or(items):
            conjunctive = isinstance(condition, And) != negated
            parts = [region(item, negated) for item in items]
            if conjunctive:
                boxes: list[Box] = [{}]
                for part in parts:
                    boxes = [
                        merged for a in boxes for b in part if (merged := _intersect_boxes(a, b)) is not None
                    ]
                    if len(boxes) > BOX_LIMIT:
                        raise TooComplex
                return boxes
            union = [box for part in parts for box in part]
            if len(union) > BOX_LIMIT:
                raise TooComplex
            return union
    atom_set = _atom_region(condition, negated)  # type: ignore[arg-type]
    return [] if atom_set.is_empty() else [{condition.attribute: atom_set}]  # type: ignore[union-attr]


def _subtract(box: Box, cut: Box) -> list[Box]:
    """box minus cut, as disjoint boxes."""
    if _intersect_boxes(box, cut) is None:
        return [box]
    pieces = []
    remaining = dict(box)
    for name, cut_values in cut.items():
        current = remaining.get(name, _universe(ATTRIBUTES[name]))
        outside = cut_values.complement(_universe(ATTRIBUTES[name])).intersect(current)  # type: ignore[arg-type]
        if not outside.is_empty():
            piece = dict(remaining)
            piece[name] = outside
            pieces.append(piece)
        inside = current.intersect(cut_values)  # type: ignore[arg-type]
        if inside.is_empty():
            return pieces
        remaining[name] = inside
    return pieces


def _subtract_all(boxes: list[Box], cuts: list[Box]) -> list[Box]:
    for cut in cuts:
        boxes = [piece for box in boxes for piece in _subtract(box, cut)]
        if len(boxes) > BOX_LIMIT:
            raise TooComplex
        if not boxes:
            break
    return boxes


def describe_box(box: Box) -> dict[str, str]:
    """One example case from a box, attribute by attribute ("unknown" for a missing value)."""
    example = {}
    for name in sorted(box):
        values = box[name]
        attribute = ATTRIBUTES[name]
        sample = values.example()
        example[name] = "unknown" if sample is None else format_value(attribute, sample)
    return example


@dataclass(frozen=True)
class Finding:
    kind: Literal["never_matches", "shadowed", "overlap", "gap", "too_complex", "unknown_attribute"]
    rule: str | None  # rule key
    other: str | None = None
    example: dict[str, str] = field(default_factory=dict)

    @property
    def is_error(self) -> bool:
        return self.kind in {"never_matches", "shadowed"}


def validate(rules: Sequence[Rule], *, provided: Iterable[str] | None = None) -> list[Finding]:
    """Rules that can never match, overlaps (the earlier rule wins), and gaps where no rule matches.

    `provided` lists the optional attributes somebody supplies; a condition on another optional
    attribute is reported, because it is unknown for every case today.
    """
    findings: list[Finding] = []
    available = set(provided) if provided is not None else None
    regions: list[list[Box]] = []
    try:
        for rule in rules:
            regions.append(region(rule.condition))
    except TooComplex:
        return [Finding("too_complex", None)]
    for rule, boxes in zip(rules, regions, strict=True):
        if available is not None:
            for name in sorted(attributes_used(rule.condition)):
                if ATTRIBUTES[name].optional and name not in available:
                    findings.append(Finding("unknown_attribute", rule.key, name))
        if not boxes:
            findings.append(Finding("never_matches", rule.key))
    try:
        for index, rule in enumerate(rules):
            if not regions[index]:
                continue
            earlier = [box for boxes in regions[:index] for box in boxes]
            left = _subtract_all(list(regions[index]), earlier)
            if not left:
                findings.append(Finding("shadowed", rule.key))
                continue
            for other_index in range(index):
                overlap = next(
                    (
                        merged
                        for a in regions[other_index]
                        for b in regions[index]
                        if (merged := _intersect_boxes(a, b)) is not None
                    ),
                    None,
                )
                if overlap is not None:
                    findings.append(
                        Finding("overlap", rule.key, rules[other_index].key, describe_box(overlap))
                    )
        everything: list[Box] = [{}]
        gaps = _subtract_all(everything, [box for boxes in regions for box in boxes])
        if gaps:
            findings.append(Finding("gap", None, None, describe_box(gaps[0])))
    except TooComplex:
        findings.append(Finding("too_complex", None))
    return findings


# ---------------------------------------------------------------------------------------------------------
# Statistics for the results page


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


Z_95 = 1.959963984540054


def wilson(successes: int, trials: int, z: float = Z_95) -> Interval | None:
    """The Wilson score interval for a proportion; None without trials."""
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def difference_of_proportions(
    successes_a: int, trials_a: int, successes_b: int, trials_b: int, z: float = Z_95
) -> Interval | None:
    """p_a - p_b with a Newcombe (Wilson-based) interval; None when an arm has no trials."""
    interval_a = wilson(successes_a, trials_a, z)
    interval_b = wilson(successes_b, trials_b, z)
    if interval_a is None or interval_b is None:
        return None
    difference = interval_a.estimate - interval_b.estimate
    low = difference - math.sqrt(
        (interval_a.estimate - interval_a.low) ** 2 + (interval_b.high - interval_b.estimate) ** 2
    )
    high = difference + math.sqrt(
        (interval_a.high - interval_a.estimate) ** 2 + (interval_b.estimate - interval_b.low) ** 2
    )
    return Interval(difference, low, high)


def ratio_interval(
    numerators: Sequence[int], denominators: Sequence[int], z: float = Z_95
) -> Interval | None:
    """sum(y) / sum(x) over cases (e.g. money recovered over money owed) with a delta-method interval."""
    n = len(numerators)
    total_x = sum(denominators)
    if n < 2 or total_x <= 0:
        return None
    ratio = sum(numerators) / total_x
    mean_x = total_x / n
    residuals = [y - ratio * x for y, x in zip(numerators, denominators, strict=True)]
    variance = sum(r * r for r in residuals) / (n - 1)
    standard_error = math.sqrt(variance / n) / mean_x
    return Interval(ratio, ratio - z * standard_error, ratio + z * standard_error)


def is_significant(interval: Interval | None) -> bool:
    """A difference is significant at 95% when its interval excludes zero."""
    return interval is not None and (interval.low > 0 or interval.high < 0)
