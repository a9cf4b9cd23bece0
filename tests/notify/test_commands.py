"""`doorstep notify-dispatch` and the dispatch task: the same service, from the console and the task queue."""

from __future__ import annotations

import datetime as dt
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from doorstep.compliance.services import caches_clear
from doorstep.notify.models import Message, MessageStatus
from doorstep.notify.services import message_queue
from doorstep.notify.tasks import outbox_dispatch_task


def queue_code(case, key: str) -> Message:  # type: ignore[no-untyped-def]
    # A one-time code is no collection contact: it may go at any hour, so the test does not depend on the clock.
    return message_queue(
        actor="system:test", template="reminder", channel="sms", context={"name": "张伟", "amount": "1.00"},
        idempotency_key=key, case=case, contact=False, not_before=timezone.now() - dt.timedelta(seconds=1),
    )


def test_the_command_sends_what_is_due_through_the_file_backend(cast) -> None:
    caches_clear()
    message = queue_code(cast.own_case, "cmd:1")
    out = StringIO()
    call_command("notify_dispatch", stdout=out)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert "backend file: 1 sent" in out.getvalue()


def test_the_task_gives_a_summary(cast, settings) -> None:
    settings.DOORSTEP_NOTIFY_BACKEND = "outbox"
    message = queue_code(cast.own_case, "task:1")
    summary = outbox_dispatch_task.call()
    message.refresh_from_db()
    assert message.status == MessageStatus.READY and summary["ready"] == 1 and "gateway" not in summary
