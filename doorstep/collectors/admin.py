"""Admin site for field staff: territories, teams and collectors are edited here, every change audited;
assignments are only shown (they change through `case_assign` and `cases_assign_bulk`)."""

from __future__ import annotations

from django.contrib import admin

from doorstep.collectors.models import (
    CaseAssignment,
    Certificate,
    Collector,
    Course,
    ExamAttempt,
    QAReview,
    ReviewFlag,
    Team,
    Territory,
)
from doorstep.core.admin import AuditedAdmin, ReadOnlyAdmin


@admin.register(Territory)
class TerritoryAdmin(AuditedAdmin):
    list_display = ("name", "branch_code", "centre_latitude", "centre_longitude", "radius_km", "speed_kmh")
    list_filter = ("branch_code",)
    search_fields = ("name", "branch_code")


@admin.register(Team)
class TeamAdmin(AuditedAdmin):
    list_display = ("name", "branch_code", "supervisor")
    list_filter = ("branch_code",)
    search_fields = ("name", "branch_code", "supervisor__username")
    list_select_related = ("supervisor",)
    autocomplete_fields = ("supervisor",)
    filter_horizontal = ("territories",)


@admin.register(Collector)
class CollectorAdmin(AuditedAdmin):
    list_display = ("badge_number", "display_name", "team", "is_active", "is_experienced", "visits_per_day",
                    "work_days", "shift_start", "shift_end")
    list_filter = ("is_active", "is_experienced", "team__branch_code")
    search_fields = ("badge_number", "user__username", "user__first_name")
    list_select_related = ("user", "team")
    autocomplete_fields = ("user", "team")
    filter_horizontal = ("territories",)


@admin.register(CaseAssignment)
class CaseAssignmentAdmin(ReadOnlyAdmin):
    list_display = ("case", "team", "collector", "assigned_at", "assigned_by", "ended_at", "reason")
    list_filter = ("team",)
    list_select_related = ("case__borrower", "team", "collector__user", "assigned_by")
    search_fields = ("collector__badge_number",)
    show_full_result_count = False


@admin.register(Certificate)
class CertificateAdmin(ReadOnlyAdmin):
    list_display = ("collector", "kind", "number", "issued_on", "expires_on")
    list_filter = ("kind",)
    list_select_related = ("collector__user",)


@admin.register(Course)
class CourseAdmin(AuditedAdmin):
    list_display = ("code", "title", "kind", "certificate_kind", "validity_months", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "title")


@admin.register(ExamAttempt)
class ExamAttemptAdmin(ReadOnlyAdmin):
    list_display = ("exam", "collector", "number", "status", "started_at", "submitted_at", "score", "passed")
    list_filter = ("status", "passed")
    list_select_related = ("exam", "collector__user")


@admin.register(QAReview)
class QAReviewAdmin(ReadOnlyAdmin):
    list_display = ("sample", "reviewer", "submitted_at", "score")
    list_select_related = ("sample", "reviewer")


@admin.register(ReviewFlag)
class ReviewFlagAdmin(ReadOnlyAdmin):
    list_display = ("collector", "source", "source_id", "raised_at", "outcome", "baseline_score", "follow_up_score")
    list_filter = ("source", "outcome")
    list_select_related = ("collector__user",)
