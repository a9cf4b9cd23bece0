"""`doorstep import-snapshot` and the background task: what an operator sees for good and bad files."""

from __future__ import annotations

import csv
import datetime as dt
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from doorstep.portfolio.models import Case, Loan, SnapshotImport
from doorstep.portfolio.tasks import snapshot_import_task
from tests.portfolio import snapshots
from tests.portfolio.snapshots import DAY, loan

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _in_english() -> object:
    with translation.override("en"):
        yield


@pytest.fixture
def immediate_tasks(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def run(*arguments: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_snapshot", *arguments, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_good_file_is_imported_with_a_summary(tmp_path: Path) -> None:
    path = snapshots.write(tmp_path / "overdue-20261127.csv", [loan("L1", 1), loan("L2", 2)])
    out, _ = run(str(path), "--date", DAY.isoformat())
    assert "snapshot of 2026-11-27 imported, 2 rows" in out
    assert "loans created 2" in out and "cases opened 2" in out
    assert Loan.objects.count() == 2


def test_progress_lines_name_the_stages_when_asked(tmp_path: Path) -> None:
    path = snapshots.write(tmp_path / "s.csv", [loan("L1", 1)])
    out, _ = run(str(path), "--verbosity", "2")
    stages = [line.split()[1] for line in out.splitlines() if line.strip().endswith("rows") and "s  " in line]
    assert stages[:3] == ["read", "validated", "state"] and stages[-1] == "done"


def test_the_same_file_twice_reports_already_imported(tmp_path: Path) -> None:
    path = snapshots.write(tmp_path / "s.csv", [loan("L1", 1)])
    run(str(path))
    out, _ = run(str(path))
    assert "already imported" in out
    assert SnapshotImport.objects.count() == 1


def test_a_gbk_file_imports_when_named_and_is_refused_as_utf8(tmp_path: Path) -> None:
    path = snapshots.write(tmp_path / "gbk.csv", [loan("L1", 1, name="欧阳娜娜")], encoding="gbk")
    with pytest.raises(CommandError, match="refused"):
        run(str(path), "--encoding", "utf-8")
    run(str(path), "--encoding", "gbk")
    assert Case.objects.get().borrower.name == "欧阳娜娜"


def test_a_bad_file_fails_with_the_report_and_writes_the_errors_file(tmp_path: Path) -> None:
    rows = [loan("L1", 1, overdue_interest="-1.00"), loan("L1", 2), loan("L3", 3, phone="12345")]
    path = snapshots.write(tmp_path / "bad.csv", rows)
    report = tmp_path / "report.csv"
    err = StringIO()
    with pytest.raises(CommandError, match="3 problem"):
        call_command("import_snapshot", str(path), "--errors-out", str(report), stdout=StringIO(), stderr=err)
    assert "line 2, overdue_interest ('-1.00'): must not be negative" in err.getvalue()
    assert "line 4, phone ('*2345')" in err.getvalue()
    with report.open(encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle))
    assert [(line["line"], line["column"]) for line in lines] == [
        ("2", "overdue_interest"),
        ("3", "loan_id"),
        ("4", "phone"),
    ]
    assert Loan.objects.count() == 0 and SnapshotImport.objects.count() == 0


def test_a_malformed_date_option_is_refused(tmp_path: Path) -> None:
    path = snapshots.write(tmp_path / "s.csv", [loan("L1", 1)])
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        run(str(path), "--date", "27/11/2026")


def test_the_task_returns_the_counts(tmp_path: Path, immediate_tasks: None, cast) -> None:
    path = snapshots.write(tmp_path / "s.csv", [loan("L1", 1), loan("L2", 1)])
    result = snapshot_import_task.enqueue(str(path), cast.manager.pk, DAY.isoformat(), None)
    summary = result.return_value
    assert summary["ok"] is True and summary["already_imported"] is False
    assert (summary["rows"], summary["loans_created"], summary["cases_opened"]) == (2, 2, 1)
    assert SnapshotImport.objects.get(pk=summary["import_id"]).imported_by == cast.manager


def test_the_task_returns_the_first_200_errors_and_the_total_of_a_bad_file(
    tmp_path: Path, immediate_tasks: None
) -> None:
    rows = [loan(f"L{number}", number, phone="999") for number in range(1, 251)]
    path = snapshots.write(tmp_path / "bad.csv", rows)
    result = snapshot_import_task.enqueue(str(path), None, None, None)
    report = result.return_value
    assert report["ok"] is False and report["total_errors"] == 250
    assert len(report["errors"]) == 200
    assert report["errors"][0] == {
        "line": 2,
        "column": "phone",
        "value": "***",
        "reason": report["errors"][0]["reason"],
    }
    assert Loan.objects.count() == 0


def test_the_task_answers_an_older_snapshot_with_the_report(tmp_path: Path, immediate_tasks: None) -> None:
    snapshot_import_task.enqueue(str(snapshots.write(tmp_path / "a.csv", [loan("L1", 1)])), None, None, None)
    older = snapshots.write(tmp_path / "b.csv", [loan("L1", 1, on=DAY - dt.timedelta(days=3))])
    report = snapshot_import_task.enqueue(str(older), None, None, None).return_value
    assert report["ok"] is False and report["errors"][0]["column"] == "snapshot_date"
