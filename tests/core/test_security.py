"""The security baseline, checked from the outside: every URL, the headers, the settings, login, personal data.

The URL sweep walks `doorstep.urls` itself, so a view added later is swept without anyone listing it here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from itertools import product
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from doorstep.core.crypto import decrypt_text, lookup_hash
from doorstep.core.models import AuditEvent
from doorstep.portfolio.models import Borrower, Case
from doorstep.portfolio.services import borrower_reveal
from tests import factories
from tests.conftest import Cast

# --- walking every URL ------------------------------------------------------------------------------------

ROUTE_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>[^()]*)\)")
CASE_PARAMETERS = {"case_id", "id", "pk", "object_id"}


@dataclass(frozen=True)
class Endpoint:
    route: str  # the pattern as written, for messages
    path: str  # a concrete path with the given values filled in
    names: frozenset[str]  # parameter names in the pattern


def _leaf_patterns(patterns: list[Any], prefix: str = "") -> list[tuple[str, list[str]]]:
    """Every leaf pattern as (prefix + own pattern text, [pattern kinds along the way])."""
    found: list[tuple[str, list[str]]] = []
    for pattern in patterns:
        text = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += _leaf_patterns(pattern.url_patterns, text)
        elif isinstance(pattern, URLPattern):
            found.append((text, []))
    return found


def _fill(route: str, values: dict[str, str]) -> str | None:
    """Turn the pattern text into a path using `values`; None if a regex group cannot take any of them."""

    def route_value(match: re.Match[str]) -> str:
        return values[match["name"]]

    def regex_value(match: re.Match[str]) -> str:
        body = match["body"]
        value = values.get(match["name"], "x")
        if re.fullmatch(body, value):
            return value
        for alternative in body.split("|"):
            if re.fullmatch(r"[\w-]+", alternative):
                return alternative
        raise KeyError(match["name"])

    try:
        path = ROUTE_PARAMETER.sub(route_value, route)
        path = REGEX_GROUP.sub(regex_value, path)
    except KeyError:
        return None
    path = path.replace("^", "").replace("$", "")
    return "/" + path


def every_endpoint(value_pools: dict[str, list[str]]) -> list[Endpoint]:
    endpoints = []
    for route, _kinds in _leaf_patterns(get_resolver().url_patterns):
        converters = {m["name"]: m["converter"] for m in ROUTE_PARAMETER.finditer(route)}
        names = list(converters) + [m["name"] for m in REGEX_GROUP.finditer(route)]
        pools = [
            # The same name can take another type elsewhere (a task's UUID, a follow-up task's number).
            [value for value in value_pools.get(name, value_pools["*"]) if converters.get(name) != "int" or value.isdigit()]
            or value_pools["*"]
            for name in names
        ]
        for combination in product(*pools):
            path = _fill(route, dict(zip(names, combination, strict=True)))
            assert path is not None, f"cannot build a path for {route}"
            resolve(path.split("?")[0])  # the sweep must reach the view, not a 404 from the resolver
            endpoints.append(Endpoint(route, path, frozenset(names)))
    return endpoints


def pools_for(hidden_cases: list[Case], task_id: str) -> dict[str, list[str]]:
    case_ids = [str(case.pk) for case in hidden_cases]
    return {
        **{name: case_ids for name in CASE_PARAMETERS},
        "field": ["national_id", "phone"],
        "result_id": [task_id],
        "task_id": [task_id],
        "content_type_id": [str(ContentType.objects.get_for_model(Case).pk)],
        "app_label": ["auth"],
        "url": ["portfolio/case/"],
        "path": ["core/doorstep.css"],
        "*": ["1"],
    }


def secrets_of(cases: list[Case]) -> list[str]:
    """What must never reach someone who may not see these cases."""
    found = []
    for case in cases:
        borrower = Borrower.objects.get(pk=case.borrower_id)
        found += [
            borrower.name,
            borrower.customer_id,
            borrower.national_id_masked,
            borrower.phone_masked,
            decrypt_text(borrower.national_id_encrypted),
            decrypt_text(borrower.phone_encrypted),
            *case.loans.values_list("loan_id", flat=True),
        ]
    return found


def readable_body(response: Any) -> str:
    if response.get("Content-Type", "").startswith("application/json"):
        return json.dumps(response.json(), ensure_ascii=False)
    return getattr(response, "content", b"").decode(errors="replace")


def queued_task_id(cast: Cast, settings: Any, tmp_path: Any) -> str:
    """A real snapshot task sent by the manager, so the status pages are swept with an id that exists."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from doorstep.portfolio.uploads import snapshot_upload

    settings.DOORSTEP_UPLOAD_DIR = tmp_path
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    return snapshot_upload(actor=cast.manager, upload=SimpleUploadedFile("s.csv", b"snapshot_date\n"))


def request(client: Client, method: str, endpoint: Endpoint) -> Any:
    if method == "get":
        return client.get(endpoint.path)
    if endpoint.path.startswith("/api/"):
        return client.post(
            endpoint.path, json.dumps({"field": "national_id"}), content_type="application/json"
        )
    return client.post(endpoint.path, {"field": "national_id", "status": "closed", "reason": "x"})


def sweep(user: Any, hidden: list[Case], task_id: str) -> list[str]:
    problems = []
    secrets = secrets_of(hidden)
    for endpoint in every_endpoint(pools_for(hidden, task_id)):
        for method in ("get", "post"):
            client = Client()
            client.force_login(user)
            response = request(client, method, endpoint)
            status = response.status_code
            where = f"{method.upper()} {endpoint.path} ({endpoint.route}) -> {status}"
            if status >= 500:
                problems.append(f"{where}: server error")
                continue
            if endpoint.names & {"case_id"} and status not in (403, 404, 405):
                problems.append(f"{where}: a case outside the caller's scope must answer 403/404")
            if 200 <= status < 300:
                leaked = [secret for secret in secrets if secret and secret in readable_body(response)]
                if leaked:
                    problems.append(f"{where}: shows {leaked}")
    return problems


def test_an_outsider_gets_nothing_from_any_url(cast: Cast, settings: Any, tmp_path: Any) -> None:
    task_id = queued_task_id(cast, settings, tmp_path)
    everything = [cast.own_case, cast.colleagues_case, cast.other_team_case]
    assert sweep(cast.outsider, everything, task_id) == []


def test_a_collector_gets_nothing_of_other_collectors_from_any_url(
    cast: Cast, settings: Any, tmp_path: Any
) -> None:
    task_id = queued_task_id(cast, settings, tmp_path)
    assert sweep(cast.collector_user, [cast.colleagues_case, cast.other_team_case], task_id) == []


# Pages that anyone may open: logging in and out, choosing a language, static files.
PUBLIC_ROUTES = {
    "login/",
    "logout/",
    "admin/login/",
    "admin/logout/",
    "i18n/setlang/",
    "^static/(?P<path>.*)$",
}


# The borrower portal is public by design: a signed link and a second factor guard it (tests/portal).
PUBLIC_PREFIXES = ("portal/",)


def test_anonymous_visitors_are_sent_to_log_in(cast: Cast) -> None:
    problems = []
    everything = [cast.own_case, cast.colleagues_case, cast.other_team_case]
    secrets = secrets_of(everything)
    for endpoint in every_endpoint(pools_for(everything, "0" * 32)):
        for method in ("get", "post"):
            response = request(Client(), method, endpoint)
            status = response.status_code
            where = f"{method.upper()} {endpoint.path} -> {status}"
            leaked = [s for s in secrets if s in readable_body(response)]
            if leaked:
                problems.append(f"{where}: shows {leaked}")
            if endpoint.route in PUBLIC_ROUTES or endpoint.route.startswith(PUBLIC_PREFIXES) or status in (404, 405):
                continue
            if endpoint.path.startswith("/api/") and endpoint.route not in {"api/docs", "api/openapi.json"}:
                if status != 401:
                    problems.append(f"{where}: the API answers 401 to anonymous callers")
            elif status != 302 or "login" not in response["Location"]:
                problems.append(f"{where}: should redirect to the login page")
    assert problems == []


def test_the_sweep_really_reaches_the_case_views(cast: Cast) -> None:
    """Guards the sweep itself: a manager, who may see everything, does get the case pages."""
    hidden = [cast.own_case]
    endpoints = [e for e in every_endpoint(pools_for(hidden, "x")) if "case_id" in e.names]
    assert {e.route for e in endpoints} >= {"cases/<int:case_id>/", "api/cases/<int:case_id>"}
    client = Client()
    client.force_login(cast.manager)
    page = client.get(f"/api/cases/{cast.own_case.pk}")
    assert page.status_code == 200
    assert cast.own_case.borrower.name in readable_body(page)


# --- headers and cookies ----------------------------------------------------------------------------------


def test_a_normal_page_carries_the_security_headers(cast: Cast) -> None:
    response = Client().get("/login/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_session_and_csrf_cookies_are_http_only_and_same_site(cast: Cast) -> None:
    client = Client()
    client.get("/login/")
    csrf = client.cookies["csrftoken"]
    assert csrf["httponly"] and csrf["samesite"] == "Lax"
    response = client.post("/login/", {"username": "manager", "password": "correct-horse-battery"})
    assert response.status_code == 302
    session = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert session["httponly"] and session["samesite"] == "Lax"
    assert not session["secure"]  # development runs over plain HTTP


def _settings_in_a_fresh_process(environment: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DOORSTEP_")}
    env.update({"DJANGO_SETTINGS_MODULE": "doorstep.settings", **environment})
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False
    )


SETUP = "import django; django.setup()"
PRODUCTION_SECRET = "p" * 20 + "-a-long-random-production-secret"
FIELD_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  # base64 of 32 bytes


def test_production_refuses_the_development_secret() -> None:
    result = _settings_in_a_fresh_process({"DOORSTEP_PRODUCTION": "1"}, SETUP)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "DOORSTEP_SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_the_field_key() -> None:
    result = _settings_in_a_fresh_process(
        {"DOORSTEP_PRODUCTION": "1", "DOORSTEP_SECRET_KEY": PRODUCTION_SECRET}, SETUP
    )
    assert result.returncode != 0
    assert "DOORSTEP_FIELD_ENCRYPTION_KEY" in result.stderr


def test_production_refuses_debug() -> None:
    result = _settings_in_a_fresh_process(
        {
            "DOORSTEP_PRODUCTION": "1",
            "DOORSTEP_SECRET_KEY": PRODUCTION_SECRET,
            "DOORSTEP_FIELD_ENCRYPTION_KEY": FIELD_KEY,
            "DOORSTEP_DEBUG": "1",
        },
        SETUP,
    )
    assert result.returncode != 0 and "DOORSTEP_DEBUG" in result.stderr


PRODUCTION_FLAGS = (
    SETUP + "; from django.conf import settings as s; import json; print(json.dumps({"
    "'debug': s.DEBUG, 'session_secure': s.SESSION_COOKIE_SECURE, 'csrf_secure': s.CSRF_COOKIE_SECURE,"
    "'hsts': s.SECURE_HSTS_SECONDS, 'hsts_subdomains': s.SECURE_HSTS_INCLUDE_SUBDOMAINS,"
    "'ssl_redirect': s.SECURE_SSL_REDIRECT}))"
)


def test_production_starts_with_proper_values_and_turns_on_https_only_settings() -> None:
    result = _settings_in_a_fresh_process(
        {
            "DOORSTEP_PRODUCTION": "1",
            "DOORSTEP_SECRET_KEY": PRODUCTION_SECRET,
            "DOORSTEP_FIELD_ENCRYPTION_KEY": FIELD_KEY,
        },
        PRODUCTION_FLAGS,
    )
    assert result.returncode == 0, result.stderr
    flags = json.loads(result.stdout.strip().splitlines()[-1])
    assert flags == {
        "debug": False,
        "session_secure": True,
        "csrf_secure": True,
        "hsts": 31536000,
        "hsts_subdomains": True,
        "ssl_redirect": True,
    }


def test_in_production_mode_cookies_are_secure_and_hsts_is_sent(cast: Cast, settings: Any) -> None:
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_SSL_REDIRECT = True

    plain = Client().get("/login/")
    assert plain.status_code == 301 and plain["Location"].startswith("https://")

    client = Client()
    page = client.get("/login/", secure=True)
    assert page["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert client.cookies["csrftoken"]["secure"]
    response = client.post(
        "/login/", {"username": "manager", "password": "correct-horse-battery"}, secure=True
    )
    assert response.cookies[django_settings.SESSION_COOKIE_NAME]["secure"]


# --- login --------------------------------------------------------------------------------------------------


def _logged_in(client: Client) -> bool:
    return (
        django_settings.SESSION_COOKIE_NAME in client.cookies and client.get("/api/cases").status_code == 200
    )


def test_five_wrong_passwords_lock_the_username(cast: Cast, settings: Any) -> None:
    settings.LOGIN_MAX_FAILURES = 5
    for attempt in range(5):
        client = Client(REMOTE_ADDR=f"10.1.0.{attempt}")  # different addresses: the username itself locks
        client.post("/login/", {"username": "manager", "password": f"wrong-{attempt}"})
        assert not _logged_in(client)
    assert AuditEvent.objects.filter(action="core.login.failed").count() == 5

    client = Client(REMOTE_ADDR="10.1.0.99")
    response = client.post("/login/", {"username": "manager", "password": "correct-horse-battery"})
    assert response.status_code == 200
    assert not _logged_in(client)
    locked = AuditEvent.objects.get(action="core.login.locked")
    assert locked.data["username"] == "manager" and locked.ip_address == "10.1.0.99"
    assert not AuditEvent.objects.filter(action="core.login.succeeded").exists()

    # Another user is not locked out by the manager's lock.
    other = Client(REMOTE_ADDR="10.1.0.100")
    assert other.post("/login/", {"username": "lead", "password": "correct-horse-battery"}).status_code == 302


def test_a_good_login_is_audited(cast: Cast) -> None:
    client = Client(HTTP_USER_AGENT="DoorstepTest/1.0")
    assert (
        client.post("/login/", {"username": "lead", "password": "correct-horse-battery"}).status_code == 302
    )
    event = AuditEvent.objects.get(action="core.login.succeeded")
    assert event.actor == cast.supervisor and event.user_agent == "DoorstepTest/1.0"


def test_login_needs_the_csrf_token(cast: Cast) -> None:
    client = Client(enforce_csrf_checks=True)
    credentials = {"username": "manager", "password": "correct-horse-battery"}
    assert client.post("/login/", credentials).status_code == 403
    client.get("/login/")
    credentials["csrfmiddlewaretoken"] = client.cookies["csrftoken"].value
    assert client.post("/login/", credentials).status_code == 302


def test_the_reveal_endpoint_needs_the_csrf_token_with_a_session(cast: Cast) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.manager)
    url = f"/api/cases/{cast.own_case.pk}/reveal"
    body = json.dumps({"field": "national_id"})
    assert client.post(url, body, content_type="application/json").status_code == 403
    assert not AuditEvent.objects.filter(action__startswith="portfolio.borrower.revealed").exists()


# --- personal data ----------------------------------------------------------------------------------------

NATIONAL_ID = "110101199003071234"
PHONE = "13812345678"


@pytest.fixture
def known_borrower(cast: Cast) -> Borrower:
    first = NATIONAL_ID[:17]
    from doorstep.core.identity import cn_check_character

    national_id = first + cn_check_character(first)
    borrower = factories.make_borrower("黄磊", national_id=national_id, phone=PHONE)
    case = factories.make_case(borrower)
    factories.assign(case, cast.team, cast.collector)
    return borrower


def test_the_database_holds_no_plaintext_id_or_phone(known_borrower: Borrower) -> None:
    national_id = decrypt_text(known_borrower.national_id_encrypted)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM portfolio_borrower WHERE id = %s", [known_borrower.pk])
        row = [str(value) for value in cursor.fetchone()]
    raw = " ".join(row)
    assert national_id not in raw and PHONE not in raw
    assert national_id[6:14] not in raw  # not even the birth date inside the ID
    assert known_borrower.national_id_masked in row and known_borrower.phone_masked in row


def test_lookup_by_keyed_hash_finds_the_borrower(known_borrower: Borrower) -> None:
    import hashlib

    national_id = decrypt_text(known_borrower.national_id_encrypted)
    assert Borrower.objects.get(national_id_hash=lookup_hash(national_id)) == known_borrower
    assert Borrower.objects.get(phone_hash=lookup_hash(f" {PHONE} ")) == known_borrower
    # Keyed: an unkeyed hash of the number (what an attacker can compute) is not what is stored.
    assert known_borrower.phone_hash not in {
        hashlib.sha256(PHONE.encode()).hexdigest()[:32],
        hashlib.md5(PHONE.encode()).hexdigest(),  # noqa: S324
        hashlib.blake2b(PHONE.encode(), digest_size=16).hexdigest(),
    }


def test_personal_data_is_masked_on_screen(known_borrower: Borrower, cast: Cast) -> None:
    assert (
        known_borrower.national_id_masked
        == "110101********" + decrypt_text(known_borrower.national_id_encrypted)[-4:]
    )
    assert known_borrower.phone_masked == "138****5678"
    client = Client()
    client.force_login(cast.collector_user)
    case = known_borrower.cases.get()
    for url in (f"/cases/{case.pk}/", f"/api/cases/{case.pk}"):
        body = readable_body(client.get(url))
        assert "138****5678" in body
        assert PHONE not in body and decrypt_text(known_borrower.national_id_encrypted) not in body


def test_reveal_needs_the_permission_and_writes_an_audit_entry(known_borrower: Borrower, cast: Cast) -> None:
    case = known_borrower.cases.get()
    with pytest.raises(PermissionDenied):
        borrower_reveal(actor=cast.compliance, case_id=case.pk, field="phone")
    with pytest.raises(Http404):
        borrower_reveal(actor=cast.other_collector_user, case_id=case.pk, field="phone")
    assert not AuditEvent.objects.filter(action__startswith="portfolio.borrower.revealed").exists()

    assert borrower_reveal(actor=cast.collector_user, case_id=case.pk, field="phone") == PHONE
    event = AuditEvent.objects.get(action="portfolio.borrower.revealed_phone")
    assert event.actor == cast.collector_user
    assert (event.object_type, event.object_id) == ("portfolio.borrower", str(known_borrower.pk))
    assert PHONE not in json.dumps(event.data)


# --- the API docs in a real browser -----------------------------------------------------------------------


CHROMIUM = "/usr/bin/chromium"


def _read_docs_in_a_browser(base_url: str) -> tuple[str, list[str], list[str]]:
    """Log in and open /api/docs with every other host blocked; return the title, blocked URLs and CSP reports."""
    from playwright.sync_api import sync_playwright

    outside_requests: list[str] = []
    violations: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()

            def only_our_server(route: Any) -> None:
                if route.request.url.startswith(base_url):
                    route.continue_()
                else:
                    outside_requests.append(route.request.url)
                    route.abort()

            def csp_reports(message: Any) -> None:
                if "Content Security Policy" in message.text:
                    violations.append(message.text)

            page.route("**/*", only_our_server)
            page.on("console", csp_reports)
            page.goto(f"{base_url}/login/?next=/api/docs")
            page.fill("#id_username", "docs-reader")
            page.fill("#id_password", "correct-horse-battery")
            page.press("#id_password", "Enter")
            page.wait_for_url(f"{base_url}/api/docs")
            page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
            page.wait_for_selector('.opblock-summary-path[data-path="/api/cases"]', timeout=30_000)
            title = page.inner_text(".swagger-ui .info .title")
        finally:
            browser.close()
    return title, outside_requests, violations


@pytest.mark.browser
def test_the_api_docs_render_offline_under_the_content_security_policy(
    live_server: Any, transactional_db: None
) -> None:
    """Swagger UI comes from our own static files: with every other host blocked, the page still renders,
    and the browser reports no CSP violation."""
    from concurrent.futures import ThreadPoolExecutor

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    factories.make_user("docs-reader", first_name="读者")
    # Playwright's sync API refuses to run where an event loop is already running (another browser
    # test's session may hold one), so the browser is driven from a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        title, outside_requests, violations = pool.submit(_read_docs_in_a_browser, live_server.url).result()
    assert "Doorstep API" in title
    assert outside_requests == []
    assert violations == []
