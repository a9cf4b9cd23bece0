"""The audit trail: who did what, from where; and once written, never changed or removed."""

from __future__ import annotations

import json

import pytest
from django.db import transaction
from django.test import Client

from doorstep.core.audit import audit_record
from doorstep.core.context import RequestOrigin, current_origin
from doorstep.core.models import AppendOnlyError, AuditEvent
from tests.conftest import Cast


def test_an_entry_names_the_user_the_record_and_the_details(cast: Cast) -> None:
    event = audit_record(
        actor=cast.manager, action="portfolio.case.closed", target=cast.own_case, data={"x": 1}
    )
    assert event.actor == cast.manager and event.actor_label == "manager"
    assert (event.object_type, event.object_id) == ("portfolio.case", str(cast.own_case.pk))
    assert event.data == {"x": 1}
    assert event.at is not None and event.at.tzinfo is not None


@pytest.mark.parametrize(
    ("actor", "label"), [(None, "system"), ("system:import", "system:import"), ("anonymous", "anonymous")]
)
def test_an_entry_without_a_user_says_who_acted(db: None, actor: str | None, label: str) -> None:
    event = audit_record(actor=actor, action="core.test.done", object_type="core.thing", object_id=7)
    assert event.actor is None and event.actor_label == label and event.object_id == "7"


def test_an_anonymous_user_object_is_recorded_as_anonymous(db: None) -> None:
    from django.contrib.auth.models import AnonymousUser

    event = audit_record(actor=AnonymousUser(), action="core.test.done")
    assert event.actor is None and event.actor_label == "anonymous"


def test_an_entry_written_during_a_request_says_where_it_came_from(cast: Cast) -> None:
    client = Client(REMOTE_ADDR="192.0.2.10", HTTP_USER_AGENT="FieldApp/2.3")
    client.force_login(cast.collector_user)
    response = client.post(
        f"/api/cases/{cast.own_case.pk}/reveal",
        json.dumps({"field": "phone"}),
        content_type="application/json",
    )
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="portfolio.borrower.revealed_phone")
    assert event.ip_address == "192.0.2.10" and event.user_agent == "FieldApp/2.3"


def test_outside_a_request_there_is_no_origin_and_the_origin_does_not_leak(db: None) -> None:
    token = current_origin.set(RequestOrigin("198.51.100.7", "worker"))
    try:
        inside = audit_record(actor=None, action="core.test.inside")
    finally:
        current_origin.reset(token)
    outside = audit_record(actor=None, action="core.test.outside")
    assert inside.ip_address == "198.51.100.7" and inside.user_agent == "worker"
    assert outside.ip_address is None and outside.user_agent == ""


def test_an_entry_cannot_be_changed(db: None) -> None:
    event = audit_record(actor=None, action="core.test.done")
    event.action = "core.test.undone"
    with pytest.raises(AppendOnlyError):
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).action == "core.test.done"


def test_an_entry_cannot_be_deleted(db: None) -> None:
    event = audit_record(actor=None, action="core.test.done")
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_trail_cannot_be_changed_or_deleted_in_bulk(db: None) -> None:
    first = audit_record(actor=None, action="core.test.one")
    audit_record(actor=None, action="core.test.two")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(action="core.test.one").update(action="core.test.other")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(action__startswith="core.test").delete()
    first.action = "core.test.rewritten"
    # bulk_update runs its own atomic block; the savepoint keeps the test's transaction usable.
    with pytest.raises(AppendOnlyError), transaction.atomic():
        AuditEvent.objects.bulk_update([first], ["action"])
    assert sorted(AuditEvent.objects.values_list("action", flat=True)) == ["core.test.one", "core.test.two"]


def test_the_trail_reads_newest_first(db: None) -> None:
    for number in range(3):
        audit_record(actor=None, action=f"core.test.{number}")
    assert list(AuditEvent.objects.values_list("action", flat=True)) == [
        "core.test.2",
        "core.test.1",
        "core.test.0",
    ]
