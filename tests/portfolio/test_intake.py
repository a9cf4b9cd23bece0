"""The daily snapshot import, told as the bank's files arrive: good ones change the portfolio, bad ones nothing."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from django.db import transaction
from django.utils import translation
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from doorstep.core.crypto import decrypt_text
from doorstep.core.models import AuditEvent
from doorstep.portfolio.models import (
    Borrower,
    BucketMove,
    Case,
    CaseStatus,
    CaseStatusChange,
    Loan,
    SnapshotImport,
)
from doorstep.portfolio.services import SnapshotRejected, snapshot_import
from tests.portfolio import snapshots
from tests.portfolio.snapshots import DAY, loan

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _in_english() -> object:
    with translation.override("en"):
        yield


NEXT_DAY = DAY + dt.timedelta(days=1)
TABLES = (Borrower, Loan, Case, BucketMove, CaseStatusChange, SnapshotImport, AuditEvent)


def table_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in TABLES}


def import_rows(tmp_path: Path, rows: list[dict[str, str]], name: str = "snapshot.csv", **options: object):  # type: ignore[no-untyped-def]
    return snapshot_import(actor=None, path=snapshots.write(tmp_path / name, rows), **options)  # type: ignore[arg-type]


@pytest.fixture
def yesterday(tmp_path: Path) -> SnapshotImport:
    """The portfolio after yesterday's file: customer 1 has two loans, customer 2 one."""
    return import_rows(
        tmp_path,
        [loan("L1", 1, days=45), loan("L2", 1, days=70, overdue_principal="500.00"), loan("L3", 2, days=10)],
        name="yesterday.csv",
    )


def refused(tmp_path: Path, content: bytes, **options: object) -> SnapshotRejected:
    """Import `content`, expect a refusal, and check that not one table changed."""
    before = table_counts()
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(SnapshotRejected) as caught:
        snapshot_import(actor=None, path=path, **options)  # type: ignore[arg-type]
    assert table_counts() == before
    return caught.value


# --------------------------------------------------------------------------- files that are refused


def test_bytes_that_are_neither_utf8_nor_gb18030_are_refused_naming_the_line(yesterday, tmp_path) -> None:
    content = snapshots.csv_text([loan("L1", 1, on=NEXT_DAY), loan("L9", 9, on=NEXT_DAY)]).encode()
    lines = content.split(b"\n")
    lines[2] = lines[2].replace("张伟".encode(), b"\xff\xfe\xff")
    rejected = refused(tmp_path, b"\n".join(lines))
    assert rejected.errors[0].line == 3
    assert "neither UTF-8 nor GBK" in rejected.errors[0].reason


def test_a_gbk_file_read_as_utf8_is_refused_naming_the_line(yesterday, tmp_path) -> None:
    content = snapshots.csv_text([loan("L1", 1, on=NEXT_DAY)]).encode("gbk")
    rejected = refused(tmp_path, content, encoding="utf-8")
    assert rejected.errors[0].line == 2
    assert "not valid UTF-8" in rejected.errors[0].reason


def test_a_missing_required_column_is_named(yesterday, tmp_path) -> None:
    columns = [column for column in snapshots.COLUMNS if column != "phone"]
    rejected = refused(tmp_path, snapshots.csv_text([loan("L1", 1, on=NEXT_DAY)], columns).encode())
    assert [(error.line, error.column) for error in rejected.errors] == [(1, "phone")]
    assert "phone" in rejected.errors[0].reason


def test_a_bad_id_check_character_is_refused_with_the_id_masked(yesterday, tmp_path) -> None:
    good = loan("L1", 1, on=NEXT_DAY)["national_id"]
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    rows = [loan("L1", 1, on=NEXT_DAY), loan("L7", 7, on=NEXT_DAY, national_id=wrong)]
    rejected = refused(tmp_path, snapshots.csv_text(rows).encode())
    [error] = rejected.errors
    assert (error.line, error.column) == (3, "national_id")
    assert error.value == wrong[:6] + "********" + wrong[-4:]
    assert "GB 11643" in error.reason


def test_a_negative_amount_is_refused(yesterday, tmp_path) -> None:
    rows = [loan("L1", 1, on=NEXT_DAY, overdue_interest="-5.00")]
    rejected = refused(tmp_path, snapshots.csv_text(rows).encode())
    assert [(e.line, e.column, e.value) for e in rejected.errors] == [(2, "overdue_interest", "-5.00")]
    assert "negative" in rejected.errors[0].reason


def test_a_duplicate_loan_number_is_refused_pointing_at_the_first(yesterday, tmp_path) -> None:
    rows = [loan("L1", 1, on=NEXT_DAY), loan("L2", 1, on=NEXT_DAY), loan("L1", 3, on=NEXT_DAY)]
    rejected = refused(tmp_path, snapshots.csv_text(rows).encode())
    assert [(e.line, e.column) for e in rejected.errors] == [(4, "loan_id")]
    assert "line 2" in rejected.errors[0].reason


def test_a_truncated_last_line_is_refused_naming_it(yesterday, tmp_path) -> None:
    text = snapshots.csv_text([loan("L1", 1, on=NEXT_DAY), loan("L2", 1, on=NEXT_DAY)])
    cut = text[: text.rindex(",2026-")]
    rejected = refused(tmp_path, cut.encode())
    assert [error.line for error in rejected.errors] == [3]
    assert "cut short" in rejected.errors[0].reason


def test_an_unterminated_quote_on_the_last_line_is_refused_naming_it(yesterday, tmp_path) -> None:
    text = snapshots.csv_text([loan("L1", 1, on=NEXT_DAY), loan("L2", 1, on=NEXT_DAY, address="红星路, 3号")])
    cut = text[: text.index("3号")]
    rejected = refused(tmp_path, cut.encode())
    assert rejected.errors[-1].line == 3
    assert "never closed" in rejected.errors[-1].reason


def test_inconsistent_days_past_due_is_refused(yesterday, tmp_path) -> None:
    rows = [loan("L1", 1, on=NEXT_DAY, days=46, days_past_due="40")]
    rejected = refused(tmp_path, snapshots.csv_text(rows).encode())
    assert [(e.line, e.column, e.value) for e in rejected.errors] == [(2, "days_past_due", "40")]
    assert "46 days" in rejected.errors[0].reason


def test_a_snapshot_older_than_the_latest_is_refused(yesterday, tmp_path) -> None:
    rows = [loan("L1", 1, on=DAY - dt.timedelta(days=1))]
    rejected = refused(tmp_path, snapshots.csv_text(rows).encode())
    assert rejected.errors[0].column == "snapshot_date"
    assert DAY.isoformat() in rejected.errors[0].reason


def test_every_problem_of_every_row_is_reported_and_counted(tmp_path) -> None:
    rows = [
        loan("L1", 1, phone="2381234567", outstanding_principal="40000.00"),
        loan("L2", 2, first_unpaid_due_date="2026-13-01", latitude="", currency="cny"),
        loan("L3", 3, on=NEXT_DAY, principal="12.345", overdue_principal=""),
    ]
    rejected = refused(tmp_path, snapshots.csv_text(rows).encode())
    found = {(error.line, error.column) for error in rejected.errors}
    assert found == {
        (2, "phone"),
        (2, "outstanding_principal"),
        (3, "first_unpaid_due_date"),
        (3, "latitude"),
        (3, "currency"),
        (4, "snapshot_date"),
        (4, "principal"),
        (4, "overdue_principal"),
    }
    assert rejected.total == len(found)
    phone = next(error for error in rejected.errors if error.column == "phone")
    assert phone.value == "******4567"


def test_a_date_other_than_the_one_asked_for_is_refused(tmp_path) -> None:
    rejected = refused(tmp_path, snapshots.csv_text([loan("L1", 1)]).encode(), snapshot_date=NEXT_DAY)
    assert [(e.line, e.column) for e in rejected.errors] == [(2, "snapshot_date")]


# --------------------------------------------------------------------------- files that are imported


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig"])
def test_gbk_and_bom_files_import_with_their_chinese_intact(tmp_path, encoding) -> None:
    path = snapshots.write(tmp_path / "bank.csv", [loan("L1", 1, name="欧阳娜娜")], encoding=encoding)
    result = snapshot_import(actor=None, path=path)
    assert result.loans_created == 1
    borrower = Borrower.objects.get()
    assert borrower.name == "欧阳娜娜"
    assert borrower.address == "四川省成都市锦江区红星路三段1号"


def test_a_parquet_file_imports(tmp_path) -> None:
    rows = [loan("L1", 1), loan("L2", 2, latitude="", longitude="")]
    path = tmp_path / "snapshot.parquet"
    pl.DataFrame(rows).write_parquet(path)
    result = snapshot_import(actor=None, path=path)
    assert (result.rows, result.loans_created, result.cases_opened) == (2, 2, 2)
    assert Borrower.objects.get(customer_id="C000002").latitude is None


def test_the_first_import_creates_borrowers_loans_cases_and_an_audit_entry(yesterday) -> None:
    assert (yesterday.borrowers_created, yesterday.loans_created, yesterday.cases_opened) == (2, 3, 2)
    borrower = Borrower.objects.get(customer_id="C000001")
    national_id = loan("L1", 1)["national_id"]
    assert decrypt_text(borrower.national_id_encrypted) == national_id
    assert borrower.national_id_masked == national_id[:6] + "********" + national_id[-4:]
    assert borrower.phone_masked == "138****0001"
    assert borrower.latitude == Decimal("30.657000")
    l2 = Loan.objects.get(loan_id="L2")
    assert (l2.days_past_due, l2.bucket, l2.classification) == (70, "M3", "special_mention")
    assert l2.first_unpaid_due_date == DAY - dt.timedelta(days=70)
    event = AuditEvent.objects.get(action="portfolio.snapshot.imported")
    assert event.object_id == str(yesterday.pk)
    assert event.data["loans_created"] == 3
    assert event.data["file_sha256"] == yesterday.file_sha256
    assert event.actor_label == "system:import"
    opened = CaseStatusChange.objects.filter(to_status=CaseStatus.OPEN)
    assert opened.count() == 2 and {change.actor_label for change in opened} == {"system:import"}


def test_a_borrower_with_two_loans_gets_one_case_with_their_figures_summed(yesterday) -> None:
    case = Case.objects.get(borrower__customer_id="C000001")
    assert case.loans.count() == 2
    assert case.days_past_due == 70 and case.bucket == "M3"
    assert case.overdue_principal == Decimal("3500.00")
    assert case.overdue_interest == Decimal("300.00")
    assert case.penalty_interest == Decimal("41.00")
    assert case.overdue_total == case.entry_overdue_total == Decimal("3841.00")
    assert case.outstanding_principal == Decimal("40000.00")


def test_the_case_branch_is_the_branch_of_the_largest_overdue_loan(tmp_path) -> None:
    import_rows(
        tmp_path,
        [loan("L1", 1, branch_code="CD001", overdue_principal="100.00"), loan("L2", 1, branch_code="CD009")],
    )
    assert Case.objects.get().branch_code == "CD009"


def test_importing_the_same_file_again_changes_nothing(yesterday, tmp_path) -> None:
    before = table_counts()
    again = snapshot_import(actor=None, path=tmp_path / "yesterday.csv")
    assert again.already_imported and again.pk == yesterday.pk
    assert table_counts() == before


def test_a_file_with_the_same_content_in_another_order_changes_nothing(yesterday, tmp_path) -> None:
    before = table_counts()
    updated_at = sorted(Loan.objects.values_list("updated_at", flat=True))
    rows = [
        loan("L3", 2, days=10),
        loan("L2", 1, days=70, overdue_principal="500.00"),
        loan("L1", 1, days=45),
    ]
    again = import_rows(tmp_path, rows, name="reordered.csv", encoding="utf-8")
    assert again.already_imported
    assert table_counts() == before
    assert sorted(Loan.objects.values_list("updated_at", flat=True)) == updated_at


def test_a_same_day_correction_updates_only_what_changed(yesterday, tmp_path) -> None:
    rows = [
        loan("L1", 1, days=45),
        loan("L2", 1, days=70, overdue_principal="400.00"),
        loan("L3", 2, days=10),
    ]
    corrected = import_rows(tmp_path, rows, name="corrected.csv")
    assert (corrected.loans_updated, corrected.cases_updated, corrected.loans_created) == (1, 1, 0)
    assert Loan.objects.get(loan_id="L2").overdue_principal == Decimal("400.00")
    assert Case.objects.get(borrower__customer_id="C000001").overdue_principal == Decimal("3400.00")
    assert SnapshotImport.objects.count() == 2


def test_a_case_is_cured_when_all_its_loans_leave_the_file(yesterday, tmp_path) -> None:
    today = import_rows(tmp_path, [loan("L1", 1, on=NEXT_DAY, days=46)], name="today.csv")
    assert (today.cases_cured, today.loans_cleared, today.cases_updated) == (1, 2, 1)
    cured = Case.objects.get(borrower__customer_id="C000002")
    assert cured.status == CaseStatus.CURED and cured.closed_on == NEXT_DAY
    change = CaseStatusChange.objects.get(case=cured, to_status=CaseStatus.CURED)
    assert (change.from_status, change.business_date, change.actor_label) == (
        "open",
        NEXT_DAY,
        "system:import",
    )
    l3 = Loan.objects.get(loan_id="L3")
    assert (l3.is_overdue, l3.days_past_due, l3.bucket, l3.snapshot_date) == (False, 0, "", NEXT_DAY)
    still = Case.objects.get(borrower__customer_id="C000001")
    assert still.status == CaseStatus.OPEN
    assert (still.days_past_due, still.bucket, still.overdue_total) == (46, "M2", Decimal("3170.50"))


def test_bucket_moves_record_entry_move_and_exit(tmp_path) -> None:
    import_rows(tmp_path, [loan("L1", 1, days=29)], name="d1.csv")
    import_rows(tmp_path, [loan("L1", 1, days=30, on=DAY + dt.timedelta(days=1))], name="d2.csv")
    import_rows(tmp_path, [loan("L1", 1, days=31, on=DAY + dt.timedelta(days=2))], name="d3.csv")
    import_rows(tmp_path, [loan("L9", 9, on=DAY + dt.timedelta(days=3))], name="d4.csv")
    moves = list(
        BucketMove.objects.filter(loan__loan_id="L1").values_list(
            "snapshot_date", "from_bucket", "to_bucket", "days_past_due", "overdue_amount"
        )
    )
    assert moves == [
        (DAY, "", "M1", 29, Decimal("3170.50")),
        (DAY + dt.timedelta(days=2), "M1", "M2", 31, Decimal("3170.50")),
        (DAY + dt.timedelta(days=3), "M2", "", 0, Decimal("3170.50")),
    ]


def test_a_same_day_correction_corrects_the_days_bucket_move(tmp_path) -> None:
    import_rows(tmp_path, [loan("L1", 1, days=29)], name="d1.csv")
    import_rows(tmp_path, [loan("L1", 1, days=31, on=NEXT_DAY)], name="d2.csv")
    import_rows(tmp_path, [loan("L1", 1, days=30, on=NEXT_DAY)], name="d2-corrected.csv")
    assert list(BucketMove.objects.values_list("from_bucket", "to_bucket")) == [("", "M1")]
    import_rows(tmp_path, [loan("L1", 1, days=95, on=NEXT_DAY)], name="d2-again.csv")
    assert list(BucketMove.objects.values_list("from_bucket", "to_bucket", "days_past_due")) == [
        ("", "M1", 29),
        ("M1", "M4+", 95),
    ]


def test_a_cured_borrower_overdue_again_gets_a_new_case(yesterday, tmp_path) -> None:
    import_rows(tmp_path, [loan("L1", 1, on=NEXT_DAY, days=46)], name="today.csv")
    first_case = Case.objects.get(borrower__customer_id="C000002")
    later = DAY + dt.timedelta(days=20)
    result = import_rows(
        tmp_path, [loan("L1", 1, on=later, days=65), loan("L3", 2, on=later, days=5)], name="later.csv"
    )
    assert result.cases_opened == 1
    cases = Case.objects.filter(borrower__customer_id="C000002").order_by("id")
    assert [case.status for case in cases] == [CaseStatus.CURED, CaseStatus.OPEN]
    assert cases[1].pk != first_case.pk and cases[1].opened_on == later
    assert Loan.objects.get(loan_id="L3").case == cases[1]


def test_a_changed_phone_is_encrypted_again_and_other_borrowers_are_left_alone(yesterday, tmp_path) -> None:
    untouched = Borrower.objects.get(customer_id="C000002").phone_encrypted
    rows = [
        loan("L1", 1, phone="13900000001"),
        loan("L2", 1, days=70, overdue_principal="500.00", phone="13900000001"),
        loan("L3", 2, days=10),
    ]
    result = import_rows(tmp_path, rows, name="new-phone.csv")
    assert (result.borrowers_updated, result.loans_updated) == (1, 0)
    borrower = Borrower.objects.get(customer_id="C000001")
    assert decrypt_text(borrower.phone_encrypted) == "13900000001"
    assert borrower.phone_masked == "139****0001"
    assert Borrower.objects.get(customer_id="C000002").phone_encrypted == untouched


def test_extra_columns_are_kept_as_warnings(tmp_path) -> None:
    rows = [{**loan("L1", 1), "teller": "A7"}]
    result = (
        import_rows(tmp_path, rows, columns=[*snapshots.COLUMNS, "teller"])
        if False
        else snapshot_import(
            actor=None,
            path=snapshots.write(tmp_path / "extra.csv", rows, columns=[*snapshots.COLUMNS, "teller"]),
        )
    )
    assert len(result.warnings) == 1 and "teller" in result.warnings[0]


def test_the_importing_user_is_recorded(tmp_path, cast) -> None:
    result = snapshot_import(actor=cast.manager, path=snapshots.write(tmp_path / "s.csv", [loan("L1", 1)]))
    assert result.imported_by == cast.manager
    assert AuditEvent.objects.get(action="portfolio.snapshot.imported").actor == cast.manager
    assert CaseStatusChange.objects.filter(actor=cast.manager, to_status=CaseStatus.OPEN).exists()


# --------------------------------------------------------------------------- properties

BASE_ROWS = [
    loan("P1", 1, days=5),
    loan("P2", 1, days=40, branch_code="CD002", overdue_principal="9000.00"),
    loan("P3", 2, days=95),
    loan("P4", 3, days=200, overdue_interest="0.00"),
    loan("P5", 3, days=31),
    loan("P6", 4, days=1, penalty_interest="0.01"),
]


def portfolio_state() -> dict[str, list[tuple[object, ...]]]:
    """Everything the import decides, without ids or timestamps."""
    return {
        "loans": sorted(
            Loan.objects.values_list(
                "loan_id",
                "borrower__customer_id",
                "case__borrower__customer_id",
                "case__status",
                "overdue_principal",
                "days_past_due",
                "bucket",
                "classification",
                "is_overdue",
            )
        ),
        "cases": sorted(
            Case.objects.values_list(
                "borrower__customer_id",
                "status",
                "days_past_due",
                "bucket",
                "branch_code",
                "overdue_total",
                "entry_overdue_total",
            )
        ),
        "moves": sorted(
            BucketMove.objects.values_list(
                "loan__loan_id", "from_bucket", "to_bucket", "days_past_due", "overdue_amount"
            )
        ),
        "borrowers": sorted(
            Borrower.objects.values_list("customer_id", "name", "phone_masked", "national_id_hash")
        ),
    }


@hypothesis_settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    chosen=st.lists(st.sampled_from(range(len(BASE_ROWS))), min_size=1, unique=True),
    seed=st.integers(0, 10**6),
)
def test_any_subset_in_any_order_imports_to_one_state_and_a_second_import_writes_nothing(
    tmp_path: Path, chosen: list[int], seed: int
) -> None:
    rows = [BASE_ROWS[index] for index in chosen]
    shuffled = rows[:]
    random.Random(seed).shuffle(shuffled)
    states = []
    for order, name in ((rows, "a.csv"), (shuffled, "b.csv")):
        with transaction.atomic():
            first = import_rows(tmp_path, order, name=name)
            assert not first.already_imported
            state = portfolio_state()
            counts = table_counts()
            again = import_rows(tmp_path, list(reversed(order)), name="again-" + name)
            assert again.already_imported
            assert table_counts() == counts and portfolio_state() == state
            states.append(state)
            transaction.set_rollback(True)
    assert states[0] == states[1]
    assert Loan.objects.count() == 0


def test_line_numbers_count_line_breaks_inside_quoted_fields(tmp_path) -> None:
    rows = [
        loan("L1", 1, on=NEXT_DAY, address="红星路三段1号\n2单元, 301室"),
        loan("L2", 2, on=NEXT_DAY, phone="12"),
    ]
    rejected = refused(tmp_path, snapshots.csv_text(rows).encode())
    assert [(error.line, error.column) for error in rejected.errors] == [(4, "phone")]


def test_windows_line_endings_and_a_multiline_address_import(tmp_path) -> None:
    rows = [loan("L1", 1, address="红星路三段1号\r\n2单元"), loan("L2", 2)]
    path = tmp_path / "windows.csv"
    path.write_bytes(snapshots.csv_text(rows).replace("\n", "\r\n").encode("gb18030"))
    result = snapshot_import(actor=None, path=path)
    assert result.loans_created == 2
    assert Borrower.objects.get(customer_id="C000001").address == "红星路三段1号\r\r\n2单元"
    assert Borrower.objects.get(customer_id="C000002").address == "四川省成都市锦江区红星路三段1号"


def test_a_short_line_in_the_middle_is_refused_naming_it(tmp_path) -> None:
    text = snapshots.csv_text([loan("L1", 1), loan("L2", 2), loan("L3", 3)])
    lines = text.split("\n")
    lines[2] = lines[2].rsplit(",", 2)[0]
    rejected = refused(tmp_path, "\n".join(lines).encode())
    assert [error.line for error in rejected.errors] == [3]
    assert "fields but the header has 19" in rejected.errors[0].reason


def test_a_file_without_rows_is_refused_rather_than_curing_every_case(yesterday, tmp_path) -> None:
    rejected = refused(tmp_path, snapshots.csv_text([]).encode(), snapshot_date=NEXT_DAY)
    assert "no rows" in rejected.errors[0].reason
    assert Case.objects.filter(status=CaseStatus.OPEN).count() == 2
