"""The portal's own writes: the second factor (a code to the phone on file) and signing out.

What the borrower does once signed in (answer a visit, ask for a plan, rate, complain) is written by the
services of the apps that own those records, with `actor="borrower:<id>"`.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from doorstep.core.audit import audit_record
from doorstep.core.crypto import decrypt_text
from doorstep.notify.services import message_queue, outbox_dispatch
from doorstep.portal.models import PortalLink
from doorstep.portal.selectors import bank_name

MAX_CODE_FAILURES = 5
CODE_DIGITS = 6
DEFAULT_CODE_MINUTES = 10
DEFAULT_CODES_PER_LINK = 5
# A second code for one link no sooner than this after the first (a double tap sends one SMS).
CODE_INTERVAL = dt.timedelta(seconds=60)


def borrower_actor(borrower_id: int) -> str:
    return f"borrower:{borrower_id}"


def code_minutes() -> int:
    return int(getattr(settings, "DOORSTEP_PORTAL_CODE_MINUTES", DEFAULT_CODE_MINUTES))


def codes_per_link() -> int:
    return int(getattr(settings, "DOORSTEP_PORTAL_CODES_PER_LINK", DEFAULT_CODES_PER_LINK))


def _code_hash(link_id: int, code: str) -> str:
    return salted_hmac("doorstep.portal.code", f"{link_id}:{code}", algorithm="sha256").hexdigest()


def id_suffix_matches(national_id_encrypted: str, suffix: str) -> bool:
    """Whether `suffix` is the last four characters of the ID number (an X may be typed in either case)."""
    typed = suffix.strip().upper()
    actual = decrypt_text(national_id_encrypted).strip().upper()
    return len(typed) == 4 and len(actual) >= 4 and constant_time_compare(actual[-4:], typed)


def code_request(*, link_id: int, id_suffix: str, language: str, now: dt.datetime | None = None) -> str:
    """Send a one-time code to the phone on file if `id_suffix` matches; otherwise make every code fail.

    Either way the link's row changes in the same way and the caller shows the same answer, so the page
    never says whether the ID matched. Returns "sent", "refused" (wrong ID), "wait" (too soon after the
    last code), "exhausted" (too many codes for this link) or "locked", for the audit trail and tests.
    """
    now = now or timezone.now()
    with transaction.atomic():
        link = PortalLink.objects.select_for_update(of=("self",)).select_related("borrower").get(pk=link_id)
        actor = borrower_actor(link.borrower_id)
        if link.is_locked:
            return "locked"
        if link.last_code_at is not None and now - link.last_code_at < CODE_INTERVAL:
            return "wait"
        if link.codes_sent >= codes_per_link():
            return "exhausted"
        matches = id_suffix_matches(link.borrower.national_id_encrypted, id_suffix)
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        # A wrong ID gets a code nobody is told, so the next step fails in the ordinary way.
        link.code_hash = _code_hash(link.pk, code if matches else secrets.token_hex(16))
        link.code_expires_at = now + dt.timedelta(minutes=code_minutes())
        link.codes_sent += 1
        link.last_code_at = now
        link.save(update_fields=["code_hash", "code_expires_at", "codes_sent", "last_code_at"])
        outcome = "sent" if matches else "refused"
        audit_record(actor=actor, action=f"portal.code.{outcome}", target=link, data={"codes_sent": link.codes_sent})
        if matches:
            message = message_queue(
                actor=actor,
                template="portal_code",
                channel="sms",
                context={"code": code, "minutes": code_minutes(), "bank_name": bank_name()},
                idempotency_key=f"portal-code:{link.pk}:{link.codes_sent}:{secrets.token_hex(4)}",
                borrower=link.borrower,
                language=language,
                contact=False,
                secret=True,
            )
            message_id = message.pk
            transaction.on_commit(lambda: outbox_dispatch(message_ids=[message_id]))
    return outcome


def code_verify(*, link_id: int, code: str, now: dt.datetime | None = None) -> int | None:
    """Check a one-time code. Right: the code is spent and a new session generation returned. Wrong: the
    failure is counted, and the link locks for good at the fifth."""
    now = now or timezone.now()
    typed = "".join(code.split())
    with transaction.atomic():
        link = PortalLink.objects.select_for_update().get(pk=link_id)
        actor = borrower_actor(link.borrower_id)
        if link.is_locked:
            return None
        valid = (
            bool(link.code_hash)
            and link.code_expires_at is not None
            and now <= link.code_expires_at
            and typed.isdigit()
            and len(typed) == CODE_DIGITS
            and constant_time_compare(link.code_hash, _code_hash(link.pk, typed))
        )
        if valid:
            link.code_hash = ""
            link.code_expires_at = None
            link.failed_attempts = 0
            link.verified_at = now
            link.session_generation += 1
            link.save(update_fields=["code_hash", "code_expires_at", "failed_attempts", "verified_at",
                                     "session_generation"])
            audit_record(actor=actor, action="portal.session.started", target=link)
            return link.session_generation
        link.failed_attempts += 1
        fields = ["failed_attempts"]
        if link.failed_attempts >= MAX_CODE_FAILURES:
            link.locked_at = now
            link.code_hash = ""
            fields += ["locked_at", "code_hash"]
        link.save(update_fields=fields)
        audit_record(
            actor=actor,
            action="portal.link.locked" if link.is_locked else "portal.code.failed",
            target=link,
            data={"failed_attempts": link.failed_attempts},
        )
    return None


def session_end(*, link_id: int) -> None:
    """Sign out: every portal cookie issued for this link so far stops working."""
    with transaction.atomic():
        link = PortalLink.objects.select_for_update().get(pk=link_id)
        link.session_generation += 1
        link.save(update_fields=["session_generation"])
        audit_record(actor=borrower_actor(link.borrower_id), action="portal.session.ended", target=link)
