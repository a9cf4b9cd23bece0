from django.contrib import admin

from doorstep.visits.models import Crew, DayPlan, Visit, VisitAlert


@admin.register(Crew)
class CrewAdmin(admin.ModelAdmin):
    list_display = ("id", "team", "lead", "partner", "is_active", "created_at")
    list_filter = ("is_active", "team")


@admin.register(Visit)
class VisitAdmin(admin.ModelAdmin):
    list_display = ("id", "case", "status", "response", "window_start", "collector", "partner")
    list_filter = ("status", "response")
    raw_id_fields = ("case", "borrower", "collector", "partner", "rescheduled_from")

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # visits change through their services only, each leaving an audit entry

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(DayPlan)
class DayPlanAdmin(admin.ModelAdmin):
    list_display = ("id", "team", "day", "version", "status", "solver", "created_at")
    list_filter = ("status", "day")

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(VisitAlert)
class VisitAlertAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "collector", "visit", "raised_at", "acknowledged_at")
    list_filter = ("kind",)
    raw_id_fields = ("collector", "visit", "acknowledged_by")
