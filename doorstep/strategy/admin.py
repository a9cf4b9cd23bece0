"""Admin site for strategies: read-only. Versions, treatments and runs change only through services."""

from __future__ import annotations

from django.contrib import admin

from doorstep.core.admin import ReadOnlyAdmin
from doorstep.strategy.models import DailyRun, DailyRunStep, Script, StrategyVersion


@admin.register(StrategyVersion)
class StrategyVersionAdmin(ReadOnlyAdmin):
    list_display = (
        "strategy",
        "number",
        "status",
        "created_by",
        "submitted_by",
        "approved_by",
        "approved_at",
    )
    list_filter = ("status",)


@admin.register(DailyRun)
class DailyRunAdmin(ReadOnlyAdmin):
    list_display = ("business_date", "status", "requested_by_label", "started_at", "finished_at")


@admin.register(DailyRunStep)
class DailyRunStepAdmin(ReadOnlyAdmin):
    list_display = ("run", "name", "status", "attempts", "started_at", "finished_at")


@admin.register(Script)
class ScriptAdmin(ReadOnlyAdmin):
    list_display = ("code", "channel", "title_zh", "title_en", "is_active")
