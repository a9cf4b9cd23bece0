"""A realistic, deterministic demo portfolio: the bank's overdue-loan snapshot for one city (Chengdu).

Everything is drawn column-wise with numpy and assembled with Polars, so a million loans take seconds.
Money is integer fen throughout and written as decimal yuan with two places; the same seed always gives
the same borrowers and loans, whatever the snapshot date (days past due are kept, dates move with it).

The file follows docs/formats.md ("Overdue-loan snapshot"): every column is a string, latitude and
longitude are empty (null) for addresses that are not yet geocoded.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from doorstep.core.identity import CHECK_CHARACTERS, WEIGHTS

SNAPSHOT_COLUMNS = (
    "snapshot_date",
    "loan_id",
    "customer_id",
    "name",
    "national_id",
    "phone",
    "address",
    "latitude",
    "longitude",
    "branch_code",
    "product_code",
    "currency",
    "principal",
    "outstanding_principal",
    "overdue_principal",
    "overdue_interest",
    "penalty_interest",
    "first_unpaid_due_date",
    "days_past_due",
)
AMOUNT_COLUMNS = ("principal", "outstanding_principal", "overdue_principal", "overdue_interest", "penalty_interest")
CSV_ENCODINGS = ("utf-8", "utf-8-sig", "gbk", "gb18030")
FILE_FORMATS = ("csv", "parquet")
KM_PER_DEGREE_LATITUDE = 111.32


@dataclass(frozen=True)
class Branch:
    code: str
    name: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class District:
    area_code: str
    name: str
    latitude: float
    longitude: float
    spread_km: float
    weight: float
    streets: tuple[str, ...]
    branches: tuple[Branch, ...]


def _branches(number: int, centre: tuple[float, float], *names: str) -> tuple[Branch, ...]:
    # Two-branch districts split east and west of the centre, about 2.5 km apart.
    offsets = [0.0] if len(names) == 1 else [-0.013, 0.013]
    return tuple(
        Branch(f"CD{number:02d}{index + 1:02d}", name, centre[0], round(centre[1] + offset, 6))
        for index, (name, offset) in enumerate(zip(names, offsets, strict=True))
    )


# Approximate centres of Chengdu's districts (WGS-84), spread of addresses around them, share of borrowers.
CHENGDU_DISTRICTS: tuple[District, ...] = (
    District("510104", "锦江区", 30.6570, 104.0830, 2.2, 0.09,
             ("春熙路", "红星路三段", "东大街", "总府路", "书院西街", "水井街", "莲桂南路", "静沙南路", "锦华路", "三官堂街"),
             _branches(1, (30.6570, 104.0830), "锦江区春熙路支行", "锦江区静沙路支行")),
    District("510105", "青羊区", 30.6740, 104.0550, 2.4, 0.09,
             ("人民中路二段", "西玉龙街", "草市街", "宽巷子", "文殊院街", "清江中路", "光华大道一段", "青华路", "金丝街", "蜀都大道"),
             _branches(2, (30.6740, 104.0550), "青羊区草市街支行", "青羊区光华支行")),
    District("510106", "金牛区", 30.6980, 104.0450, 2.6, 0.12,
             ("一环路北一段", "茶店子路", "营门口路", "沙湾路", "蜀汉路", "金府路", "五块石路", "解放路二段", "人民北路二段", "抚琴西路"),
             _branches(3, (30.6980, 104.0450), "金牛区沙湾支行", "金牛区茶店子支行")),
    District("510107", "武侯区", 30.6350, 104.0430, 2.6, 0.12,
             ("科华北路", "玉林南路", "武侯祠大街", "高升桥路", "人民南路四段", "佳灵路", "晋阳路", "棕北路", "致民路", "簇锦北路"),
             _branches(4, (30.6350, 104.0430), "武侯区玉林支行", "武侯区高升桥支行")),
    District("510108", "成华区", 30.6700, 104.1050, 2.5, 0.11,
             ("建设路", "双林路", "府青路二段", "二仙桥东路", "猛追湾街", "东风路", "杉板桥路", "龙潭路", "崔家店路", "八里庄路"),
             _branches(5, (30.6700, 104.1050), "成华区建设路支行", "成华区府青路支行")),
    District("510112", "龙泉驿区", 30.5570, 104.2750, 4.0, 0.09,
             ("驿都大道", "龙都南路", "北泉路", "同安路", "大面街", "十陵上街", "星光西路", "龙泉街", "车城东路"),
             _branches(6, (30.5570, 104.2750), "龙泉驿区驿都支行")),
    District("510114", "新都区", 30.8230, 104.1590, 4.0, 0.10,
             ("新都大道", "桂湖中路", "马超西路", "新中路", "蜀龙大道", "大丰街", "三河街", "正因路"),
             _branches(7, (30.8230, 104.1590), "新都区桂湖支行")),
    District("510115", "温江区", 30.6880, 103.8450, 3.5, 0.07,
             ("光华大道三段", "柳城大道", "凤溪大道", "德通桥路", "万春路", "杨柳西路", "南熏大道", "江安路"),
             _branches(8, (30.6880, 103.8450), "温江区柳城支行")),
    District("510116", "双流区", 30.5750, 103.9240, 4.0, 0.11,
             ("棠湖西路", "迎春路", "航空港大道", "白河路", "蛟龙大道", "牧华路", "机场路", "九江街"),
             _branches(9, (30.5750, 103.9240), "双流区棠湖支行", "双流区九江支行")),
    District("510117", "郫都区", 30.8050, 103.8950, 3.8, 0.10,
             ("望丛中路", "犀浦星辰路", "红光大道", "德源大道", "郫筒东大街", "创智南路", "团结中路", "安德大街"),
             _branches(10, (30.8050, 103.8950), "郫都区望丛支行")),
)
CHENGDU_BRANCHES: tuple[Branch, ...] = tuple(branch for district in CHENGDU_DISTRICTS for branch in district.branches)

# Where borrowers born outside Chengdu were registered (real Sichuan and Chongqing area codes).
OTHER_BIRTH_AREAS = ("510681", "510704", "511302", "511102", "511602", "511002", "513401", "500101", "510302")

# Common surnames, most frequent first (Sichuan's ranking differs a little from the national one).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫"
    "孔向汤"
)
GIVEN_NAME_CHARACTERS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华建国文辉力鹏飞玲梅琳婷雪宇浩俊峰波斌宁红春晓晨欣怡"
    "佳嘉子涵思雨博轩鑫凯志海林燕云颖倩琴丹荣蓉川蜀清秀德永成小玉凤慧利琼翠萍燕瑶琪梓睿泽航宏毅帆阳"
)
COMPOUNDS = (
    "锦绣花园", "阳光小区", "幸福家园", "金沙苑", "芙蓉苑", "银杏园", "和平小区", "滨江花园", "府河苑", "天府名居",
    "望江小区", "桂花苑", "南苑", "新城小区", "丽景花园", "翠竹苑", "康乐小区", "东篱苑", "清水河小区", "锦城华庭",
)
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155",
    "156", "157", "158", "159", "166", "173", "175", "176", "177", "178", "180", "181", "182", "183", "184",
    "185", "186", "187", "188", "189", "191", "193", "195", "198", "199",
)


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    share: float
    median_principal_yuan: float
    sigma: float
    min_yuan: int
    max_yuan: int
    round_to_yuan: int
    terms_months: tuple[int, ...]
    annual_rate_bp: tuple[int, int]


PRODUCTS: tuple[Product, ...] = (
    Product("XFD", "个人消费贷款", 0.60, 50_000, 0.75, 10_000, 300_000, 1_000, (12, 24, 36), (600, 1_200)),
    Product("XYK_FQ", "信用卡分期", 0.25, 20_000, 0.70, 3_000, 150_000, 0, (6, 12, 24), (600, 900)),
    Product("JYD", "个人经营性贷款", 0.15, 120_000, 0.60, 30_000, 500_000, 5_000, (12, 24, 36), (450, 900)),
)

# Days-past-due buckets of a consumer book: most borrowers are a few weeks late, a tail up to two years.
BUCKET_SHARES = (("M1", 0.55), ("M2", 0.18), ("M3", 0.10), ("M4+", 0.17))
MAX_DAYS_PAST_DUE = 720
UNGEOCODED_SHARE = 0.03
BIRTH_REFERENCE_DATE = dt.date(2026, 7, 1)
# Borrowers with one, two or three loans in the file.
LOANS_PER_BORROWER = ((1, 0.87), (2, 0.10), (3, 0.03))


def _pick(rng: np.random.Generator, shares: list[float] | tuple[float, ...], size: int) -> np.ndarray:
    weights = np.asarray(shares, dtype=np.float64)
    return rng.choice(len(weights), size=size, p=weights / weights.sum())


def _gather(values: tuple[str, ...] | list[str] | str, index: np.ndarray) -> pl.Series:
    return pl.Series(list(values), dtype=pl.String).gather(index)


def _digits_text(values: np.ndarray, width: int) -> pl.Series:
    return pl.Series(values.astype(np.int64)).cast(pl.String).str.zfill(width)


def fen_text(fen: np.ndarray | pl.Series) -> pl.Series:
    """Integer fen as decimal yuan with exactly two places ("123456" → "1234.56"); never through float."""
    series = pl.Series(fen).cast(pl.Int64)
    if (series < 0).any():
        raise ValueError("amounts in a snapshot are never negative")
    whole = (series // 100).cast(pl.String)
    cents = (series % 100).cast(pl.String).str.zfill(2)
    return whole + "." + cents


def text_fen(text: pl.Series) -> np.ndarray:
    """Decimal yuan text with up to two places back to integer fen."""
    parts = text.str.split_exact(".", 1)
    whole = parts.struct.field("field_0").cast(pl.Int64)
    cents = parts.struct.field("field_1").fill_null("0").str.pad_end(2, "0").cast(pl.Int64)
    return (whole * 100 + cents).to_numpy().astype(np.int64)


def _micro_degrees_text(micro: np.ndarray) -> pl.Series:
    whole = pl.Series(micro // 1_000_000).cast(pl.String)
    fraction = pl.Series(micro % 1_000_000).cast(pl.String).str.zfill(6)
    return whole + "." + fraction


def _unique_keys(keys: np.ndarray, redraw: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """`keys` with every repeat replaced by `redraw(positions)` until all are unique (the first stays)."""
    for _attempt in range(100):
        _values, first_index = np.unique(keys, return_index=True)
        repeated = np.ones(keys.size, dtype=bool)
        repeated[first_index] = False
        if not repeated.any():
            return keys
        positions = np.flatnonzero(repeated)
        keys[positions] = redraw(positions)
    raise RuntimeError("could not draw unique keys; the key space is too small for this many borrowers")


def _check_characters(first_seventeen: np.ndarray) -> np.ndarray:
    """GB 11643 check character index for each 17-digit integer, computed on whole columns."""
    total = np.zeros(first_seventeen.shape, dtype=np.int64)
    remaining = first_seventeen.copy()
    for weight in reversed(WEIGHTS):
        total += (remaining % 10) * weight
        remaining //= 10
    return total % 11


def _borrowers(rng: np.random.Generator, count: int) -> dict[str, pl.Series]:
    district = _pick(rng, [d.weight for d in CHENGDU_DISTRICTS], count)

    # Surname frequencies fall off roughly as 1/rank: 王, 李 and 张 are each about one borrower in sixteen.
    surname = _pick(rng, [1.0 / (rank + 4) for rank in range(1, len(SURNAMES) + 1)], count)
    three_characters = rng.random(count) < 0.75
    first_given = rng.integers(0, len(GIVEN_NAME_CHARACTERS), count)
    second_given = rng.integers(0, len(GIVEN_NAME_CHARACTERS), count)
    name = _gather(SURNAMES, surname) + _gather(GIVEN_NAME_CHARACTERS, first_given)
    name = pl.select(
        pl.when(pl.Series(three_characters))
        .then(name + _gather(GIVEN_NAME_CHARACTERS, second_given))
        .otherwise(name)
    ).to_series()

    # Adults of 21 to 64 on a fixed reference date, so a borrower keeps their ID whatever the snapshot
    # date, and is 20 to 65 on any snapshot within a year of it. Most are between 25 and 45.
    age_days = (21 * 365.25 + rng.beta(2.2, 3.5, count) * 43 * 365.25).astype(np.int64)
    birth = pl.select(
        (pl.lit(BIRTH_REFERENCE_DATE) - pl.duration(days=pl.Series(age_days))).dt.strftime("%Y%m%d")
    ).to_series()
    birth_number = birth.cast(pl.Int64).to_numpy()
    district_area = np.array([int(d.area_code) for d in CHENGDU_DISTRICTS], dtype=np.int64)[district]
    other_area = np.array([int(code) for code in OTHER_BIRTH_AREAS], dtype=np.int64)
    area = np.where(rng.random(count) < 0.15, other_area[rng.integers(0, len(other_area), count)], district_area)

    # The sequence number is redrawn until (area, birth date, sequence) is unique among the borrowers.
    prefix = area * 10**11 + birth_number * 1000
    sequence = _unique_keys(
        prefix + rng.integers(0, 1000, count), lambda at: prefix[at] + rng.integers(0, 1000, at.size)
    )
    check = _check_characters(sequence)
    national_id = _digits_text(sequence, 17) + _gather(CHECK_CHARACTERS, check)

    mobile_prefixes = np.array([int(p) for p in MOBILE_PREFIXES], dtype=np.int64)

    def draw_phone(size: int) -> np.ndarray:
        return mobile_prefixes[rng.integers(0, len(mobile_prefixes), size)] * 10**8 + rng.integers(0, 10**8, size)

    phone = _digits_text(_unique_keys(draw_phone(count), lambda at: draw_phone(at.size)), 11)
    customer_id = _digits_text(
        _unique_keys(rng.integers(10**11, 10**12, count), lambda at: rng.integers(10**11, 10**12, at.size)), 12
    )

    # Home position: normal spread around the district centre, clipped to three spreads.
    centre_latitude = np.array([d.latitude for d in CHENGDU_DISTRICTS])[district]
    centre_longitude = np.array([d.longitude for d in CHENGDU_DISTRICTS])[district]
    spread = np.array([d.spread_km for d in CHENGDU_DISTRICTS])[district]
    north_km = np.clip(rng.normal(0.0, 1.0, count), -3, 3) * spread
    east_km = np.clip(rng.normal(0.0, 1.0, count), -3, 3) * spread
    latitude = centre_latitude + north_km / KM_PER_DEGREE_LATITUDE
    longitude = centre_longitude + east_km / (KM_PER_DEGREE_LATITUDE * np.cos(np.radians(centre_latitude)))
    geocoded = rng.random(count) >= UNGEOCODED_SHARE
    latitude_text = _micro_degrees_text(np.rint(latitude * 1_000_000).astype(np.int64))
    longitude_text = _micro_degrees_text(np.rint(longitude * 1_000_000).astype(np.int64))
    no_position = pl.Series([None] * count, dtype=pl.String)
    geocoded_series = pl.Series(geocoded)
    latitude_text = pl.select(pl.when(geocoded_series).then(latitude_text).otherwise(no_position)).to_series()
    longitude_text = pl.select(pl.when(geocoded_series).then(longitude_text).otherwise(no_position)).to_series()

    # Branch: in two-branch districts the west half banks with the first branch, the east half with the second.
    first_branch = np.array([CHENGDU_BRANCHES.index(d.branches[0]) for d in CHENGDU_DISTRICTS])[district]
    branch_count = np.array([len(d.branches) for d in CHENGDU_DISTRICTS])[district]
    branch = first_branch + np.where((branch_count > 1) & (east_km > 0), 1, 0)
    branch_code = _gather([b.code for b in CHENGDU_BRANCHES], branch)

    # Address: 四川省成都市<district><street><number>号<compound><building>栋<unit>单元<floor><room>室
    street_names: list[str] = []
    street_offset = []
    for d in CHENGDU_DISTRICTS:
        street_offset.append(len(street_names))
        street_names.extend(d.streets)
    street_total = np.array([len(d.streets) for d in CHENGDU_DISTRICTS])[district]
    street = np.array(street_offset)[district] + (rng.random(count) * street_total).astype(np.int64)
    floor = rng.integers(1, 33, count)
    address = (
        "四川省成都市"
        + _gather([d.name for d in CHENGDU_DISTRICTS], district)
        + _gather(street_names, street)
        + pl.Series(rng.integers(1, 400, count)).cast(pl.String)
        + "号"
        + _gather(COMPOUNDS, rng.integers(0, len(COMPOUNDS), count))
        + pl.Series(rng.integers(1, 25, count)).cast(pl.String)
        + "栋"
        + pl.Series(rng.integers(1, 5, count)).cast(pl.String)
        + "单元"
        + pl.Series(floor).cast(pl.String)
        + pl.Series(rng.integers(1, 5, count)).cast(pl.String).str.zfill(2)
        + "室"
    )
    return {
        "customer_id": customer_id,
        "name": name,
        "national_id": national_id,
        "phone": phone,
        "address": address,
        "latitude": latitude_text,
        "longitude": longitude_text,
        "branch_code": branch_code,
    }


def _days_past_due(rng: np.random.Generator, size: int) -> np.ndarray:
    bucket = _pick(rng, [share for _code, share in BUCKET_SHARES], size)
    days = np.empty(size, dtype=np.int64)
    for index, (low, high) in enumerate(((1, 30), (31, 60), (61, 90))):
        chosen = bucket == index
        days[chosen] = rng.integers(low, high + 1, int(chosen.sum()))
    late = bucket == 3
    # Beyond 90 days the book thins out: an exponential tail, capped at two years.
    tail = 91 + rng.exponential(150.0, int(late.sum())).astype(np.int64)
    days[late] = np.minimum(tail, MAX_DAYS_PAST_DUE)
    return days


def _loans(rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
    product = _pick(rng, [p.share for p in PRODUCTS], size)
    days = _days_past_due(rng, size)
    principal_fen = np.empty(size, dtype=np.int64)
    term = np.empty(size, dtype=np.int64)
    rate_bp = np.empty(size, dtype=np.int64)
    for index, spec in enumerate(PRODUCTS):
        chosen = product == index
        count = int(chosen.sum())
        yuan = np.clip(rng.lognormal(math.log(spec.median_principal_yuan), spec.sigma, count), spec.min_yuan, spec.max_yuan)
        if spec.round_to_yuan:
            # Loans are granted in round amounts; card instalments carry the purchase amount to the fen.
            fen = (np.maximum(np.rint(yuan / spec.round_to_yuan), 1) * spec.round_to_yuan * 100).astype(np.int64)
        else:
            fen = np.rint(yuan * 100).astype(np.int64)
        principal_fen[chosen] = fen
        term[chosen] = np.asarray(spec.terms_months)[rng.integers(0, len(spec.terms_months), count)]
        rate_bp[chosen] = rng.integers(spec.annual_rate_bp[0], spec.annual_rate_bp[1] + 1, count)

    # Equal-principal instalments, one a month. Missed instalments: one per started 30 days past due.
    instalment_fen = principal_fen // term
    missed = np.minimum((days + 29) // 30, term)
    paid = (rng.random(size) * (term - missed + 1)).astype(np.int64)
    outstanding_fen = principal_fen - paid * instalment_fen
    last_instalments = term - paid <= missed
    overdue_principal_fen = np.where(last_instalments, outstanding_fen, missed * instalment_fen)
    # Contract interest on the outstanding balance for each missed month; penalty interest at 1.5 times the
    # contract rate on the overdue principal for the days past due (actual/360). Integer fen, rounded down.
    overdue_interest_fen = outstanding_fen * rate_bp * missed // (12 * 10_000)
    penalty_interest_fen = overdue_principal_fen * rate_bp * 3 * days // (2 * 10_000 * 360)
    return {
        "product": product,
        "days_past_due": days,
        "principal": principal_fen,
        "outstanding_principal": outstanding_fen,
        "overdue_principal": overdue_principal_fen,
        "overdue_interest": overdue_interest_fen,
        "penalty_interest": penalty_interest_fen,
    }


def generate_snapshot(*, accounts: int, seed: int, snapshot_date: dt.date) -> pl.DataFrame:
    """One row per overdue loan, `accounts` rows, every one valid for the snapshot import.

    The same `seed` gives the same borrowers and loans; about 13% of borrowers have two or three loans.
    """
    if accounts < 1:
        raise ValueError("accounts must be at least 1")
    rng = np.random.default_rng(seed)
    loans_each = np.array([n for n, _share in LOANS_PER_BORROWER])[
        _pick(rng, [share for _n, share in LOANS_PER_BORROWER], accounts)
    ]
    ends = np.cumsum(loans_each)
    borrower_count = int(np.searchsorted(ends, accounts) + 1)
    loans_each = loans_each[:borrower_count].copy()
    loans_each[-1] -= int(ends[borrower_count - 1] - accounts)

    borrowers = _borrowers(rng, borrower_count)
    owner = np.repeat(np.arange(borrower_count), loans_each)
    loans = _loans(rng, accounts)

    loan_number = _unique_keys(rng.integers(10**13, 10**14, accounts), lambda at: rng.integers(10**13, 10**14, at.size))
    loan_id = "JJ" + _digits_text(loan_number, 14)
    date_text = snapshot_date.isoformat()
    frame = pl.DataFrame(
        {
            "snapshot_date": pl.Series([date_text]).gather(np.zeros(accounts, dtype=np.int64)),
            "loan_id": loan_id,
            **{column: pl.Series(borrowers[column]).gather(owner) for column in (
                "customer_id", "name", "national_id", "phone", "address", "latitude", "longitude", "branch_code"
            )},
            "product_code": _gather([p.code for p in PRODUCTS], loans["product"]),
            "currency": pl.Series(["CNY"]).gather(np.zeros(accounts, dtype=np.int64)),
            **{column: fen_text(loans[column]) for column in AMOUNT_COLUMNS},
            "days_past_due": pl.Series(loans["days_past_due"]),
        }
    )
    return frame.with_columns(
        (pl.lit(snapshot_date) - pl.duration(days=pl.col("days_past_due"))).dt.strftime("%Y-%m-%d").alias(
            "first_unpaid_due_date"
        ),
        pl.col("days_past_due").cast(pl.String),
    ).select(SNAPSHOT_COLUMNS)


def perturb_snapshot(frame: pl.DataFrame, *, fraction: float, seed: int) -> pl.DataFrame:
    """The same snapshot with `fraction` of its rows changed: still valid, same date and days past due.

    Every chosen row accrues more penalty interest; half of them also had a partial repayment that lowered
    the overdue and outstanding principal. Rows not chosen are returned unchanged.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError("fraction must be between 0 and 1")
    size = frame.height
    rng = np.random.default_rng(seed)
    changed = np.zeros(size, dtype=bool)
    changed[rng.choice(size, size=round(fraction * size), replace=False)] = True
    amounts = {column: text_fen(frame.get_column(column)) for column in AMOUNT_COLUMNS}
    penalty = amounts["penalty_interest"] + np.where(changed, rng.integers(1, 20_000, size), 0)
    repaid_share = rng.random(size)
    repays = changed & (rng.random(size) < 0.5) & (amounts["overdue_principal"] > 1)
    repayment = np.where(repays, np.maximum((amounts["overdue_principal"] * repaid_share).astype(np.int64), 1), 0)
    repayment = np.minimum(repayment, np.maximum(amounts["overdue_principal"] - 1, 0))
    return frame.with_columns(
        fen_text(amounts["outstanding_principal"] - repayment).alias("outstanding_principal"),
        fen_text(amounts["overdue_principal"] - repayment).alias("overdue_principal"),
        fen_text(penalty).alias("penalty_interest"),
    )


def write_snapshot(frame: pl.DataFrame, path: Path, *, file_format: str = "csv", encoding: str = "utf-8") -> Path:
    """Write the snapshot as the bank would send it: CSV in one of its encodings, or Parquet."""
    path = Path(path)
    if file_format not in FILE_FORMATS:
        raise ValueError(f"file format must be one of {', '.join(FILE_FORMATS)}, not {file_format!r}")
    normalised = encoding.lower().replace("_", "-")
    if file_format == "csv" and normalised not in CSV_ENCODINGS:
        raise ValueError(f"CSV encoding must be one of {', '.join(CSV_ENCODINGS)}, not {encoding!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if file_format == "parquet":
        frame.write_parquet(path)
        return path
    if normalised == "utf-8":
        frame.write_csv(path)
        return path
    # Polars writes UTF-8 only: re-encode in slices so a million rows never sit in memory twice over.
    with path.open("wb") as handle:
        if normalised == "utf-8-sig":
            handle.write("\ufeff".encode())
        for offset in range(0, max(frame.height, 1), 100_000):
            text = frame.slice(offset, 100_000).write_csv(include_header=offset == 0)
            handle.write(text.encode("utf-8" if normalised == "utf-8-sig" else normalised))
    return path
