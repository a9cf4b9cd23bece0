"""Snapshot files sent in over the web (UI or API): kept under a random name and queued for import."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from doorstep.core.audit import audit_record

ALLOWED_SUFFIXES = (".csv", ".parquet")
ENCODINGS = ("utf-8", "gbk", "gb18030")


def upload_directory() -> Path:
    return Path(settings.DOORSTEP_UPLOAD_DIR)


def upload_max_bytes() -> int:
    return int(settings.DOORSTEP_UPLOAD_MAX_BYTES)


def snapshot_upload(
    *,
    actor: AbstractBaseUser,
    upload: UploadedFile,
    snapshot_date: dt.date | None = None,
    encoding: str | None = None,
) -> str:
    """Store the file under the upload directory with a random name, queue its import, and return the task id.

    The name the file was sent with is kept only in the audit trail. A refused file leaves nothing behind.
    """
    if not actor.has_perm("portfolio.import_snapshot"):  # type: ignore[attr-defined]
        raise PermissionDenied(_("You may not import snapshots."))
    original_name = Path(upload.name or "").name
    suffix = Path(original_name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise ValidationError(_("Send the snapshot as a .csv or .parquet file."))
    if not upload.size:
        raise ValidationError(_("The file is empty."))
    if upload.size > upload_max_bytes():
        raise ValidationError(_("The file is larger than the upload limit."))
    encoding = encoding or None
    if encoding is not None and encoding not in ENCODINGS:
        raise ValidationError(_("Unknown encoding: choose utf-8, gbk or gb18030."))

    directory = upload_directory()
    directory.mkdir(parents=True, exist_ok=True)
    stored = directory / f"{secrets.token_hex(16)}{suffix}"
    digest = hashlib.sha256()
    with stored.open("xb") as target:
        for chunk in upload.chunks():
            digest.update(chunk)
            target.write(chunk)

    from doorstep.portfolio.tasks import snapshot_import_task

    date_text = snapshot_date.isoformat() if snapshot_date else None
    try:
        # The queued task and its audit entry commit together: neither exists without the other.
        with transaction.atomic():
            result = snapshot_import_task.enqueue(
                path=str(stored), actor_id=actor.pk, snapshot_date=date_text, encoding=encoding
            )
            audit_record(
                actor=actor,
                action="portfolio.snapshot.queued",
                object_type="portfolio.snapshotimport",
                data={
                    "file_name": original_name[:255],
                    "stored_as": stored.name,
                    "bytes": upload.size,
                    "sha256": digest.hexdigest(),
                    "task_id": str(result.id),
                    "snapshot_date": date_text,
                    "encoding": encoding,
                },
            )
    except BaseException:
        stored.unlink(missing_ok=True)
        raise
    return str(result.id)
