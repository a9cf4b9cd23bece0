from __future__ import annotations

import datetime as dt

from doorstep.collectors.models import ReviewFlag
from doorstep.core.demo import DemoContext
from doorstep.feedback.demo import demo_run
from doorstep.feedback.models import Complaint, ComplaintStatus, VisitRating
from tests import factories
from tests.conftest import Cast


def test_the_demo_adds_complaints_at_every_step_once(cast: Cast, django_capture_on_commit_callbacks) -> None:
    factories.make_user("compliance", factories.Role.COMPLIANCE)
    for number in range(12):
        case = factories.make_case(factories.make_borrower(f"借款人{number}"))
        factories.assign(case, cast.team, cast.collector if number % 2 else cast.other_collector)
    context = DemoContext(snapshot_date=dt.date(2026, 11, 27), accounts=14, seed=1, admin=cast.manager,
                          manager=cast.manager, say=lambda text: None)
    with django_capture_on_commit_callbacks(execute=True):
        demo_run(context)
    statuses = set(Complaint.objects.values_list("status", flat=True))
    assert statuses == {s.value for s in ComplaintStatus}
    assert Complaint.objects.filter(acknowledge_breached_at__isnull=False).count() == 1
    assert Complaint.objects.filter(outcome="upheld", category="threat_insult").count() == 1
    assert ReviewFlag.objects.filter(source="complaint").count() == 1
    counts = (Complaint.objects.count(), VisitRating.objects.count())
    demo_run(context)
    assert (Complaint.objects.count(), VisitRating.objects.count()) == counts
