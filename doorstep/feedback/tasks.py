"""Background jobs of feedback: thin wrappers over its services."""

from __future__ import annotations

from django.tasks import task

from doorstep.feedback.services import complaint_breaches_record


@task()
def complaint_breaches_task() -> dict[str, int]:
    return complaint_breaches_record(actor="system:task")
