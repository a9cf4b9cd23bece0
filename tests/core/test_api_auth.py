"""API tokens: issued once, stored as a hash, refused when revoked, and not guessable at speed."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.test import Client

from doorstep.core.models import ApiToken, AuditEvent
from doorstep.core.roles import Role
from doorstep.core.services import api_token_create, api_token_revoke
from tests import factories
from tests.conftest import Cast


def cases_with(raw: str, address: str = "10.0.0.1") -> int:
    return (
        Client(REMOTE_ADDR=address).get("/api/cases", headers={"Authorization": f"Bearer {raw}"}).status_code
    )


def test_a_token_is_shown_once_and_only_its_hash_is_kept(cast: Cast) -> None:
    token, raw = api_token_create(actor="system:test", user=cast.manager, name="core banking feed")
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {stored.key_hash, stored.prefix, stored.name}
    assert raw.startswith(stored.prefix) and len(raw) == 43 and raw.isalnum()
    event = AuditEvent.objects.get(action="core.api_token.created")
    assert event.object_id == str(token.pk) and raw not in str(event.data)


def test_a_token_authenticates_as_its_user_and_marks_its_use(cast: Cast) -> None:
    token, raw = api_token_create(actor="system:test", user=cast.collector_user, name="mobile app")
    assert token.last_used_at is None
    response = Client().get("/api/cases", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["items"]] == [cast.own_case.pk]
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_revoked_token_is_refused(cast: Cast) -> None:
    token, raw = api_token_create(actor="system:test", user=cast.manager, name="feed")
    assert cases_with(raw) == 200
    api_token_revoke(actor=cast.manager, token=token)
    assert cases_with(raw) == 401
    assert AuditEvent.objects.filter(action="core.api_token.revoked", object_id=str(token.pk)).exists()
    with pytest.raises(ValidationError):
        api_token_revoke(actor=cast.manager, token=token)


def test_a_deactivated_users_token_is_refused(cast: Cast) -> None:
    _token, raw = api_token_create(actor="system:test", user=cast.manager, name="feed")
    cast.manager.is_active = False
    cast.manager.save(update_fields=["is_active"])
    assert cases_with(raw) == 401


def test_only_token_administrators_and_the_server_command_issue_tokens(cast: Cast) -> None:
    with pytest.raises(PermissionDenied):
        api_token_create(actor=cast.manager, user=cast.manager, name="my own")
    admin = factories.make_user("admin", Role.ADMIN)
    token, _raw = api_token_create(actor=admin, user=cast.manager, name="feed")
    assert token.user == cast.manager
    with pytest.raises(PermissionDenied):
        api_token_revoke(actor=cast.collector_user, token=token)
    assert not ApiToken.objects.filter(user=cast.collector_user).exists()


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_token_needs_a_sensible_name(cast: Cast, name: str) -> None:
    with pytest.raises(ValidationError):
        api_token_create(actor="system:test", user=cast.manager, name=name)
    assert not ApiToken.objects.exists()


def test_guessing_tokens_locks_the_address_out(cast: Cast, settings) -> None:  # type: ignore[no-untyped-def]
    settings.API_AUTH_MAX_FAILURES = 3
    _token, raw = api_token_create(actor="system:test", user=cast.manager, name="feed")
    for guess in range(3):
        assert cases_with(f"guess-{guess}") == 401
    assert AuditEvent.objects.filter(action="core.api_token.refused").count() == 3
    # Locked: even the right token is refused from that address for a while, and no more entries pile up.
    assert cases_with(raw) == 429
    assert AuditEvent.objects.filter(action="core.api_token.refused").count() == 3
    assert cases_with(raw, address="10.0.0.2") == 200


def test_the_command_prints_the_token_once_and_revokes_by_prefix(cast: Cast) -> None:
    out = io.StringIO()
    call_command("api_token", "manager", name="core banking feed", stdout=out, stderr=io.StringIO())
    raw = out.getvalue().strip()
    assert cases_with(raw) == 200
    token = ApiToken.objects.get(user=cast.manager)
    assert token.name == "core banking feed"

    out = io.StringIO()
    call_command("api_token", "manager", revoke=token.prefix, stdout=out)
    assert "Revoked" in out.getvalue()
    assert cases_with(raw) == 401


@pytest.mark.parametrize(
    ("args", "options"),
    [
        (["nobody"], {"name": "feed"}),
        (["manager"], {}),
        (["manager"], {"revoke": "zzzzzzzz"}),
        (["manager"], {"name": " "}),
    ],
)
def test_the_command_explains_what_is_wrong(cast: Cast, args: list[str], options: dict[str, str]) -> None:
    with pytest.raises(CommandError):
        call_command("api_token", *args, stdout=io.StringIO(), stderr=io.StringIO(), **options)
    assert not ApiToken.objects.exists()


def test_the_docs_are_for_logged_in_users_and_load_nothing_from_a_cdn(cast: Cast) -> None:
    from django.contrib.staticfiles import finders

    anonymous = Client().get("/api/docs")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert Client().get("/api/openapi.json").status_code == 302

    client = Client()
    client.force_login(cast.collector_user)
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "/static/ninja/swagger-ui.css" in html
    # No absolute address at all, so nothing can come from a CDN (a random token may spell "cdn").
    assert "https://" not in html and "http://" not in html and 'src="//' not in html
    assert finders.find("ninja/swagger-ui-bundle.js")
    assert finders.find("ninja/swagger-ui-init.js")
    assert "script-src 'self'" in page["Content-Security-Policy"]


def test_a_system_with_a_token_may_read_the_schema(cast: Cast) -> None:
    _token, raw = api_token_create(actor="system:test", user=cast.manager, name="feed")
    schema = Client().get("/api/openapi.json", headers={"Authorization": f"Bearer {raw}"})
    assert schema.status_code == 200 and schema.json()["info"]["title"] == "Doorstep API"
    refused = Client().get("/api/openapi.json", headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401 and refused.json()["detail"]
