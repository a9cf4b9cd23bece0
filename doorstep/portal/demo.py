"""The demo's way into the borrower portal: one link for a borrower with a visit coming up."""

from __future__ import annotations

from django.utils import timezone

from doorstep.core.crypto import decrypt_text
from doorstep.core.demo import DemoContext
from doorstep.notify.backends import outbox_dir
from doorstep.portal.links import portal_link
from doorstep.visits.models import Visit, VisitStatus


def demo_run(context: DemoContext) -> None:
    visit = (
        Visit.objects.filter(status=VisitStatus.SCHEDULED, window_start__gt=timezone.now())
        .select_related("borrower")
        .order_by("window_start", "pk")
        .first()
    )
    if visit is None:
        context.say("  no borrower has a visit coming up, so there is no portal link to show")
        return
    borrower = visit.borrower
    link = portal_link(borrower=borrower, purpose="demo", visit=visit)
    id_suffix = decrypt_text(borrower.national_id_encrypted)[-4:]
    start = visit.window_start.astimezone(borrower.zone)
    context.say(f"  Borrower portal for {borrower.name} (visit on {start:%Y-%m-%d %H:%M}, {borrower.zone.key}):")
    context.say(f"    {link}")
    context.say(
        f"    Open it on a phone, enter {id_suffix} (the last 4 characters of the demo borrower's ID number) and"
        " tap Send me a code;"
    )
    context.say(
        f"    the one-time code is then in the outbox: the newest *-sms-portal_code.txt file under {outbox_dir()}/"
        " (the file backend stands in for the phone)."
    )
