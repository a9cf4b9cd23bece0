"""The case attributes strategies decide on, as one Polars frame for the whole portfolio.

Other domains add attributes (a score, a score band, broken promises) by registering a provider:
a function that returns a frame of `case_id` and `value` for a business date. Numbers are returned in
the attribute's stored units (see `rules.ATTRIBUTES`: a score of 650.50 is 65050). Until a provider is
registered the attribute is unknown for every case, and a condition on it does not match.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
from django.conf import settings

from doorstep.collectors.models import Territory
from doorstep.core.bulk import read_frame
from doorstep.portfolio.models import ACTIVE_CASE_STATUSES
from doorstep.strategy.rules import ATTRIBUTES

AttributeProvider = Callable[[dt.date], pl.DataFrame]

_providers: dict[str, AttributeProvider] = {}

DTYPES = {"number": pl.Int64, "category": pl.String, "flag": pl.Boolean}


def register_attribute_provider(name: str, provider: AttributeProvider) -> None:
    """Let `provider` supply the optional attribute `name` (call it from an app's `ready()`)."""
    attribute = ATTRIBUTES.get(name)
    if attribute is None or not attribute.optional:
        raise ValueError(f"{name!r} is not an optional strategy attribute")
    _providers[name] = provider


def unregister_attribute_provider(name: str) -> None:
    _providers.pop(name, None)


def provided_attributes() -> set[str]:
    """The optional attributes that have a value source today."""
    return {"territory", "last_contact_outcome", *_providers}


def _active_statuses() -> str:
    return ", ".join(f"'{status.value}'" for status in ACTIVE_CASE_STATUSES)


def _end_of_day_utc(business_date: dt.date) -> str:
    zone = ZoneInfo(settings.TIME_ZONE)
    end = dt.datetime.combine(business_date + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return end.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def case_frame(business_date: dt.date) -> pl.DataFrame:
    """Every active case with the attributes of `rules.ATTRIBUTES` (unknown ones as nulls)."""
    statuses = _active_statuses()
    territories = list(Territory.objects.order_by("branch_code", "name", "pk"))
    # Addresses are read only when there are territories to place them in.
    coordinates = (
        "COALESCE(CAST(b.latitude AS TEXT), ''), COALESCE(CAST(b.longitude AS TEXT), '')"
        if territories
        else "'', ''"
    )
    cases = read_frame(
        "SELECT c.id, c.bucket, c.days_past_due, "  # noqa: S608 - only constants, dates and integers go into this SQL
        "CAST(ROUND(c.overdue_total * 100) AS BIGINT), CAST(ROUND(c.outstanding_principal * 100) AS BIGINT), "
        "c.branch_code, c.status, c.opened_on, "
        "CASE WHEN b.is_vulnerable THEN 1 ELSE 0 END, CASE WHEN b.is_deceased THEN 1 ELSE 0 END, "
        "CASE WHEN b.has_dispute THEN 1 ELSE 0 END, CASE WHEN b.do_not_visit THEN 1 ELSE 0 END, "
        f"{coordinates} "
        "FROM portfolio_case c JOIN portfolio_borrower b ON b.id = c.borrower_id "
        f"WHERE c.status IN ({statuses})",
        {
            "case_id": pl.Int64,
            "bucket": pl.String,
            "days_past_due": pl.Int64,
            "overdue_amount": pl.Int64,
            "outstanding_principal": pl.Int64,
            "branch": pl.String,
            "status": pl.String,
            "opened_on": pl.Date,
            "is_vulnerable": pl.Int8,
            "is_deceased": pl.Int8,
            "has_dispute": pl.Int8,
            "do_not_visit": pl.Int8,
            "latitude": pl.String,
            "longitude": pl.String,
        },
    )
    cases = cases.with_columns(
        *(
            pl.col(flag).cast(pl.Boolean)
            for flag in ("is_vulnerable", "is_deceased", "has_dispute", "do_not_visit")
        ),
        pl.when(pl.col("bucket") == "").then(None).otherwise(pl.col("bucket")).alias("bucket"),
        pl.col("latitude").replace("", None).cast(pl.Float64),
        pl.col("longitude").replace("", None).cast(pl.Float64),
    )
    products = read_frame(
        "SELECT l.case_id, l.product_code, CAST(ROUND(l.overdue_principal * 100) AS BIGINT) "  # noqa: S608 - only constants, dates and integers go into this SQL
        "FROM portfolio_loan l JOIN portfolio_case c ON c.id = l.case_id "
        f"WHERE c.status IN ({statuses})",
        {"case_id": pl.Int64, "product": pl.String, "overdue": pl.Int64},
    )
    # A case's product is that of its loan with the most overdue principal (ties: the lowest code).
    products = (
        products.sort(["case_id", "overdue", "product"], descending=[False, True, False])
        .unique(subset="case_id", keep="first", maintain_order=True)
        .select("case_id", "product")
    )
    outcomes = read_frame(
        "SELECT e.case_id, e.outcome_code, CAST(e.started_at AS TEXT), e.id "  # noqa: S608 - only constants, dates and integers go into this SQL
        "FROM compliance_contactevent e JOIN portfolio_case c ON c.id = e.case_id "
        f"WHERE c.status IN ({statuses}) AND e.outcome_code <> '' AND e.verdict <> 'refused' "
        f"AND e.started_at < '{_end_of_day_utc(business_date)}'",
        {"case_id": pl.Int64, "last_contact_outcome": pl.String, "started_at": pl.String, "id": pl.Int64},
    )
    outcomes = (
        outcomes.sort(["case_id", "started_at", "id"], descending=[False, True, True])
        .unique(subset="case_id", keep="first", maintain_order=True)
        .select("case_id", "last_contact_outcome")
    )
    frame = cases.join(products, on="case_id", how="left").join(outcomes, on="case_id", how="left")
    frame = frame.with_columns(_territory_expression(territories)).drop("latitude", "longitude")
    for name, provider in sorted(_providers.items()):
        values = provider(business_date).select(
            pl.col("case_id").cast(pl.Int64), pl.col("value").cast(DTYPES[ATTRIBUTES[name].kind]).alias(name)
        )
        frame = frame.join(values.unique(subset="case_id", keep="first"), on="case_id", how="left")
    missing = [
        pl.lit(None, dtype=DTYPES[attribute.kind]).alias(name)
        for name, attribute in ATTRIBUTES.items()
        if name not in frame.columns
    ]
    return frame.with_columns(missing).sort("case_id")


def _territory_expression(territories: list[Territory]) -> pl.Expr:
    """The first territory of the case's branch that contains the borrower's address (circle or polygon)."""
    chain = None
    for territory in territories:
        contains = _contains(territory) & (pl.col("branch") == territory.branch_code)
        chain = (pl if chain is None else chain).when(contains).then(pl.lit(territory.name))  # type: ignore[attr-defined]
    if chain is None:
        return pl.lit(None, dtype=pl.String).alias("territory")
    return chain.otherwise(pl.lit(None, dtype=pl.String)).alias("territory")


def _contains(territory: Territory) -> pl.Expr:
    latitude, longitude = pl.col("latitude"), pl.col("longitude")
    if territory.polygon:
        points = [(float(point[0]), float(point[1])) for point in territory.polygon]
        crossings = pl.lit(0, dtype=pl.Int32)
        for index, (lat_a, lon_a) in enumerate(points):
            lat_b, lon_b = points[(index + 1) % len(points)]
            if lon_a == lon_b:
                continue
            straddles = (pl.lit(lon_a) > longitude) != (pl.lit(lon_b) > longitude)
            crossing = lat_a + (longitude - lon_a) * (lat_b - lat_a) / (lon_b - lon_a)
            crossings = crossings + (straddles & (latitude < crossing)).cast(pl.Int32)
        return (crossings % 2 == 1).fill_null(False)
    centre_lat, centre_lon = float(territory.centre_latitude), float(territory.centre_longitude)
    phi1 = pl.lit(centre_lat).radians()
    phi2 = latitude.radians()
    half_dphi = (latitude - centre_lat).radians() / 2
    half_dlambda = (longitude - centre_lon).radians() / 2
    a = half_dphi.sin() ** 2 + phi1.cos() * phi2.cos() * half_dlambda.sin() ** 2
    distance_km = 2 * 6371.0088 * a.sqrt().arcsin()
    return (distance_km <= float(territory.radius_km)).fill_null(False)


def frames_directory() -> Path:
    return Path(settings.DOORSTEP_STRATEGY_FRAMES_DIR)


def saved_frame_path(business_date: dt.date) -> Path:
    return frames_directory() / f"cases-{business_date.isoformat()}.parquet"


def save_frame(business_date: dt.date, frame: pl.DataFrame) -> Path:
    """Keep the attributes a daily run decided on, so a draft can be tried on that day later."""
    path = saved_frame_path(business_date)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".parquet.tmp")
    frame.write_parquet(temporary)
    temporary.replace(path)
    return path


def load_saved_frame(business_date: dt.date) -> pl.DataFrame | None:
    path = saved_frame_path(business_date)
    return pl.read_parquet(path) if path.exists() else None
