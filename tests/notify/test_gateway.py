"""The SMS gateway adapter against a fake gateway on localhost: retries on 5xx and timeouts with the same
idempotency key, gives up at once on 4xx, fails after the configured number of attempts."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest

from doorstep.compliance.services import caches_clear
from doorstep.core.crypto import decrypt_text
from doorstep.notify.gateway import GatewayConfig, gateway_deliver
from doorstep.notify.models import Message, MessageStatus
from doorstep.notify.services import message_queue, outbox_dispatch_run

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOON = dt.datetime(2031, 3, 4, 12, 0, tzinfo=SHANGHAI)


@dataclass
class FakeGateway:
    """Answers each POST with the next scripted status (then 200); remembers what it was sent."""

    script: list[int | str] = field(default_factory=list)
    received: list[dict] = field(default_factory=list)  # type: ignore[type-arg]
    delivered: dict[str, str] = field(default_factory=dict)
    url: str = ""


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    fake = FakeGateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            payload = json.loads(self.rfile.read(length))
            key = self.headers.get("Idempotency-Key", "")
            fake.received.append({"key": key, "payload": payload, "auth": self.headers.get("Authorization", "")})
            step = fake.script.pop(0) if fake.script else 200
            if step == "sleep":
                time.sleep(1.5)
                step = 200
            if step != 200:
                self.send_response(int(step))
                self.end_headers()
                self.wfile.write(b'{"error": "scripted"}')
                return
            # A real gateway sends a message once per idempotency key, however often it is posted.
            provider_id = fake.delivered.setdefault(key, f"gw-{len(fake.delivered) + 1}")
            body = json.dumps({"id": provider_id}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/sms"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _outbox_backend(settings) -> None:  # type: ignore[no-untyped-def]
    settings.DOORSTEP_NOTIFY_BACKEND = "outbox"
    caches_clear()


def config(fake: FakeGateway, **overrides: object) -> GatewayConfig:
    values: dict[str, object] = {"url": fake.url, "token": "s3cret", "timeout": 0.5, "max_attempts": 3,
                                 "backoff_seconds": 10}
    values.update(overrides)
    return GatewayConfig(**values)  # type: ignore[arg-type]


def ready_message(case, key: str = "notice:1") -> Message:  # type: ignore[no-untyped-def]
    message = message_queue(
        actor="system:test", template="reminder", channel="sms", context={"name": "张伟", "amount": "10.00"},
        idempotency_key=key, case=case, not_before=NOON,
    )
    assert outbox_dispatch_run(now=NOON).ready >= 1
    message.refresh_from_db()
    assert message.status == MessageStatus.READY
    return message


def test_a_ready_sms_is_posted_once_and_marked_sent(cast, gateway) -> None:
    message = ready_message(cast.own_case)
    run = gateway_deliver(config=config(gateway), now=NOON)
    assert (run.sent, run.retrying, run.failed) == (1, 0, 0)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.provider_id == "gw-1" and message.attempts == 1
    [call] = gateway.received
    assert call["payload"]["to"] == decrypt_text(message.recipient_encrypted)
    assert call["payload"]["text"] == message.body and call["auth"] == "Bearer s3cret"
    assert call["key"].startswith(f"doorstep-{message.pk}-") and "notice:1" not in call["key"]
    assert gateway_deliver(config=config(gateway), now=NOON + dt.timedelta(hours=1)).sent == 0
    assert len(gateway.received) == 1


def test_server_errors_are_retried_with_backoff_and_the_same_key(cast, gateway) -> None:
    gateway.script = [503, 500]
    message = ready_message(cast.own_case)
    first = gateway_deliver(config=config(gateway), now=NOON)
    assert first.retrying == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.READY and message.next_attempt_at == NOON + dt.timedelta(seconds=10)
    assert "503" in message.last_error
    # Not due again before the backoff has passed.
    assert gateway_deliver(config=config(gateway), now=NOON + dt.timedelta(seconds=9)).retrying == 0
    second = gateway_deliver(config=config(gateway), now=NOON + dt.timedelta(seconds=10))
    assert second.retrying == 1
    message.refresh_from_db()
    assert message.next_attempt_at == NOON + dt.timedelta(seconds=30)  # 10 s, then 20 s
    third = gateway_deliver(config=config(gateway), now=NOON + dt.timedelta(seconds=30))
    assert third.sent == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 3 and message.last_error == ""
    keys = {call["key"] for call in gateway.received}
    assert len(gateway.received) == 3 and len(keys) == 1


def test_a_timeout_is_retried_and_the_gateway_sends_the_message_only_once(cast, gateway) -> None:
    gateway.script = ["sleep"]  # the gateway takes the message but answers too late
    message = ready_message(cast.own_case)
    assert gateway_deliver(config=config(gateway), now=NOON).retrying == 1
    message.refresh_from_db()
    assert message.last_error == "timeout" or message.last_error.startswith("connection")
    time.sleep(1.2)  # let the slow answer finish
    assert gateway_deliver(config=config(gateway), now=NOON + dt.timedelta(minutes=1)).sent == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert len(gateway.delivered) == 1 and len(gateway.received) == 2


def test_a_refusal_4xx_is_not_retried(cast, gateway) -> None:
    gateway.script = [400]
    message = ready_message(cast.own_case)
    run = gateway_deliver(config=config(gateway), now=NOON)
    assert run.failed == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.attempts == 1 and "400" in message.last_error
    assert gateway_deliver(config=config(gateway), now=NOON + dt.timedelta(hours=1)).sent == 0
    assert len(gateway.received) == 1


def test_after_the_last_attempt_the_message_fails(cast, gateway) -> None:
    gateway.script = [502, 502, 502, 200]
    message = ready_message(cast.own_case)
    now = NOON
    for _ in range(3):
        gateway_deliver(config=config(gateway), now=now)
        now += dt.timedelta(hours=1)
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.attempts == 3
    assert gateway_deliver(config=config(gateway), now=now).sent == 0
    assert len(gateway.received) == 3


def test_an_unreachable_gateway_counts_as_a_retryable_failure(cast) -> None:
    message = ready_message(cast.own_case)
    run = gateway_deliver(config=GatewayConfig(url="http://127.0.0.1:9/sms", timeout=0.5, max_attempts=2), now=NOON)
    assert run.retrying == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.READY and message.last_error.startswith("connection")


def test_only_sms_are_posted_and_secret_codes_are_erased_after(cast, gateway) -> None:
    code = message_queue(
        actor="system:test", template="reminder", channel="sms", context={"name": "张伟", "amount": "1.00"},
        idempotency_key="code:1", case=cast.own_case, contact=False, secret=True, not_before=NOON,
    )
    letter = message_queue(
        actor="system:test", template="reminder", channel="letter", context={"name": "张伟", "amount": "1.00"},
        idempotency_key="letter:1", case=cast.own_case, not_before=NOON,
    )
    outbox_dispatch_run(now=NOON)
    assert gateway_deliver(config=config(gateway), now=NOON).sent == 1
    code.refresh_from_db()
    letter.refresh_from_db()
    assert code.status == MessageStatus.SENT and code.body == "—"
    assert "张伟" in gateway.received[0]["payload"]["text"]
    assert letter.status == MessageStatus.READY
