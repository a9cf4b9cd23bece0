"""Background jobs of payments: thin wrappers over its services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.tasks import task
from django.utils.translation import gettext as _

from doorstep.payments.models import PaymentImport
from doorstep.payments.services import PaymentsRejected, RowError, payments_import

REPORTED_ERRORS = 200
COUNT_FIELDS = ("rows", "payments_added", "reversals_added", "reversals_waiting", "duplicates_skipped", "cases_cured")


def import_summary(result: PaymentImport) -> dict[str, Any]:
    return {
        "ok": True,
        "already_imported": bool(getattr(result, "already_imported", False)),
        "import_id": result.pk,
        "file_name": result.file_name,
        **{name: getattr(result, name) for name in COUNT_FIELDS},
        "warnings": [str(warning) for warning in result.warnings],
        "seconds": round(result.seconds, 3),
    }


def rejection_report(rejected: PaymentsRejected, limit: int = REPORTED_ERRORS) -> dict[str, Any]:
    return {
        "ok": False,
        "message": str(rejected),
        "total_errors": rejected.total,
        "errors": [error.as_dict() for error in rejected.errors[:limit]],
    }


@task()
def payments_import_task(path: str, actor_id: int | None = None, encoding: str | None = None) -> dict[str, Any]:
    """Import a payments file; a refused file is an answer (the error report), not a failed task."""
    actor = get_user_model().objects.get(pk=actor_id) if actor_id is not None else None
    try:
        result = payments_import(actor=actor, path=Path(path), encoding=encoding)
    except PaymentsRejected as rejected:
        return rejection_report(rejected)
    except OSError as error:
        return rejection_report(
            PaymentsRejected(
                [RowError(0, "", path, _("the file cannot be read: %(problem)s") % {"problem": error.strerror})]
            )
        )
    return import_summary(result)
