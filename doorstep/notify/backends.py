"""Where a message goes once the gate has let it through (setting `DOORSTEP_NOTIFY_BACKEND`).

- "outbox": it waits in the table (status ready) for the gateway worker (`notify.gateway`) to send it.
- "file": it is written as a text file under var/outbox/ and counts as sent (development and the demo).
- "console": it is printed to standard output and counts as sent.
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.conf import settings

from doorstep.notify.models import Message

BACKENDS = ("outbox", "file", "console")


def backend_name() -> str:
    configured = getattr(settings, "DOORSTEP_NOTIFY_BACKEND", "")
    if not configured:
        return "outbox" if getattr(settings, "PRODUCTION", False) else "file"
    if configured not in BACKENDS:
        raise ValueError(f"DOORSTEP_NOTIFY_BACKEND must be one of {', '.join(BACKENDS)}, not {configured!r}")
    return configured


def outbox_dir() -> Path:
    configured = getattr(settings, "DOORSTEP_NOTIFY_OUTBOX_DIR", None)
    if configured:
        return Path(configured)
    return Path(getattr(settings, "DOORSTEP_VAR_DIR", Path(settings.BASE_DIR) / "var")) / "outbox"


def message_text(message: Message) -> str:
    """The message as the recipient receives it, with a header that names it (recipient masked)."""
    lines = [
        f"Message: {message.pk}",
        f"Channel: {message.channel}",
        f"Template: {message.template}",
        f"Language: {message.language}",
        f"To: {message.recipient_masked}",
    ]
    if message.subject:
        lines.append(f"Subject: {message.subject}")
    return "\n".join(lines) + "\n\n" + message.body + "\n"


def message_file(message: Message) -> Path:
    day = message.send_after.strftime("%Y-%m-%d")
    return outbox_dir() / day / f"{message.pk:08d}-{message.channel}-{message.template}.txt"


def deliver_file(message: Message) -> str:
    path = message_file(message)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".part")
    temporary.write_text(message_text(message), encoding="utf-8")
    temporary.replace(path)
    return f"file:{path.name}"


def deliver_console(message: Message) -> str:
    sys.stdout.write(message_text(message) + "\n")
    sys.stdout.flush()
    return f"console:{message.pk}"


DIRECT_DELIVERY = {"file": deliver_file, "console": deliver_console}
