"""Bulk writes and reads keep every value exact: text with commas, quotes and line breaks, nulls, money, dates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
from django.utils import timezone

from doorstep.core import bulk
from doorstep.portfolio.models import Borrower

pytestmark = pytest.mark.django_db
TABLE = Borrower._meta.db_table
NOW = dt.datetime(2026, 11, 27, 8, 30, 15, 123456, tzinfo=dt.UTC)


def borrowers(*rows: dict[str, object]) -> pl.DataFrame:
    base = {
        "customer_id": "C1",
        "name": "张伟",
        "national_id_encrypted": "token",
        "national_id_hash": "h1",
        "national_id_masked": "510104********0015",
        "phone_encrypted": "token",
        "phone_hash": "p1",
        "phone_masked": "138****0001",
        "address": "红星路三段1号",
        "latitude": "30.657000",
        "longitude": "104.081000",
        "time_zone": "",
        "employer": "",
        "is_vulnerable": False,
        "is_deceased": False,
        "has_dispute": False,
        "do_not_visit": False,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return pl.DataFrame(
        [{**base, **row} for row in rows], schema_overrides={"created_at": pl.Datetime("us", "UTC")}
    )


def test_inserted_rows_read_back_exactly_through_the_orm() -> None:
    awkward = '红星路 "三段", 1号\n2单元'
    frame = borrowers(
        {"customer_id": "C1", "address": awkward},
        {"customer_id": "C2", "latitude": None, "longitude": None, "employer": ""},
    )
    assert bulk.bulk_insert(table=TABLE, frame=frame) == 2
    first, second = Borrower.objects.order_by("customer_id")
    assert first.address == awkward
    assert first.latitude == Decimal("30.657000")
    assert first.created_at == NOW
    assert first.is_deceased is False
    assert second.latitude is None and second.employer == ""


def test_an_update_sets_only_the_given_columns_of_the_matching_rows() -> None:
    bulk.bulk_insert(table=TABLE, frame=borrowers({"customer_id": "C1"}, {"customer_id": "C2"}))
    c1 = Borrower.objects.get(customer_id="C1")
    later = timezone.now()
    changed = pl.DataFrame(
        {"id": [c1.pk], "name": ["李娜"], "latitude": [None], "is_deceased": [True], "updated_at": [later]},
        schema_overrides={"latitude": pl.String},
    )
    assert bulk.bulk_update(table=TABLE, key="id", frame=changed) == 1
    c1.refresh_from_db()
    assert (c1.name, c1.latitude, c1.is_deceased, c1.address) == ("李娜", None, True, "红星路三段1号")
    assert c1.updated_at == later
    assert Borrower.objects.get(customer_id="C2").name == "张伟"


def test_delete_removes_exactly_the_rows_named() -> None:
    bulk.bulk_insert(
        table=TABLE, frame=borrowers({"customer_id": "C1"}, {"customer_id": "C2"}, {"customer_id": "C3"})
    )
    doomed = pl.Series(
        list(Borrower.objects.filter(customer_id__in=["C1", "C3"]).values_list("pk", flat=True))
    )
    bulk.bulk_delete(table=TABLE, key="id", values=doomed)
    assert list(Borrower.objects.values_list("customer_id", flat=True)) == ["C2"]


def test_empty_frames_write_nothing() -> None:
    empty = borrowers({"customer_id": "C1"}).head(0)
    assert bulk.bulk_insert(table=TABLE, frame=empty) == 0
    assert bulk.bulk_update(table=TABLE, key="customer_id", frame=empty.select("customer_id", "name")) == 0
    assert Borrower.objects.count() == 0


def test_an_update_without_columns_to_set_is_refused() -> None:
    with pytest.raises(ValueError, match="key column"):
        bulk.bulk_update(table=TABLE, key="id", frame=pl.DataFrame({"id": [1]}))


def test_read_frame_gives_typed_columns_with_exact_money_and_nulls() -> None:
    bulk.bulk_insert(
        table=TABLE,
        frame=borrowers(
            {"customer_id": "C1", "name": ""}, {"customer_id": "C2", "latitude": None, "longitude": None}
        ),
    )
    frame = bulk.read_frame(
        f"SELECT customer_id, name, CAST(ROUND(latitude * 1000000) AS BIGINT), created_at FROM {TABLE} "
        "ORDER BY customer_id",
        {"customer_id": pl.String, "name": pl.String, "latitude": pl.Int64, "created_on": pl.Date},
    )
    assert frame.schema == pl.Schema(
        {"customer_id": pl.String, "name": pl.String, "latitude": pl.Int64, "created_on": pl.Date}
    )
    assert frame.rows() == [("C1", "", 30_657_000, NOW.date()), ("C2", "张伟", None, NOW.date())]


def test_read_frame_of_no_rows_is_an_empty_typed_frame() -> None:
    frame = bulk.read_frame(f"SELECT id FROM {TABLE}", {"id": pl.Int64})
    assert frame.height == 0 and frame.schema == pl.Schema({"id": pl.Int64})


def _foreign_keys(table: str) -> set[str]:
    """The table's foreign and unique keys and its indexes, by name."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype IN ('f', 'u')",
            [table],
        )
        keys = {name for (name,) in cursor.fetchall()}
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexname NOT LIKE '%%pkey'", [table]
        )
        return keys | {name for (name,) in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
def test_a_large_load_puts_indexes_and_keys_back_and_still_refuses_dangling_or_duplicate_rows() -> None:
    from django.db import IntegrityError, connection, transaction

    from doorstep.portfolio.models import Loan

    if connection.vendor != "postgresql":
        pytest.skip("foreign keys are lifted only on PostgreSQL")
    table = Loan._meta.db_table
    keys = _foreign_keys(table)
    assert keys, "the loan table has foreign keys"
    with transaction.atomic(), bulk.checks_deferred_for_bulk_load([table]):
        assert _foreign_keys(table) == set()
    assert _foreign_keys(table) == keys

    with pytest.raises(IntegrityError), transaction.atomic(), bulk.checks_deferred_for_bulk_load([table]):
        bulk.execute(
            f"INSERT INTO {table} (loan_id, borrower_id, branch_code, product_code, currency, principal, "
            "outstanding_principal, overdue_principal, overdue_interest, penalty_interest, days_past_due, "
            "bucket, classification, is_overdue, snapshot_date, updated_at) VALUES ('L-dangling', 999999, "
            "'CD0101', 'XFD', 'CNY', 1, 1, 0, 0, 0, 0, '', 'pass', false, '2026-11-27', now())"
        )
    assert _foreign_keys(table) == keys
    assert not Loan.objects.filter(loan_id="L-dangling").exists()

    borrowers_table = Borrower._meta.db_table
    with (
        pytest.raises(IntegrityError),
        transaction.atomic(),
        bulk.checks_deferred_for_bulk_load([borrowers_table]),
    ):
        bulk.bulk_insert(table=borrowers_table, frame=borrowers({}, {"name": "李娜"}))
    assert not Borrower.objects.exists()


def _indexes(table: str) -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return dict(cursor.fetchall())


@pytest.mark.django_db(transaction=True)
def test_a_large_update_builds_the_indexes_again_and_a_partial_unique_index_still_refuses_duplicates() -> None:
    from django.db import IntegrityError, connection, transaction

    from doorstep.portfolio.models import Case

    if connection.vendor != "postgresql":
        pytest.skip("indexes are rebuilt only on PostgreSQL")
    table = Case._meta.db_table
    before = _indexes(table)
    assert "one_active_case_per_borrower" in before and "case_list_idx" in before
    with transaction.atomic(), bulk.indexes_rebuilt_after(table):
        during = _indexes(table)
        assert set(during) == {name for name, definition in before.items() if "UNIQUE INDEX" in definition
                               and name != "one_active_case_per_borrower"}
    assert _indexes(table).keys() == before.keys()

    bulk.bulk_insert(table=TABLE, frame=borrowers({}))
    borrower_id = Borrower.objects.get().pk
    case = (
        "INSERT INTO portfolio_case (status, opened_on, snapshot_date, branch_code, days_past_due, bucket, "
        "outstanding_principal, overdue_principal, overdue_interest, penalty_interest, overdue_total, "
        "entry_overdue_total, next_action, created_at, updated_at, borrower_id) VALUES ('{status}', "
        "'2026-11-01', '2026-11-27', 'CD0101', 40, 'M2', 100, 10, 1, 0, 11, 11, '', now(), now(), "
        f"{borrower_id})"
    )
    bulk.execute(case.format(status="open"))
    bulk.execute(case.format(status="cured"))
    with pytest.raises(IntegrityError), transaction.atomic(), bulk.indexes_rebuilt_after(table):
        bulk.execute(f"UPDATE {table} SET status = 'open'")
    assert _indexes(table).keys() == before.keys()
    assert sorted(Case.objects.values_list("status", flat=True)) == ["cured", "open"]


@pytest.mark.django_db(transaction=True)
def test_only_the_indexes_that_read_the_changed_columns_come_off() -> None:
    from django.db import connection, transaction

    from doorstep.portfolio.models import Case

    if connection.vendor != "postgresql":
        pytest.skip("indexes are rebuilt only on PostgreSQL")
    table = Case._meta.db_table
    before = _indexes(table)
    with transaction.atomic(), bulk.indexes_rebuilt_after(table, columns=["overdue_total", "updated_at"]):
        gone = before.keys() - _indexes(table).keys()
    assert gone == {name for name in before if "overdue_total" in name}
    # A column read only by a partial index's condition counts too.
    with transaction.atomic(), bulk.indexes_rebuilt_after(table, columns=["status"]):
        gone = before.keys() - _indexes(table).keys()
    assert gone == {"case_list_idx", "one_active_case_per_borrower"}
    assert _indexes(table).keys() == before.keys()


def test_loan_and_case_tables_leave_room_for_updates_on_postgresql() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL storage setting")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class WHERE relname IN ('portfolio_loan', 'portfolio_case')"
        )
        options = dict(cursor.fetchall())
    assert options == {"portfolio_loan": ["fillfactor=50"], "portfolio_case": ["fillfactor=50"]}
