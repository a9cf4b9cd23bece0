"""Small snapshot files for the intake tests, written row by row so each test shows its data."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from doorstep.portfolio.demo_data import SNAPSHOT_COLUMNS
from tests.factories import valid_national_id

COLUMNS = list(SNAPSHOT_COLUMNS)
DAY = dt.date(2026, 11, 27)


def loan(
    loan_id: str,
    customer: int,
    *,
    days: int = 45,
    on: dt.date = DAY,
    name: str = "张伟",
    overdue_principal: str = "3000.00",
    overdue_interest: str = "150.00",
    penalty_interest: str = "20.50",
    principal: str = "30000.00",
    outstanding_principal: str = "20000.00",
    branch_code: str = "CD001",
    **overrides: str,
) -> dict[str, str]:
    """One row of the snapshot: customer number n has a valid resident ID and phone derived from n."""
    row = {
        "snapshot_date": on.isoformat(),
        "loan_id": loan_id,
        "customer_id": f"C{customer:06d}",
        "name": name,
        "national_id": valid_national_id(customer),
        "phone": f"138{customer:08d}",
        "address": "四川省成都市锦江区红星路三段1号",
        "latitude": "30.657000",
        "longitude": "104.081000",
        "branch_code": branch_code,
        "product_code": "CONSUMER",
        "currency": "CNY",
        "principal": principal,
        "outstanding_principal": outstanding_principal,
        "overdue_principal": overdue_principal,
        "overdue_interest": overdue_interest,
        "penalty_interest": penalty_interest,
        "first_unpaid_due_date": (on - dt.timedelta(days=days)).isoformat(),
        "days_past_due": str(days),
    }
    row.update(overrides)
    return row


def csv_text(rows: list[dict[str, str]], columns: list[str] | None = None) -> str:
    columns = columns or COLUMNS
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    return buffer.getvalue()


def write(
    path: Path, rows: list[dict[str, str]], *, encoding: str = "utf-8", columns: list[str] | None = None
) -> Path:
    path.write_bytes(csv_text(rows, columns).encode(encoding))
    return path
