"""Every write to the portfolio. Each function runs in one transaction and leaves an audit entry."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.core.audit import Actor, actor_fields, audit_record
from doorstep.core.crypto import decrypt_text
from doorstep.portfolio import selectors
from doorstep.portfolio.models import CASE_TRANSITIONS, Case, CaseStatus, CaseStatusChange

PersonalField = Literal["national_id", "phone"]


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
