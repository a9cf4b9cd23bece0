"""The demo's messages: everything the other apps queued that is due now goes out through the file
backend, so each notice can be read under var/outbox/. Notices the gate holds for quiet hours wait."""

from __future__ import annotations

from django.db.models import Count, Min
from django.utils import timezone

from doorstep.core.demo import DemoContext
from doorstep.notify.backends import outbox_dir
from doorstep.notify.models import Message, MessageStatus
from doorstep.notify.services import outbox_dispatch_run

BATCH = 500


def demo_run(context: DemoContext) -> None:
    totals = {"sent": 0, "held": 0, "deferred": 0, "failed": 0}
    while True:
        result = outbox_dispatch_run(limit=BATCH, backend="file")
        for name in totals:
            totals[name] += getattr(result, name)
        if result.handled + result.deferred < BATCH:
            break
    by_status = dict(Message.objects.values_list("status").annotate(count=Count("id")).order_by())
    context.say(
        f"  {totals['sent']} messages written to {outbox_dir()}/, {totals['held']} held by the compliance gate; "
        "outbox now: " + (", ".join(f"{status} {count}" for status, count in sorted(by_status.items())) or "empty")
    )
    waiting = Message.objects.filter(status=MessageStatus.QUEUED).aggregate(first=Min("send_after"))["first"]
    if waiting is not None:
        local = timezone.localtime(waiting)
        context.say(
            f"  queued messages wait for their allowed time (the first at {local:%Y-%m-%d %H:%M %Z}); "
            "`doorstep notify-dispatch --loop 60` sends each when it is due"
        )
