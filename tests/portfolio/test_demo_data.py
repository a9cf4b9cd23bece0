"""The demo portfolio: a snapshot file the import accepts, shaped like a real consumer-loan book."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doorstep.core.identity import cn_national_id_problem
from doorstep.core.money import parse_amount
from doorstep.portfolio.demo_data import (
    AMOUNT_COLUMNS,
    CHENGDU_BRANCHES,
    CHENGDU_DISTRICTS,
    SNAPSHOT_COLUMNS,
    fen_text,
    generate_snapshot,
    perturb_snapshot,
    text_fen,
    write_snapshot,
)

SNAPSHOT_DATE = dt.date(2026, 11, 27)
MOBILE = re.compile(r"^1[35789]\d{9}$|^166\d{8}$")


@pytest.fixture(scope="module")
def book() -> pl.DataFrame:
    return generate_snapshot(accounts=5_000, seed=20261127, snapshot_date=SNAPSHOT_DATE)


def assert_valid_snapshot(frame: pl.DataFrame, snapshot_date: dt.date) -> None:
    """The rules of docs/formats.md, checked row by row with the project's own parsers."""
    assert frame.columns == list(SNAPSHOT_COLUMNS)
    assert frame.schema == dict.fromkeys(SNAPSHOT_COLUMNS, pl.String)
    assert frame["loan_id"].n_unique() == frame.height
    for row in frame.iter_rows(named=True):
        assert row["snapshot_date"] == snapshot_date.isoformat()
        assert cn_national_id_problem(row["national_id"]) is None, row["national_id"]
        assert MOBILE.match(row["phone"]), row["phone"]
        principal, outstanding, overdue, interest, penalty = (parse_amount(row[c]) for c in AMOUNT_COLUMNS)
        assert principal > 0
        assert Decimal(0) <= outstanding <= principal
        assert Decimal(0) <= overdue <= outstanding
        assert interest >= 0 and penalty >= 0
        due = dt.date.fromisoformat(row["first_unpaid_due_date"])
        assert due < snapshot_date
        assert int(row["days_past_due"]) == (snapshot_date - due).days
        assert (row["latitude"] is None) == (row["longitude"] is None)
        for required in ("customer_id", "name", "address", "branch_code", "product_code"):
            assert row[required]


def test_every_generated_row_passes_the_import_rules(book: pl.DataFrame) -> None:
    assert book.height == 5_000
    assert_valid_snapshot(book, SNAPSHOT_DATE)


def test_the_same_seed_gives_the_same_book_and_another_seed_a_different_one(book: pl.DataFrame) -> None:
    again = generate_snapshot(accounts=5_000, seed=20261127, snapshot_date=SNAPSHOT_DATE)
    other = generate_snapshot(accounts=5_000, seed=20261128, snapshot_date=SNAPSHOT_DATE)
    assert again.equals(book)
    assert not other.equals(book)
    assert set(other["loan_id"]).isdisjoint(set(book["loan_id"]))


def test_a_later_date_keeps_the_loans_and_moves_their_due_dates() -> None:
    today = generate_snapshot(accounts=300, seed=5, snapshot_date=SNAPSHOT_DATE)
    tomorrow = generate_snapshot(accounts=300, seed=5, snapshot_date=SNAPSHOT_DATE + dt.timedelta(days=1))
    assert today["loan_id"].to_list() == tomorrow["loan_id"].to_list()
    assert today["national_id"].to_list() == tomorrow["national_id"].to_list()
    assert_valid_snapshot(tomorrow, SNAPSHOT_DATE + dt.timedelta(days=1))


@settings(max_examples=15, deadline=None)
@given(accounts=st.integers(min_value=1, max_value=60), seed=st.integers(min_value=0, max_value=2**32))
def test_any_size_and_seed_gives_exactly_that_many_valid_rows(accounts: int, seed: int) -> None:
    frame = generate_snapshot(accounts=accounts, seed=seed, snapshot_date=SNAPSHOT_DATE)
    assert frame.height == accounts
    assert_valid_snapshot(frame, SNAPSHOT_DATE)


def test_the_book_looks_like_a_consumer_loan_book(book: pl.DataFrame) -> None:
    days = book["days_past_due"].cast(pl.Int64)
    m1 = (days <= 30).mean()
    m2 = ((days > 30) & (days <= 60)).mean()
    m3 = ((days > 60) & (days <= 90)).mean()
    m4 = (days > 90).mean()
    assert m1 > 0.45 and m1 > m2 > m3  # most borrowers are only weeks late
    assert 0.1 < m4 < 0.25 and days.max() <= 720

    principal_yuan = text_fen(book["principal"]) / 100
    assert ((principal_yuan >= 10_000) & (principal_yuan <= 200_000)).mean() > 0.8

    loans_per_borrower = book.group_by("customer_id").len(name="loans")["loans"]
    share_with_several = (loans_per_borrower > 1).mean()
    assert 0.08 < share_with_several < 0.18
    assert loans_per_borrower.max() == 3

    three_character_names = (book["name"].str.len_chars() == 3).mean()
    assert 0.6 < three_character_names < 0.9

    not_geocoded = book["latitude"].null_count() / book.height
    assert 0.01 < not_geocoded < 0.06
    assert set(book["branch_code"]) == {branch.code for branch in CHENGDU_BRANCHES}
    assert set(book["product_code"]) == {"XFD", "XYK_FQ", "JYD"}


def test_borrowers_live_in_chengdu_and_their_ids_mostly_say_so(book: pl.DataFrame) -> None:
    geocoded = book.drop_nulls("latitude")
    latitude = geocoded["latitude"].cast(pl.Float64)
    longitude = geocoded["longitude"].cast(pl.Float64)
    assert latitude.min() > 30.3 and latitude.max() < 31.2
    assert longitude.min() > 103.5 and longitude.max() < 104.6
    assert book["address"].str.starts_with("四川省成都市").all()
    district_codes = {district.area_code for district in CHENGDU_DISTRICTS}
    born_in_chengdu = book["national_id"].str.slice(0, 6).is_in(district_codes).mean()
    assert born_in_chengdu > 0.75


def test_one_borrower_has_the_same_details_on_each_of_their_loans(book: pl.DataFrame) -> None:
    details = book.select("customer_id", "name", "national_id", "phone", "address", "branch_code").unique()
    assert details["customer_id"].n_unique() == details.height
    assert details["national_id"].n_unique() == details.height


def test_overdue_figures_grow_with_days_past_due(book: pl.DataFrame) -> None:
    days = book["days_past_due"].cast(pl.Int64).to_numpy()
    penalty = text_fen(book["penalty_interest"])
    overdue = text_fen(book["overdue_principal"])
    assert penalty[days > 90].mean() > penalty[days <= 30].mean()
    assert overdue[days > 90].mean() > overdue[days <= 30].mean()


def test_perturbing_changes_the_requested_share_and_keeps_every_row_valid(book: pl.DataFrame) -> None:
    changed = perturb_snapshot(book, fraction=0.1, seed=99)
    assert_valid_snapshot(changed, SNAPSHOT_DATE)
    differs = [changed[column] != book[column] for column in AMOUNT_COLUMNS]
    rows_changed = differs[0]
    for column_differs in differs[1:]:
        rows_changed = rows_changed | column_differs
    assert rows_changed.sum() == 500
    unchanged_columns = [c for c in SNAPSHOT_COLUMNS if c not in AMOUNT_COLUMNS]
    assert changed.select(unchanged_columns).equals(book.select(unchanged_columns))
    assert perturb_snapshot(book, fraction=0.1, seed=99).equals(changed)
    assert perturb_snapshot(book, fraction=0.0, seed=99).equals(book)


def test_perturbing_refuses_a_share_outside_zero_to_one(book: pl.DataFrame) -> None:
    with pytest.raises(ValueError, match="fraction"):
        perturb_snapshot(book, fraction=1.5, seed=1)


@pytest.mark.parametrize(
    ("fen", "text"), [(0, "0.00"), (5, "0.05"), (100, "1.00"), (123456, "1234.56"), (10**12 + 7, "10000000000.07")]
)
def test_amounts_are_written_exactly_to_the_fen(fen: int, text: str) -> None:
    assert fen_text(pl.Series([fen])).to_list() == [text]
    assert text_fen(pl.Series([text])).tolist() == [fen]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_each_encoding_reads_back_the_same(book: pl.DataFrame, tmp_path: Path, encoding: str) -> None:
    small = book.head(300)
    path = write_snapshot(small, tmp_path / "snapshot.csv", encoding=encoding)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    text = raw.decode("utf-8-sig" if encoding.startswith("utf") else encoding)
    back = pl.read_csv(text.encode(), infer_schema=False)
    assert back.equals(small)


def test_parquet_reads_back_the_same(book: pl.DataFrame, tmp_path: Path) -> None:
    path = write_snapshot(book, tmp_path / "snapshot.parquet", file_format="parquet")
    assert pl.read_parquet(path).equals(book)


def test_an_unknown_format_or_encoding_is_refused_and_writes_nothing(book: pl.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="encoding"):
        write_snapshot(book, tmp_path / "a.csv", encoding="latin-1")
    with pytest.raises(ValueError, match="format"):
        write_snapshot(book, tmp_path / "a.xlsx", file_format="xlsx")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("file_format", "encoding"), [("csv", "gbk"), ("csv", "utf-8-sig"), ("parquet", "utf-8")])
def test_the_import_reads_and_accepts_the_written_file(
    book: pl.DataFrame, tmp_path: Path, file_format: str, encoding: str
) -> None:
    from doorstep.portfolio import intake

    path = write_snapshot(book, tmp_path / f"snapshot.{file_format}", file_format=file_format, encoding=encoding)
    snapshot = intake.load_snapshot(path, snapshot_date=SNAPSHOT_DATE)
    assert snapshot.loans.height == book.height
    assert snapshot.snapshot_date == SNAPSHOT_DATE


def test_every_name_street_and_compound_can_be_written_in_gbk() -> None:
    from doorstep.portfolio import demo_data

    texts = [demo_data.SURNAMES, demo_data.GIVEN_NAME_CHARACTERS, *demo_data.COMPOUNDS]
    for district in CHENGDU_DISTRICTS:
        texts += [district.name, *district.streets, *(branch.name for branch in district.branches)]
    for text in texts:
        text.encode("gbk")


def test_the_demo_data_command_writes_the_file_and_says_where(tmp_path: Path) -> None:
    import io

    from django.core.management import call_command

    out = io.StringIO()
    target = tmp_path / "bank" / "snapshot.csv"
    call_command("demo_data", accounts=40, seed=9, date=SNAPSHOT_DATE, out=target, encoding="gb18030", stdout=out)
    assert str(target) in out.getvalue()
    written = pl.read_csv(target.read_bytes().decode("gb18030").encode(), infer_schema=False)
    assert written.equals(generate_snapshot(accounts=40, seed=9, snapshot_date=SNAPSHOT_DATE))


def test_the_demo_data_command_refuses_an_encoding_for_parquet(tmp_path: Path) -> None:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="CSV only"):
        call_command("demo_data", accounts=5, out=tmp_path / "a.parquet", file_format="parquet", encoding="gbk")
    assert list(tmp_path.iterdir()) == []
