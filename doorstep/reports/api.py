"""The headline figures of a month as JSON, for the bank's own reporting tools: the same selector and
the same scope as the dashboard page."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Schema

from doorstep.reports import metrics, selectors

router = Router(tags=["reports"])


class RatioOut(Schema):
    numerator: str
    denominator: str
    value: float | None


class KpisOut(Schema):
    month: dt.date
    as_of: dt.date | None
    scope: str
    cases: int
    collected: str
    rates: dict[str, RatioOut]
    roll_rates: list[dict[str, object]]


@router.get("/reports/kpis", response=KpisOut, summary="A month's headline rates and roll-rate matrix")
def kpis(request: HttpRequest, month: str = "") -> KpisOut:
    """`month` as YYYY-MM (default: the latest month with facts). Figures cover the caller's scope."""
    user = request.auth  # type: ignore[attr-defined]
    months = selectors.available_months()
    try:
        chosen = dt.datetime.strptime(month, "%Y-%m").date() if month else (months[0] if months else None)
    except ValueError:
        chosen = None
    chosen = chosen or metrics.month_start(dt.date.today())
    data = selectors.dashboard(user=user, filters=selectors.Filters(month=chosen), with_map=False)
    return KpisOut(
        month=chosen,
        as_of=data.as_of,
        scope=data.scope.kind,
        cases=data.totals.get("cases", 0),
        collected=str(metrics.fen_to_yuan(data.totals.get("collected_fen", 0))),
        rates={
            key: RatioOut(numerator=str(ratio.numerator), denominator=str(ratio.denominator), value=ratio.value)
            for key, ratio in data.kpis.items()
            if key != "entered_overdue_fen"
        },
        roll_rates=[
            {"from": row["bucket_start"], "to": row["bucket_end"], "cases": row["cases"], "rate": row["rate"]}
            for row in (data.matrix.to_dicts() if data.matrix.height else [])
        ],
    )
