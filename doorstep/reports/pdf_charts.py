"""Charts for the monthly PDF, as PNG pictures (matplotlib, no display needed)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from doorstep.reports import metrics
from doorstep.reports.selectors import Dashboard

# Chinese labels need a CJK font on the server; without one the report keeps its tables and leaves the
# pictures out (`can_draw`), rather than print empty boxes.
CJK_FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


@cache
def _cjk_family() -> str | None:
    from matplotlib import font_manager

    for path in CJK_FONT_FILES:
        if Path(path).is_file():
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path).get_name()
    return None


def can_draw(language: str) -> bool:
    return not language.startswith("zh") or _cjk_family() is not None


def _figure(width: float, height: float):  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    family = _cjk_family()
    pyplot.rcParams["font.family"] = [family, "DejaVu Sans"] if family else ["DejaVu Sans"]
    pyplot.rcParams["axes.unicode_minus"] = False
    return pyplot, pyplot.figure(figsize=(width, height), dpi=150)


def _png(pyplot, figure) -> bytes:  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    pyplot.close(figure)
    return buffer.getvalue()


def trend_png(data: Dashboard, labels: dict[str, str]) -> bytes:
    pyplot, figure = _figure(7, 2.8)
    axis = figure.add_subplot(1, 1, 1)
    months = [row["month"].strftime("%Y-%m") for row in data.trend]
    for key, label in labels.items():
        values = [row[key] * 100 if row[key] is not None else None for row in data.trend]
        axis.plot(months, [v if v is not None else float("nan") for v in values], marker="o", label=label)
    axis.set_ylabel("%")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, ncols=2)
    axis.tick_params(labelsize=7)
    return _png(pyplot, figure)


def roll_png(data: Dashboard, buckets: Sequence[str], column_labels: dict[str, str]) -> bytes:
    pyplot, figure = _figure(7, 2.6)
    axis = figure.add_subplot(1, 1, 1)
    columns = metrics.roll_columns(buckets)
    cells = {(row["bucket_start"], row["bucket_end"]): row["rate"] for row in data.matrix.to_dicts()}
    grid = [[cells.get((start, end), 0.0) for end in columns] for start in buckets]
    axis.imshow(grid, cmap="Greens", vmin=0, vmax=1, aspect="auto")
    for row, start in enumerate(buckets):
        for column, end in enumerate(columns):
            if (start, end) in cells:
                value = cells[(start, end)]
                axis.text(column, row, f"{value * 100:.0f}%", ha="center", va="center", fontsize=7,
                          color="white" if value > 0.5 else "black")
    axis.set_xticks(range(len(columns)), [column_labels.get(c, c) for c in columns], fontsize=7)
    axis.set_yticks(range(len(buckets)), list(buckets), fontsize=7)
    return _png(pyplot, figure)


def recovery_png(data: Dashboard) -> bytes:
    pyplot, figure = _figure(7, 2.6)
    axis = figure.add_subplot(1, 1, 1)
    rows = data.recovery.to_dicts()
    for entry in sorted({row["entry_month"] for row in rows})[-6:]:
        points = [row for row in rows if row["entry_month"] == entry]
        axis.plot([row["months_since_entry"] for row in points],
                  [(row["rate"] or 0) * 100 for row in points], marker="o", label=entry.strftime("%Y-%m"))
    axis.set_xlabel("+k", fontsize=7)
    axis.set_ylabel("%")
    axis.grid(alpha=0.3)
    if rows:
        axis.legend(fontsize=7, ncols=3)
    axis.tick_params(labelsize=7)
    return _png(pyplot, figure)
