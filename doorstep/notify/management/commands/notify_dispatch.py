"""`doorstep notify-dispatch [--limit N] [--loop SECONDS]`: send what is due in the outbox."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from doorstep.notify.backends import backend_name
from doorstep.notify.gateway import gateway_config, gateway_deliver
from doorstep.notify.services import outbox_dispatch_run


class Command(BaseCommand):
    help = (
        "Hand the outbox's due messages to the configured backend (DOORSTEP_NOTIFY_BACKEND) and, when an "
        "SMS gateway is configured, send the ready SMS through it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=500, help="at most this many messages per pass")
        parser.add_argument(
            "--loop", type=float, default=0, help="keep running, one pass every this many seconds (a worker)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            result = outbox_dispatch_run(limit=options["limit"])
            line = (
                f"backend {backend_name()}: {result.sent} sent, {result.ready} ready for the gateway, "
                f"{result.held} held by the gate, {result.deferred} deferred, {result.failed} failed"
            )
            config = gateway_config()
            if config is not None:
                run = gateway_deliver(config=config, limit=options["limit"])
                line += f"; gateway: {run.sent} sent, {run.retrying} to retry, {run.failed} failed"
            self.stdout.write(line)
            if not options["loop"]:
                return
            time.sleep(options["loop"])
