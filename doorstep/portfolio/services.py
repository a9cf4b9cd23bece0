"""Every write to the portfolio. Each function runs in one transaction and leaves an audit entry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.core.audit import Actor, actor_fields, audit_record
from doorstep.core.crypto import decrypt_text
from doorstep.portfolio import intake, selectors
from doorstep.portfolio.intake import RowError, SnapshotRejected
from doorstep.portfolio.models import CASE_TRANSITIONS, Case, CaseStatus, CaseStatusChange, SnapshotImport

PersonalField = Literal["national_id", "phone"]
__all__ = ["RowError", "SnapshotRejected", "borrower_reveal", "case_transition", "snapshot_import"]


def case_transition(
    *, actor: Actor, case: Case, to_status: CaseStatus, reason: str, business_date: dt.date | None = None
) -> Case:
    """Move a case to `to_status` if the transition table allows it; record the change and who made it."""
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if to_status not in CASE_TRANSITIONS[locked.status]:
            raise ValidationError(
                _("A case that is %(current)s cannot become %(target)s.")
                % {"current": locked.get_status_display(), "target": CaseStatus(to_status).label}
            )
        business_date = business_date or timezone.localdate()
        from_status = locked.status
        locked.status = to_status
        if to_status not in (CaseStatus.OPEN, CaseStatus.ARRANGEMENT, CaseStatus.LEGAL):
            locked.closed_on = max(business_date, locked.opened_on)
        locked.updated_at = timezone.now()
        locked.save(update_fields=["status", "closed_on", "updated_at"])
        fields = actor_fields(actor)
        CaseStatusChange.objects.create(
            case=locked,
            from_status=from_status,
            to_status=to_status,
            business_date=business_date,
            actor=fields["actor"],
            actor_label=fields["actor_label"],
            reason=reason,
        )
        audit_record(
            actor=actor,
            action=f"portfolio.case.{to_status}",
            target=locked,
            data={"from": from_status, "to": str(to_status), "reason": reason},
        )
    return locked


def borrower_reveal(*, actor: AbstractBaseUser, case_id: int, field: PersonalField) -> str:
    """The full ID number or phone of a case's borrower, for someone allowed to see the case and to reveal.

    Revealing is an audited action: the audit trail says who saw which number of whom, and when.
    """
    if not actor.has_perm("portfolio.reveal_personal_data"):  # type: ignore[attr-defined]
        raise PermissionDenied(_("You may not reveal personal data."))
    case = selectors.case_get(user=actor, case_id=case_id)
    borrower = case.borrower
    token = borrower.national_id_encrypted if field == "national_id" else borrower.phone_encrypted
    value = decrypt_text(token)
    audit_record(
        actor=actor,
        action=f"portfolio.borrower.revealed_{field}",
        target=borrower,
        data={"case": case.pk},
    )
    return value


def snapshot_import(
    *,
    actor: Actor,
    path: Path,
    snapshot_date: dt.date | None = None,
    encoding: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> SnapshotImport:
    """Load the bank's daily full overdue-loan snapshot (docs/formats.md) in one all-or-nothing transaction.

    Every row is verified first: any problem raises `SnapshotRejected` listing them all, and nothing is
    written; so does a snapshot older than the latest one imported. Then borrowers, loans, cases (opened,
    refreshed, cured), status changes and bucket moves are brought to what the file says, writing only
    what differs. When the portfolio already reflects the file (the same file again, or a file with the
    same content) nothing at all is written: the earlier import is returned with `already_imported` set,
    or an unsaved record with zero counts if there is none. `actor=None` is recorded as "system:import".
    """
    started_at = timezone.now()
    snapshot = intake.load_snapshot(path, snapshot_date=snapshot_date, encoding=encoding, progress=progress)
    importer: Actor = actor if actor is not None else "system:import"
    who = actor_fields(importer)
    with transaction.atomic():
        intake.lock_imports()
        latest = SnapshotImport.objects.order_by("-snapshot_date", "-id").first()
        if latest is not None and snapshot.snapshot_date < latest.snapshot_date:
            raise SnapshotRejected(
                [
                    RowError(
                        2,
                        "snapshot_date",
                        snapshot.snapshot_date.isoformat(),
                        _("older than the latest imported snapshot (%(date)s)")
                        % {"date": latest.snapshot_date.isoformat()},
                    )
                ]
            )
        same_day = latest if latest is not None and latest.snapshot_date == snapshot.snapshot_date else None
        if same_day is not None and same_day.file_sha256 == snapshot.file_sha256:
            same_day.already_imported = True
            return same_day
        counts = intake.write_changes(
            snapshot,
            actor_id=who["actor"].pk if who["actor"] is not None else None,
            actor_label=who["actor_label"],
            now=started_at,
            progress=progress,
        )
        if not counts.changed_anything:
            unchanged = same_day or SnapshotImport(
                snapshot_date=snapshot.snapshot_date,
                file_name=snapshot.file_name[:255],
                file_sha256=snapshot.file_sha256,
                rows=snapshot.rows,
                warnings=snapshot.warnings,
                started_at=started_at,
                finished_at=timezone.now(),
                imported_by=who["actor"],
                imported_by_label=who["actor_label"],
            )
            unchanged.already_imported = True
            return unchanged
        record = SnapshotImport.objects.create(
            snapshot_date=snapshot.snapshot_date,
            file_name=snapshot.file_name[:255],
            file_sha256=snapshot.file_sha256,
            rows=snapshot.rows,
            borrowers_created=counts.borrowers_created,
            borrowers_updated=counts.borrowers_updated,
            loans_created=counts.loans_created,
            loans_updated=counts.loans_updated,
            loans_cleared=counts.loans_cleared,
            cases_opened=counts.cases_opened,
            cases_cured=counts.cases_cured,
            cases_updated=counts.cases_updated,
            warnings=snapshot.warnings,
            started_at=started_at,
            finished_at=timezone.now(),
            imported_by=who["actor"],
            imported_by_label=who["actor_label"],
        )
        audit_record(
            actor=importer,
            action="portfolio.snapshot.imported",
            target=record,
            data={
                **counts.as_dict(),
                "snapshot_date": snapshot.snapshot_date.isoformat(),
                "rows": snapshot.rows,
                "file": record.file_name,
                "file_sha256": snapshot.file_sha256,
            },
        )
    if progress:
        progress("done", snapshot.rows, snapshot.rows)
    return record
