"""Visits and complaints for the feedback tests."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.core.files.uploadedfile import SimpleUploadedFile

from doorstep.collectors.models import Collector
from doorstep.feedback import services
from doorstep.feedback.models import Complaint
from doorstep.portfolio.models import Case
from doorstep.visits.models import Visit, VisitStatus

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def make_visit(
    case: Case, collector: Collector, *, status: str = VisitStatus.COMPLETED, start: str = "2026-11-20T10:00"
) -> Visit:
    window_start = local(start)
    return Visit.objects.create(
        case=case, borrower=case.borrower, status=status, purpose="上门沟通还款", window_start=window_start,
        window_end=window_start + dt.timedelta(hours=1), collector=collector, created_by_label="test",
        checked_in_at=window_start if status in (VisitStatus.CHECKED_IN, VisitStatus.COMPLETED) else None,
    )


def photo(name: str = "门口.jpg", content: bytes = b"\xff\xd8\xff\xe0 a photo") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/jpeg")


def file_complaint(
    case: Case, *, category: str = "threat_insult", visit: Visit | None = None, channel: str = "portal",
    received_at: dt.datetime | None = None, actor: object = None,
) -> Complaint:
    return services.complaint_file(
        actor=actor or f"borrower:{case.borrower_id}", borrower=case.borrower, category=category,
        text="催收员在门口大声辱骂，邻居都听到了。", channel=channel, case=case, visit=visit,
        received_at=received_at,
    )
