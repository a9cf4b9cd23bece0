"""Background jobs of the portfolio: thin wrappers over its services."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.tasks import task
from django.utils.translation import gettext as _

from doorstep.portfolio.intake import RowError, SnapshotRejected
from doorstep.portfolio.models import SnapshotImport
from doorstep.portfolio.services import snapshot_import

REPORTED_ERRORS = 200
COUNT_FIELDS = (
    "borrowers_created",
    "borrowers_updated",
    "loans_created",
    "loans_updated",
    "loans_cleared",
    "cases_opened",
    "cases_cured",
    "cases_updated",
)


def import_summary(result: SnapshotImport) -> dict[str, Any]:
    """What an import did, as JSON-ready data (the upload page and the API show this)."""
    return {
        "ok": True,
        "already_imported": result.already_imported,
        "import_id": result.pk,
        "snapshot_date": result.snapshot_date.isoformat(),
        "file_name": result.file_name,
        "rows": result.rows,
        **{name: getattr(result, name) for name in COUNT_FIELDS},
        "warnings": list(result.warnings),
        "seconds": round(result.seconds, 3),
    }


def rejection_report(rejected: SnapshotRejected, limit: int = REPORTED_ERRORS) -> dict[str, Any]:
    """The first `limit` problems of a refused file and how many there are in all."""
    return {
        "ok": False,
        "message": str(rejected),
        "total_errors": rejected.total,
        "errors": [error.as_dict() for error in rejected.errors[:limit]],
    }


@task()
def snapshot_import_task(
    path: str, actor_id: int | None = None, snapshot_date: str | None = None, encoding: str | None = None
) -> dict[str, Any]:
    """Import a snapshot file; a refused file is an answer (the error report), not a failed task."""
    actor = get_user_model().objects.get(pk=actor_id) if actor_id is not None else None
    try:
        business_date = dt.date.fromisoformat(snapshot_date) if snapshot_date else None
    except ValueError:
        return rejection_report(
            SnapshotRejected(
                [RowError(0, "snapshot_date", snapshot_date or "", _("not a date written YYYY-MM-DD"))]
            )
        )
    try:
        result = snapshot_import(actor=actor, path=Path(path), snapshot_date=business_date, encoding=encoding)
    except SnapshotRejected as rejected:
        return rejection_report(rejected)
    except OSError as error:
        return rejection_report(
            SnapshotRejected(
                [
                    RowError(
                        0, "", path, _("the file cannot be read: %(problem)s") % {"problem": error.strerror}
                    )
                ]
            )
        )
    return import_summary(result)
