"""The daily cycle: each step once per date, resumable after a failure or a crash, visible step by step."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from doorstep.core.roles import Role
from doorstep.portfolio.demo_data import generate_snapshot, write_snapshot
from doorstep.portfolio.models import Case, SnapshotImport
from doorstep.strategy import flows
from doorstep.strategy.models import CaseTreatment, DailyRun, DailyRunStep, RunStatus
from tests import factories
from tests.conftest import Cast
from tests.strategy.factories import activate, make_version

DAY = dt.date(2026, 11, 28)


@pytest.fixture
def active_strategy(cast: Cast):  # type: ignore[no-untyped-def]
    approver = factories.make_user("manager2", Role.MANAGER)
    return activate(make_version(cast.manager), cast.manager, approver)


def run_daily(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("run_daily", *args, stdout=out)
    return out.getvalue()


def test_a_run_with_a_snapshot_imports_it_then_decides_every_case(active_strategy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    snapshot = write_snapshot(
        generate_snapshot(accounts=60, seed=7, snapshot_date=DAY), tmp_path / "snapshot.csv"
    )

    output = run_daily("--date", DAY.isoformat(), "--snapshot", str(snapshot), "--wait")

    run = DailyRun.objects.get(business_date=DAY)
    assert run.status == RunStatus.SUCCEEDED
    assert [step.name for step in run.steps.order_by("position")] == [step.name for step in flows.DAILY_STEPS]
    assert SnapshotImport.objects.filter(snapshot_date=DAY).count() == 1
    active_cases = Case.objects.filter(status__in=["open", "arrangement", "legal"]).count()
    assert CaseTreatment.objects.filter(business_date=DAY).count() == active_cases > 3
    assert "intake" in output and "strategy" in output and "succeeded" in output


def test_running_a_date_again_skips_every_finished_step(active_strategy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    snapshot = write_snapshot(
        generate_snapshot(accounts=30, seed=3, snapshot_date=DAY), tmp_path / "snapshot.csv"
    )
    run_daily("--date", DAY.isoformat(), "--snapshot", str(snapshot), "--wait")
    before = sorted(CaseTreatment.objects.values_list("case_id", "rule_key", "next_due_on"))

    run_daily("--date", DAY.isoformat(), "--snapshot", str(snapshot), "--wait")

    assert sorted(CaseTreatment.objects.values_list("case_id", "rule_key", "next_due_on")) == before
    assert set(DailyRunStep.objects.values_list("attempts", flat=True)) == {1}
    assert SnapshotImport.objects.count() == 1


def test_a_failed_step_is_recorded_and_the_next_run_resumes_from_it(active_strategy) -> None:  # type: ignore[no-untyped-def]
    calls: list[str] = []

    def flaky(run: DailyRun, actor: Any) -> dict[str, Any]:
        calls.append("called")
        if len(calls) == 1:
            raise RuntimeError("routing server unreachable")
        return {"planned": 3}

    flows.register_daily_step(flows.DailyStep("plans", "Plans", flaky, after=("strategy",)))
    try:
        with pytest.raises(CommandError, match="did not finish"):
            run_daily("--date", DAY.isoformat(), "--wait")
        failed = DailyRunStep.objects.get(name="plans")
        assert failed.status == RunStatus.FAILED and "routing server unreachable" in failed.error
        assert DailyRun.objects.get().status == RunStatus.FAILED

        run_daily("--date", DAY.isoformat(), "--wait")
    finally:
        flows.DAILY_STEPS[:] = [step for step in flows.DAILY_STEPS if step.name != "plans"]

    steps = {step.name: step for step in DailyRunStep.objects.all()}
    assert (steps["strategy"].attempts, steps["plans"].attempts) == (1, 2)
    assert steps["plans"].summary == {"planned": 3}
    assert DailyRun.objects.get().status == RunStatus.SUCCEEDED


def test_a_step_interrupted_mid_way_runs_again_cleanly(active_strategy) -> None:  # type: ignore[no-untyped-def]
    run = flows.daily_run_prepare(actor="system:test", business_date=DAY)
    # A worker was killed while deciding: the step says running, and its transaction never committed.
    DailyRunStep.objects.filter(run=run, name="intake").update(status=RunStatus.SUCCEEDED, attempts=1)
    DailyRunStep.objects.filter(run=run, name="strategy").update(status=RunStatus.RUNNING, attempts=1)

    run_daily("--date", DAY.isoformat(), "--wait")

    step = DailyRunStep.objects.get(run=run, name="strategy")
    assert (step.status, step.attempts) == (RunStatus.SUCCEEDED, 2)
    assert CaseTreatment.objects.filter(business_date=DAY).count() == Case.objects.count()


def test_a_step_that_fails_inside_its_transaction_writes_nothing(active_strategy, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from doorstep.strategy import services

    def broken_insert(**kwargs: Any) -> int:
        from doorstep.core.bulk import bulk_insert

        bulk_insert(**kwargs)
        raise OSError("disk full")

    monkeypatch.setattr(services, "bulk_insert", broken_insert)
    with pytest.raises(CommandError):
        run_daily("--date", DAY.isoformat(), "--wait")

    assert not CaseTreatment.objects.exists()
    assert DailyRunStep.objects.get(name="strategy").status == RunStatus.FAILED


def test_without_wait_the_first_step_is_queued_for_the_database_worker(active_strategy) -> None:  # type: ignore[no-untyped-def]
    from django_tasks_db.models import DBTaskResult

    output = run_daily("--date", DAY.isoformat())

    assert "queued" in output
    assert DailyRun.objects.get(business_date=DAY).status == RunStatus.PENDING
    queued = DBTaskResult.objects.get()
    assert queued.task_path == "doorstep.strategy.tasks.daily_run_step"
    assert queued.args_kwargs["args"][1] == "intake"


def test_each_queued_step_enqueues_the_next_until_the_chain_is_done(active_strategy, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}

    run_daily("--date", DAY.isoformat())

    run = DailyRun.objects.get(business_date=DAY)
    assert run.status == RunStatus.SUCCEEDED
    assert set(run.steps.values_list("status", flat=True)) == {RunStatus.SUCCEEDED}
    assert CaseTreatment.objects.filter(business_date=DAY).count() == Case.objects.count()


def test_a_bad_date_or_a_missing_file_is_refused_before_anything_runs(db: None) -> None:
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        run_daily("--date", "28/11/2026", "--wait")
    with pytest.raises(CommandError, match="no such file"):
        run_daily("--date", DAY.isoformat(), "--snapshot", "/nonexistent.csv", "--wait")
    assert not DailyRun.objects.exists()


def test_other_domains_join_the_chain_after_the_steps_they_name() -> None:
    def allocate(run: DailyRun, actor: Any) -> dict[str, Any]:
        return {}

    flows.register_daily_step(flows.DailyStep("allocation", "Allocation", allocate, after=("strategy", "payments")))
    try:
        names = [step.name for step in flows.DAILY_STEPS]
        assert names[0] == "intake" and names.index("allocation") > max(names.index("strategy"), names.index("payments"))
    finally:
        flows.DAILY_STEPS[:] = [step for step in flows.DAILY_STEPS if step.name != "allocation"]


def test_the_chain_keeps_every_named_order_whichever_app_registers_first() -> None:
    installed = list(flows.DAILY_STEPS)
    assert [step.name for step in installed] == [
        "intake", "scoring", "strategy", "training", "payments", "arrangements", "field_visits",
        "complaint_deadlines", "reports",
    ]
    try:
        for order in (installed[::-1], installed[1::2] + installed[::2]):
            flows.DAILY_STEPS[:] = []
            for step in order:
                flows.register_daily_step(step)
            names = [step.name for step in flows.DAILY_STEPS]
            assert sorted(names) == sorted(step.name for step in installed)
            for step in installed:
                assert all(names.index(before) < names.index(step.name) for before in step.after), step.name
    finally:
        flows.DAILY_STEPS[:] = installed


def test_steps_that_would_wait_for_each_other_are_refused_and_the_chain_stays() -> None:
    def nothing(run: DailyRun, actor: Any) -> dict[str, Any]:
        return {}

    before = list(flows.DAILY_STEPS)
    flows.register_daily_step(flows.DailyStep("audit_sample", "Audit", nothing, after=("reports", "letters")))
    try:
        with pytest.raises(ValueError, match="wait for each other"):
            flows.register_daily_step(flows.DailyStep("letters", "Letters", nothing, after=("audit_sample",)))
        assert [step.name for step in flows.DAILY_STEPS] == [step.name for step in before] + ["audit_sample"]
    finally:
        flows.DAILY_STEPS[:] = before


def test_a_rejected_snapshot_stops_the_run_before_the_strategy_step(active_strategy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "snapshot.csv"
    bad.write_text("loan_id,name\nL1,张三\n", encoding="utf-8")

    with pytest.raises(CommandError):
        run_daily("--date", DAY.isoformat(), "--snapshot", str(bad), "--wait")

    steps = {step.name: step for step in DailyRunStep.objects.all()}
    assert steps["intake"].status == RunStatus.FAILED and "SnapshotRejected" in steps["intake"].error
    assert steps["strategy"].status == RunStatus.PENDING
    assert not CaseTreatment.objects.exists()
