"""The daily cycle: intake → strategy → (allocation → appointments → plans, as those domains add their steps).

Each step is a function `(run, actor) -> summary` over a service, run at most once per business date:
a step that succeeded for a date is skipped, and one that failed or was interrupted runs again from the
start, because its writes happen in one transaction (or are keyed by the date). The step's status row is
locked in that same transaction, so two workers never run one step of one date at once.

Other apps join the chain from their `AppConfig.ready()`, naming the steps that must run before theirs:

    register_daily_step(DailyStep("allocation", _("Allocation"), allocation_step, after=("strategy",)))

The chain keeps every such order whichever app registers first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doorstep.core.audit import Actor, actor_fields, audit_record
from doorstep.strategy import services
from doorstep.strategy.models import DailyRun, DailyRunStep, RunStatus

StepFunction = Callable[[DailyRun, Actor], dict[str, Any]]


@dataclass(frozen=True)
class DailyStep:
    name: str
    label: str | Promise
    run: StepFunction
    after: tuple[str, ...] = ()  # steps that run before this one whenever they are in the chain


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def intake_step(run: DailyRun, actor: Actor) -> dict[str, Any]:
    """Import the day's snapshot, if one was given; the same file for the same date is imported once."""
    snapshot = run.options.get("snapshot")
    if not snapshot:
        return {"skipped": _("No snapshot file was given; the portfolio is taken as it stands.")}
    from doorstep.portfolio.models import SnapshotImport
    from doorstep.portfolio.services import snapshot_import

    path = Path(snapshot)
    if not path.is_file():
        raise FileNotFoundError(_("The snapshot file %(path)s does not exist.") % {"path": snapshot})
    earlier = SnapshotImport.objects.filter(
        snapshot_date=run.business_date, file_sha256=_file_sha256(path)
    ).first()
    if earlier is not None:
        return {"skipped": _("This file was already imported for this date."), "import": earlier.pk}
    result = snapshot_import(actor=actor, path=path, snapshot_date=run.business_date)
    return {
        "import": result.pk,
        "rows": result.rows,
        "cases_opened": result.cases_opened,
        "cases_cured": result.cases_cured,
        "cases_updated": result.cases_updated,
        "warnings": len(result.warnings or []),
    }


def strategy_step(run: DailyRun, actor: Actor) -> dict[str, Any]:
    return services.strategy_apply(actor=actor, business_date=run.business_date)


DAILY_STEPS: list[DailyStep] = [
    DailyStep("intake", gettext_lazy("Intake"), intake_step),
    DailyStep("strategy", gettext_lazy("Strategy"), strategy_step, after=("intake", "scoring")),
]


def register_daily_step(step: DailyStep) -> None:
    """Add (or replace) a step of the daily chain. It runs after the steps it names in ``after`` that are
    in the chain; apart from what the steps name, the chain keeps the order in which they were added.
    Steps that would wait for each other are refused, and the chain stays as it was."""
    steps = list(DAILY_STEPS)
    existing = [index for index, item in enumerate(steps) if item.name == step.name]
    if existing:
        steps[existing[0]] = step
    else:
        steps.append(step)
    DAILY_STEPS[:] = _in_order(steps)


def _in_order(steps: list[DailyStep]) -> list[DailyStep]:
    """``steps`` with each after the steps it names: each time, the first in the given order whose
    predecessors are all placed."""
    names = {step.name for step in steps}
    placed: set[str] = set()
    ordered: list[DailyStep] = []
    waiting = list(steps)
    while waiting:
        ready = next(
            (step for step in waiting if all(name in placed or name not in names for name in step.after)), None
        )
        if ready is None:
            raise ValueError("daily steps wait for each other: " + ", ".join(step.name for step in waiting))
        ordered.append(ready)
        placed.add(ready.name)
        waiting.remove(ready)
    return ordered


def step_named(name: str) -> DailyStep:
    for step in DAILY_STEPS:
        if step.name == name:
            return step
    raise KeyError(name)


def daily_run_prepare(
    *, actor: Actor, business_date: dt.date, snapshot: str | None = None, payments: str | None = None
) -> DailyRun:
    """The run for `business_date` (created the first time) with a row for every step of today's chain."""
    options: dict[str, Any] = {}
    if snapshot:
        options["snapshot"] = str(Path(snapshot).resolve())
    if payments:
        options["payments"] = str(Path(payments).resolve())
    with transaction.atomic():
        run, created = DailyRun.objects.select_for_update().get_or_create(
            business_date=business_date,
            defaults={"options": options, "requested_by_label": actor_fields(actor)["actor_label"]},
        )
        if not created and options and options != run.options:
            run.options = {**run.options, **options}
            run.save(update_fields=["options"])
        for position, step in enumerate(DAILY_STEPS):
            DailyRunStep.objects.update_or_create(run=run, name=step.name, defaults={"position": position})
        audit_record(
            actor=actor,
            action="strategy.daily_run.requested",
            target=run,
            data={"business_date": business_date.isoformat(), "options": run.options, "new": created},
        )
    return run


def daily_step_execute(*, run_id: int, name: str, actor: Actor) -> DailyRunStep:
    """Run one step of one date unless it already succeeded. Failures are recorded, not raised."""
    step = step_named(name)
    with transaction.atomic():
        row = DailyRunStep.objects.select_for_update().get(run_id=run_id, name=name)
        if row.status == RunStatus.SUCCEEDED:
            return row
        row.status = RunStatus.RUNNING
        row.attempts += 1
        row.started_at = timezone.now()
        row.finished_at = None
        row.error = ""
        row.save(update_fields=["status", "attempts", "started_at", "finished_at", "error"])
        DailyRun.objects.filter(pk=run_id).update(
            status=RunStatus.RUNNING, started_at=row.started_at, finished_at=None
        )
    try:
        with transaction.atomic():
            row = DailyRunStep.objects.select_for_update().select_related("run").get(pk=row.pk)
            if row.status == RunStatus.SUCCEEDED:  # another worker finished it while we waited for the lock
                return row
            summary = step.run(row.run, actor)
            row.status = RunStatus.SUCCEEDED
            row.summary = summary
            row.finished_at = timezone.now()
            row.save(update_fields=["status", "summary", "finished_at"])
            audit_record(
                actor=actor,
                action=f"strategy.daily_run.{name}.succeeded",
                target=row.run,
                data={"business_date": row.run.business_date.isoformat(), "summary": summary},
            )
    except Exception as error:
        with transaction.atomic():
            row = DailyRunStep.objects.select_for_update().select_related("run").get(pk=row.pk)
            row.status = RunStatus.FAILED
            row.error = f"{type(error).__name__}: {error}\n\n{traceback.format_exc(limit=6)}"[:5000]
            row.finished_at = timezone.now()
            row.save(update_fields=["status", "error", "finished_at"])
            DailyRun.objects.filter(pk=run_id).update(status=RunStatus.FAILED, finished_at=row.finished_at)
            audit_record(
                actor=actor,
                action=f"strategy.daily_run.{name}.failed",
                target=row.run,
                data={"business_date": row.run.business_date.isoformat(), "error": str(error)[:500]},
            )
    return row


def next_step_name(run: DailyRun, after: str | None) -> str | None:
    names = [step.name for step in DAILY_STEPS]
    if after is None:
        return names[0] if names else None
    position = names.index(after)
    return names[position + 1] if position + 1 < len(names) else None


def daily_run_finish(*, run_id: int) -> DailyRun:
    with transaction.atomic():
        run = DailyRun.objects.select_for_update().get(pk=run_id)
        statuses = set(run.steps.values_list("status", flat=True))
        if statuses == {RunStatus.SUCCEEDED}:
            run.status = RunStatus.SUCCEEDED
        elif RunStatus.FAILED in statuses:
            run.status = RunStatus.FAILED
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "finished_at"])
    return run


def daily_run_execute(*, run_id: int, actor: Actor) -> DailyRun:
    """Run the chain in this process, step after step, stopping at the first failure."""
    run = DailyRun.objects.get(pk=run_id)
    name = next_step_name(run, None)
    while name is not None:
        row = daily_step_execute(run_id=run_id, name=name, actor=actor)
        if row.status != RunStatus.SUCCEEDED:
            break
        name = next_step_name(run, name)
    return daily_run_finish(run_id=run_id)
