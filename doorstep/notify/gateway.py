"""The HTTP SMS gateway adapter: sends the outbox's ready SMS to the bank's gateway.

Each message is POSTed as JSON with an `Idempotency-Key` header that stays the same on every attempt, so
the gateway sends it once however often we retry. A 2xx answer marks it sent; a 5xx answer, a timeout or
a broken connection schedules another attempt with exponential backoff; a 4xx answer (the gateway refuses
the message itself) fails it at once; after `max_attempts` attempts it fails for good.

Settings (read with defaults): DOORSTEP_SMS_GATEWAY_URL (none: no gateway), DOORSTEP_SMS_GATEWAY_TOKEN,
DOORSTEP_SMS_GATEWAY_TIMEOUT (seconds, 10), DOORSTEP_SMS_GATEWAY_MAX_ATTEMPTS (5),
DOORSTEP_SMS_GATEWAY_BACKOFF (seconds before the second attempt, doubling after; 30),
DOORSTEP_SMS_GATEWAY_SENDER (the sender name shown on the phone).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from doorstep.core.crypto import decrypt_text
from doorstep.notify.models import Message, MessageChannel, MessageStatus
from doorstep.notify.services import message_mark_failed, message_mark_sent

logger = logging.getLogger(__name__)

# A claimed message is not picked up by another worker for this long (a crashed worker's claim expires).
CLAIM_SECONDS = 120
MAX_BACKOFF = dt.timedelta(hours=6)


@dataclass(frozen=True)
class GatewayConfig:
    url: str
    token: str = ""
    timeout: float = 10.0
    max_attempts: int = 5
    backoff_seconds: float = 30.0
    sender: str = ""


@dataclass(frozen=True)
class GatewayAnswer:
    ok: bool
    retry: bool
    status: int | None
    provider_id: str = ""
    error: str = ""


@dataclass
class GatewayRun:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def gateway_config() -> GatewayConfig | None:
    url = getattr(settings, "DOORSTEP_SMS_GATEWAY_URL", "")
    if not url:
        return None
    return GatewayConfig(
        url=url,
        token=getattr(settings, "DOORSTEP_SMS_GATEWAY_TOKEN", ""),
        timeout=float(getattr(settings, "DOORSTEP_SMS_GATEWAY_TIMEOUT", 10)),
        max_attempts=int(getattr(settings, "DOORSTEP_SMS_GATEWAY_MAX_ATTEMPTS", 5)),
        backoff_seconds=float(getattr(settings, "DOORSTEP_SMS_GATEWAY_BACKOFF", 30)),
        sender=str(getattr(settings, "DOORSTEP_SMS_GATEWAY_SENDER", "")),
    )


def idempotency_header(message: Message) -> str:
    """Stable for one message across attempts and workers, and reveals nothing of the caller's key."""
    digest = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]
    return f"doorstep-{message.pk}-{digest}"


def gateway_post(config: GatewayConfig, message: Message) -> GatewayAnswer:
    payload = {
        "to": decrypt_text(message.recipient_encrypted),
        "text": message.body,
        "reference": str(message.pk),
        "sender": config.sender,
    }
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Accept": "application/json",
        "Idempotency-Key": idempotency_header(message),
    }
    if config.token:
        headers["Authorization"] = f"Bearer {config.token}"
    if not config.url.startswith(("http://", "https://")):
        raise ValueError("DOORSTEP_SMS_GATEWAY_URL must be an http:// or https:// URL")
    request = urllib.request.Request(  # noqa: S310 -- the scheme is checked above
        config.url, data=json.dumps(payload, ensure_ascii=False).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=config.timeout) as response:  # noqa: S310 -- the scheme is checked above
            raw = response.read(64 * 1024)
            status = response.status
    except urllib.error.HTTPError as error:
        retry = error.code >= 500 or error.code == 429
        return GatewayAnswer(ok=False, retry=retry, status=error.code, error=f"HTTP {error.code}")
    except TimeoutError:
        return GatewayAnswer(ok=False, retry=True, status=None, error="timeout")
    except urllib.error.URLError as error:
        return GatewayAnswer(ok=False, retry=True, status=None, error=f"connection: {error.reason}"[:200])
    except OSError as error:
        return GatewayAnswer(ok=False, retry=True, status=None, error=f"connection: {error}"[:200])
    provider_id = ""
    try:
        answer = json.loads(raw or b"{}")
        if isinstance(answer, dict):
            provider_id = str(answer.get("id") or answer.get("message_id") or "")
    except ValueError:
        pass
    return GatewayAnswer(ok=True, retry=False, status=status, provider_id=provider_id or f"gateway:{message.pk}")


def _backoff(config: GatewayConfig, attempts: int) -> dt.timedelta:
    return min(dt.timedelta(seconds=config.backoff_seconds * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _claim(now: dt.datetime, limit: int) -> list[int]:
    """Take up to `limit` ready SMS whose next attempt is due; count the attempt and lease them to this worker."""
    with transaction.atomic():
        due = (
            Message.objects.select_for_update(skip_locked=True)
            .filter(status=MessageStatus.READY, channel=MessageChannel.SMS)
            .exclude(next_attempt_at__gt=now)
            .order_by("send_after", "pk")[:limit]
        )
        claimed = []
        for message in due:
            message.attempts += 1
            message.next_attempt_at = now + dt.timedelta(seconds=CLAIM_SECONDS)
            message.save(update_fields=["attempts", "next_attempt_at"])
            claimed.append(message.pk)
    return claimed


def gateway_deliver(
    *, config: GatewayConfig | None = None, now: dt.datetime | None = None, limit: int = 200
) -> GatewayRun:
    """One pass over the ready SMS: POST each (outside any transaction), then record what the gateway said."""
    config = config or gateway_config()
    if config is None:
        raise ValueError("No SMS gateway is configured (DOORSTEP_SMS_GATEWAY_URL).")
    now = now or timezone.now()
    run = GatewayRun()
    for message_id in _claim(now, limit):
        message = Message.objects.get(pk=message_id)
        answer = gateway_post(config, message)
        if answer.ok:
            message_mark_sent(message_id=message_id, provider_id=answer.provider_id, at=now)
            run.sent += 1
            continue
        final = not answer.retry or message.attempts >= config.max_attempts
        logger.warning("notify: gateway refused message %s (%s), attempt %s", message_id, answer.error, message.attempts)
        message_mark_failed(
            message_id=message_id, error=answer.error, final=final, retry_at=now + _backoff(config, message.attempts)
        )
        if final:
            run.failed += 1
        else:
            run.retrying += 1
    return run
