"""Payments files sent in over the web (page or API): kept under a random name and queued for import."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from doorstep.core.audit import audit_record
from doorstep.portfolio.uploads import ALLOWED_SUFFIXES, ENCODINGS, upload_directory, upload_max_bytes


def payments_upload(*, actor: AbstractBaseUser, upload: UploadedFile, encoding: str | None = None) -> str:
    """Store the file with a random name, queue its import, and return the task id. A refused file leaves
    nothing behind."""
    if not actor.has_perm("payments.import_payments"):  # type: ignore[attr-defined]
        raise PermissionDenied(_("You may not import payments."))
    original_name = Path(upload.name or "").name
    suffix = Path(original_name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise ValidationError(_("Send the payments as a .csv or .parquet file."))
    if not upload.size:
        raise ValidationError(_("The file is empty."))
    if upload.size > upload_max_bytes():
        raise ValidationError(_("The file is larger than the upload limit."))
    encoding = encoding or None
    if encoding is not None and encoding not in ENCODINGS:
        raise ValidationError(_("Unknown encoding: choose utf-8, gbk or gb18030."))
    directory = upload_directory()
    directory.mkdir(parents=True, exist_ok=True)
    stored = directory / f"payments-{secrets.token_hex(16)}{suffix}"
    digest = hashlib.sha256()
    with stored.open("xb") as target:
        for chunk in upload.chunks():
            digest.update(chunk)
            target.write(chunk)

    from doorstep.payments.tasks import payments_import_task

    try:
        with transaction.atomic():
            result = payments_import_task.enqueue(path=str(stored), actor_id=actor.pk, encoding=encoding)
            audit_record(
                actor=actor,
                action="payments.import.queued",
                object_type="payments.paymentimport",
                data={
                    "file_name": original_name[:255],
                    "stored_as": stored.name,
                    "bytes": upload.size,
                    "sha256": digest.hexdigest(),
                    "task_id": str(result.id),
                    "encoding": encoding,
                },
            )
    except BaseException:
        stored.unlink(missing_ok=True)
        raise
    return str(result.id)
