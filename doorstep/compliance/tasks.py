"""Background jobs of the compliance app, each a thin wrapper over a service."""

from __future__ import annotations

import datetime as dt

from django.tasks import task
from django.utils import timezone

from doorstep.compliance.services import retention_run


@task()
def retention_nightly(today: str | None = None, dry_run: bool = False) -> dict[str, object]:
    """Run the retention job (for the task worker's nightly schedule); returns what it did."""
    day = dt.date.fromisoformat(today) if today else timezone.localdate()
    run = retention_run(actor="system:retention", today=day, dry_run=dry_run)
    return {"run": run.pk, "anonymised": run.anonymised, "purged": run.purged, "details": run.details}
