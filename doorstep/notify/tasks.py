"""Background jobs of notify: thin wrappers over its services."""

from __future__ import annotations

from typing import Any

from django.tasks import task

from doorstep.notify.gateway import gateway_config, gateway_deliver
from doorstep.notify.services import outbox_dispatch_run


@task()
def outbox_dispatch_task(limit: int = 500) -> dict[str, Any]:
    """Hand due messages to the backend; with a gateway configured, send the ready SMS through it too."""
    result = outbox_dispatch_run(limit=limit)
    summary: dict[str, Any] = {"ready": result.ready, "sent": result.sent, "held": result.held,
                               "deferred": result.deferred, "failed": result.failed}
    config = gateway_config()
    if config is not None:
        run = gateway_deliver(config=config, limit=limit)
        summary["gateway"] = {"sent": run.sent, "retrying": run.retrying, "failed": run.failed}
    return summary
