"""Admin site for the portfolio: read-only. Borrowers, loans and cases change only through imports and
services, and personal data appears masked, as everywhere on screen."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from doorstep.core.admin import ReadOnlyAdmin
from doorstep.portfolio.models import Borrower, BucketMove, Case, CaseStatusChange, Loan, SnapshotImport

BORROWER_FIELDS = (
    "customer_id",
    "name",
    "national_id_masked",
    "phone_masked",
    "address",
    "latitude",
    "longitude",
    "time_zone",
    "employer",
    "is_vulnerable",
    "is_deceased",
    "has_dispute",
    "do_not_visit",
    "created_at",
    "updated_at",
)


@admin.register(Borrower)
class BorrowerAdmin(ReadOnlyAdmin):
    list_display = ("customer_id", "name", "national_id_masked", "phone_masked", "do_not_visit", "has_dispute")
    list_filter = ("do_not_visit", "has_dispute", "is_vulnerable", "is_deceased")
    search_fields = ("customer_id", "name")
    show_full_result_count = False
    # Only the masked forms: the encrypted values and look-up hashes never reach the admin's pages.
    fields = BORROWER_FIELDS
    readonly_fields = BORROWER_FIELDS


class LoanInline(admin.TabularInline):
    model = Loan
    extra = 0
    can_delete = False
    fields = ("loan_id", "product_code", "principal", "outstanding_principal", "overdue_principal",
              "overdue_interest", "penalty_interest", "days_past_due", "bucket", "classification")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ("pk", "borrower_name", "status", "bucket", "days_past_due", "overdue_total", "branch_code", "snapshot_date")
    list_filter = ("status", "bucket", "branch_code")
    search_fields = ("borrower__name", "borrower__customer_id")
    list_select_related = ("borrower",)
    show_full_result_count = False
    exclude = ("borrower",)
    readonly_fields = (
        "borrower_name", "status", "opened_on", "closed_on", "snapshot_date", "branch_code", "days_past_due",
        "bucket", "outstanding_principal", "overdue_principal", "overdue_interest", "penalty_interest",
        "overdue_total", "entry_overdue_total", "next_action", "next_action_on", "created_at", "updated_at",
    )
    inlines = (LoanInline,)

    @admin.display(description=_("borrower"), ordering="borrower__name")
    def borrower_name(self, case: Case) -> str:
        return f"{case.borrower.name} ({case.borrower.customer_id})"


@admin.register(Loan)
class LoanAdmin(ReadOnlyAdmin):
    list_display = ("loan_id", "borrower", "product_code", "branch_code", "overdue_principal", "days_past_due", "bucket", "is_overdue")
    list_filter = ("is_overdue", "bucket", "product_code", "classification")
    search_fields = ("loan_id", "borrower__customer_id")
    list_select_related = ("borrower",)
    show_full_result_count = False
    exclude = ("borrower", "case")


@admin.register(SnapshotImport)
class SnapshotImportAdmin(ReadOnlyAdmin):
    list_display = ("snapshot_date", "file_name", "rows", "cases_opened", "cases_updated", "cases_cured", "imported_by_label", "started_at")
    date_hierarchy = "snapshot_date"


@admin.register(CaseStatusChange)
class CaseStatusChangeAdmin(ReadOnlyAdmin):
    list_display = ("case", "from_status", "to_status", "business_date", "actor_label", "at")
    list_filter = ("to_status",)
    list_select_related = ("case__borrower",)
    show_full_result_count = False


@admin.register(BucketMove)
class BucketMoveAdmin(ReadOnlyAdmin):
    list_display = ("loan", "snapshot_date", "from_bucket", "to_bucket", "days_past_due", "overdue_amount")
    list_filter = ("to_bucket",)
    list_select_related = ("loan",)
    show_full_result_count = False
