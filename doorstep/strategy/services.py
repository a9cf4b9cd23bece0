"""Every write of the strategy domain. One transaction each, an audit entry each."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import polars as pl
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.core.audit import Actor, audit_record
from doorstep.core.bulk import bulk_insert, read_frame
from doorstep.strategy import attributes, engine
from doorstep.strategy import rules as r
from doorstep.strategy.models import (
    VERSION_TRANSITIONS,
    CaseTreatment,
    Strategy,
    StrategyVersion,
    VersionStatus,
)

KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")


def _user(actor: Actor) -> AbstractBaseUser | None:
    return actor if isinstance(actor, AbstractBaseUser) else None


def _lock_version(version_id: int) -> StrategyVersion:
    return StrategyVersion.objects.select_for_update().select_related("strategy").get(pk=version_id)


def _lock_draft(version_id: int) -> StrategyVersion:
    version = _lock_version(version_id)
    if not version.is_editable:
        raise ValidationError(_("Only a draft can be changed; start a new draft from this version."))
    return version


def _move(version: StrategyVersion, to_status: VersionStatus) -> None:
    if to_status not in VERSION_TRANSITIONS[version.status]:
        raise ValidationError(
            _("A version that is %(current)s cannot become %(target)s.")
            % {"current": version.get_status_display(), "target": to_status.label}
        )
    version.status = to_status


def definition_of(version: StrategyVersion) -> r.Definition:
    try:
        return r.definition_from_json(version.definition or {})
    except r.RuleError as error:
        raise ValidationError(str(error)) from error


def strategy_create(*, actor: Actor, code: str, name: str, description: str = "") -> StrategyVersion:
    """A new strategy with an empty first draft."""
    code = code.strip().lower()
    if not KEY_PATTERN.match(code):
        raise ValidationError(_("A code is lower-case letters, digits, '-' and '_'."))
    if not name.strip():
        raise ValidationError(_("A strategy needs a name."))
    with transaction.atomic():
        if Strategy.objects.filter(code=code).exists():
            raise ValidationError(_("A strategy with this code exists already."))
        strategy = Strategy.objects.create(code=code, name=name.strip(), description=description.strip())
        version = StrategyVersion.objects.create(
            strategy=strategy, number=1, definition={"rules": []}, created_by=_user(actor)
        )
        audit_record(actor=actor, action="strategy.strategy.created", target=strategy, data={"code": code})
    return version


def version_new_draft(*, actor: Actor, version_id: int) -> StrategyVersion:
    """A new draft of the same strategy, starting from the rules of `version_id`."""
    with transaction.atomic():
        source = _lock_version(version_id)
        strategy = Strategy.objects.select_for_update().get(pk=source.strategy_id)
        number = (strategy.versions.aggregate(top=Max("number"))["top"] or 0) + 1
        draft = StrategyVersion.objects.create(
            strategy=strategy,
            number=number,
            definition=source.definition,
            based_on=source,
            created_by=_user(actor),
        )
        audit_record(
            actor=actor,
            action="strategy.version.created",
            target=draft,
            data={"based_on": source.pk, "number": number},
        )
    return draft


def rule_save(
    *,
    actor: Actor,
    version_id: int,
    name: str,
    condition: str,
    steps: list[dict[str, Any]],
    key: str | None = None,
) -> StrategyVersion:
    """Add a rule to a draft (at the end) or replace the rule with `key`. The condition is the text form."""
    try:
        parsed = r.parse_condition(condition)
        rule = r.rule_from_json(
            {"key": key or "new", "name": name, "when": r.condition_to_json(parsed), "steps": steps}
        )
    except r.RuleError as error:
        raise ValidationError(str(error)) from error
    with transaction.atomic():
        version = _lock_draft(version_id)
        rules = version.rules_json
        if key is None:
            taken = {item["key"] for item in rules}
            number = len(rules) + 1
            while f"r{number}" in taken:
                number += 1
            rule = r.Rule(f"r{number}", rule.name, rule.condition, rule.steps)
            rules.append(r.rule_to_json(rule))
        else:
            positions = [index for index, item in enumerate(rules) if item["key"] == key]
            if not positions:
                raise ValidationError(_("This rule is not in the version."))
            rules[positions[0]] = r.rule_to_json(rule)
        version.definition = {**version.definition, "rules": rules}
        version.save(update_fields=["definition"])
        audit_record(
            actor=actor,
            action="strategy.rule.saved",
            target=version,
            data={"rule": rule.key, "name": rule.name, "when": r.format_condition(rule.condition)},
        )
    return version


def rule_delete(*, actor: Actor, version_id: int, key: str) -> StrategyVersion:
    with transaction.atomic():
        version = _lock_draft(version_id)
        rules = version.rules_json
        kept = [item for item in rules if item["key"] != key]
        if len(kept) == len(rules):
            raise ValidationError(_("This rule is not in the version."))
        version.definition = {**version.definition, "rules": kept}
        version.save(update_fields=["definition"])
        audit_record(actor=actor, action="strategy.rule.deleted", target=version, data={"rule": key})
    return version


def rule_move(*, actor: Actor, version_id: int, key: str, offset: int) -> StrategyVersion:
    """Move a rule up (offset -1) or down (+1): order decides which rule wins."""
    with transaction.atomic():
        version = _lock_draft(version_id)
        rules = version.rules_json
        positions = [index for index, item in enumerate(rules) if item["key"] == key]
        if not positions:
            raise ValidationError(_("This rule is not in the version."))
        old = positions[0]
        new = min(max(old + offset, 0), len(rules) - 1)
        rules.insert(new, rules.pop(old))
        version.definition = {**version.definition, "rules": rules}
        version.save(update_fields=["definition"])
        audit_record(actor=actor, action="strategy.rule.moved", target=version, data={"rule": key, "to": new})
    return version


def experiment_save(
    *,
    actor: Actor,
    version_id: int,
    test_id: str,
    holdout_share: int,
    challengers: list[dict[str, Any]],
) -> StrategyVersion:
    """Set the champion/challenger test of a draft. Each challenger copies the rules of another version.

    `challengers` items: key, name, share (basis points), source_version_id. An empty test id removes the test.
    """
    with transaction.atomic():
        version = _lock_draft(version_id)
        definition = dict(version.definition)
        if not test_id.strip():
            definition.pop("experiment", None)
        else:
            items = []
            for challenger in challengers:
                source = StrategyVersion.objects.filter(pk=challenger["source_version_id"]).first()
                if source is None:
                    raise ValidationError(_("The challenger's version does not exist."))
                if source.pk == version.pk:
                    raise ValidationError(_("A challenger must be another version."))
                items.append(
                    {
                        "key": str(challenger["key"]).strip(),
                        "name": str(challenger.get("name") or challenger["key"]).strip(),
                        "share": int(challenger["share"]),
                        "source_version": source.pk,
                        "rules": source.rules_json,
                    }
                )
            definition["experiment"] = {
                "test_id": test_id.strip(),
                "holdout_share": int(holdout_share),
                "challengers": items,
            }
        try:
            r.definition_from_json(definition)
        except r.RuleError as error:
            raise ValidationError(str(error)) from error
        version.definition = definition
        version.save(update_fields=["definition"])
        audit_record(
            actor=actor,
            action="strategy.experiment.saved",
            target=version,
            data={
                "test_id": test_id.strip(),
                "holdout_share": int(holdout_share),
                "challengers": [
                    (item["key"], item["share"], item["source_version"])
                    for item in definition.get("experiment", {}).get("challengers", [])
                ],
            },
        )
    return version


def blocking_findings(definition: r.Definition) -> list[r.Finding]:
    findings = [finding for finding in r.validate(definition.rules) if finding.is_error]
    if definition.experiment is not None:
        for challenger in definition.experiment.challengers:
            findings += [finding for finding in r.validate(challenger.rules) if finding.is_error]
    return findings


def version_submit(*, actor: Actor, version_id: int, note: str = "") -> StrategyVersion:
    """Send a draft for approval. Rules that can never match must be fixed first."""
    with transaction.atomic():
        version = _lock_version(version_id)
        definition = definition_of(version)
        if not definition.rules:
            raise ValidationError(_("A version needs at least one rule."))
        if blocking_findings(definition):
            raise ValidationError(_("Some rules can never match; fix or remove them before submitting."))
        _move(version, VersionStatus.PENDING)
        version.note = note.strip()[:300]
        version.submitted_at = timezone.now()
        version.submitted_by = _user(actor)
        version.save(update_fields=["status", "note", "submitted_at", "submitted_by"])
        audit_record(
            actor=actor, action="strategy.version.submitted", target=version, data={"note": version.note}
        )
    return version


def version_return(*, actor: Actor, version_id: int, reason: str) -> StrategyVersion:
    """Send a version awaiting approval back to draft, with the reason."""
    if not reason.strip():
        raise ValidationError(_("Say why the version goes back to draft."))
    with transaction.atomic():
        version = _lock_version(version_id)
        _move(version, VersionStatus.DRAFT)
        version.submitted_at = None
        version.submitted_by = None
        version.save(update_fields=["status", "submitted_at", "submitted_by"])
        audit_record(
            actor=actor, action="strategy.version.returned", target=version, data={"reason": reason.strip()}
        )
    return version


def version_approve(*, actor: AbstractBaseUser, version_id: int) -> StrategyVersion:
    """A second manager approves: the version becomes the active one and the previous one retires."""
    if not actor.has_perm("strategy.approve_strategyversion"):  # type: ignore[attr-defined]
        raise PermissionDenied(_("You may not approve strategy versions."))
    with transaction.atomic():
        version = _lock_version(version_id)
        if version.submitted_by_id == actor.pk:
            raise ValidationError(
                _("A version must be approved by someone other than the person who submitted it.")
            )
        _move(version, VersionStatus.ACTIVE)
        now = timezone.now()
        for previous in StrategyVersion.objects.select_for_update().filter(status=VersionStatus.ACTIVE):
            _move(previous, VersionStatus.RETIRED)
            previous.retired_at = now
            previous.save(update_fields=["status", "retired_at"])
            audit_record(
                actor=actor, action="strategy.version.retired", target=previous, data={"by": version.pk}
            )
        version.approved_at = now
        version.approved_by = actor
        version.save(update_fields=["status", "approved_at", "approved_by"])
        audit_record(actor=actor, action="strategy.version.activated", target=version)
    return version


def active_version() -> StrategyVersion | None:
    return StrategyVersion.objects.select_related("strategy").filter(status=VersionStatus.ACTIVE).first()


def _previous_treatments(business_date: dt.date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The latest earlier day's decisions, and the paths of the versions that took them."""
    latest = CaseTreatment.objects.filter(business_date__lt=business_date).aggregate(
        day=Max("business_date")
    )["day"]
    if latest is None:
        return pl.DataFrame(schema=engine.PREVIOUS_SCHEMA), engine.path_table({})
    previous = read_frame(
        "SELECT case_id, version_id, arm, rule_key, started_on FROM strategy_casetreatment "  # noqa: S608 - a formatted date only
        f"WHERE business_date = '{latest.isoformat()}'",
        engine.PREVIOUS_SCHEMA,
    )
    version_ids = previous["previous_version_id"].unique().to_list()
    definitions = {
        version.pk: definition_of(version) for version in StrategyVersion.objects.filter(pk__in=version_ids)
    }
    return previous, engine.path_table(definitions)


def strategy_apply(*, actor: Actor, business_date: dt.date) -> dict[str, Any]:
    """Decide every active case's treatment for `business_date` with the active version, in bulk.

    Running it again for the same date replaces that date's decisions in one transaction, so a crash
    or a second run never leaves half a day or doubles it.
    """
    version = active_version()
    if version is None:
        return {"skipped": _("No strategy version is active.")}
    definition = definition_of(version)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    cases = attributes.case_frame(business_date)
    previous, previous_paths = _previous_treatments(business_date)
    timings["read_seconds"] = round(time.perf_counter() - started, 3)
    mark = time.perf_counter()
    decided = engine.treatments(
        definition=definition,
        version_id=version.pk,
        cases=cases,
        previous=previous,
        previous_paths=previous_paths,
        business_date=business_date,
    )
    timings["decide_seconds"] = round(time.perf_counter() - mark, 3)
    mark = time.perf_counter()
    with transaction.atomic():
        # One DELETE statement: nothing refers to treatments, so the rows need not be loaded first.
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Not waiting for the WAL flush is safe here: a crash that loses this commit loses the step's
                # "succeeded" mark with it (same transaction), so the next run simply decides the day again.
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
            cursor.execute(
                f"DELETE FROM {CaseTreatment._meta.db_table} WHERE business_date = %s",  # noqa: S608 - a model's table
                [business_date],
            )
        deleted_at = time.perf_counter()
        written = bulk_insert(table=CaseTreatment._meta.db_table, frame=decided)
        per_arm = decided.group_by("arm").len().sort("arm")
        summary: dict[str, Any] = {
            "version": version.pk,
            "version_label": str(version),
            "cases": written,
            "matched": int(decided.filter(pl.col("rule_key") != "").height),
            "unmatched": int(decided.filter(pl.col("rule_key") == "").height),
            "arms": {row["arm"]: row["len"] for row in per_arm.iter_rows(named=True)},
            "visits_due_today": int(
                decided.filter(
                    (pl.col("next_channel") == "visit") & (pl.col("next_due_on") == business_date)
                ).height
            ),
        }
        audit_record(
            actor=actor,
            action="strategy.treatments.applied",
            target=version,
            data={"business_date": business_date.isoformat(), **summary},
        )
    timings["delete_seconds"] = round(deleted_at - mark, 3)
    timings["write_seconds"] = round(time.perf_counter() - deleted_at, 3)
    attributes.save_frame(business_date, cases)
    return {**summary, **timings}
