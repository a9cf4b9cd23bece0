"""The sentences behind the rules' reason codes, in the reader's language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from doorstep.collectors.models import CertificateKind
from doorstep.compliance.models import Channel, Purpose, Target

REASONS: dict[str, Promise] = {
    "outside_hours": _("Outside the permitted contact hours %(start)s–%(end)s, borrower local time (%(zone)s)."),
    "near_hours_edge": _("Close to the edge of the permitted hours %(start)s–%(end)s (%(zone)s)."),
    "unanswered_cap": _("%(count)s unanswered attempts to this number today; the limit is %(limit)s."),
    "connected_cap": _("%(count)s connected calls with this borrower today; the limit is %(limit)s."),
    "weekly_call_cap": _("%(count)s calls about this debt in %(days)s consecutive days; the limit is %(limit)s."),
    "conversation_cooldown": _("A conversation took place on %(date)s; no call about this debt before %(until)s."),
    "near_cap": _("This contact would use %(count)s of the %(limit)s allowed."),
    "target_not_allowed": _("This rule set allows contact only with the borrower or a guarantor, not a %(target)s."),
    "third_party_collect": _("A third party may never be asked to pay the borrower's debt."),
    "third_party_precondition": _(
        "A third party may be contacted only when the borrower is unreachable, deceased or lacks capacity."
    ),
    "third_party_purpose": _("A third party may be contacted only to locate the borrower or pass on a message, not to %(purpose)s."),
    "third_party_disclosure": _("The debt may not be disclosed to a third party."),
    "third_party_repeat": _("This third party has already been contacted %(count)s time(s); the limit is %(limit)s."),
    "visit_team_too_small": _("A field visit needs at least %(minimum)s collectors; %(count)s planned."),
    "visit_no_id": _("Collector %(collector)s has no badge to show."),
    "visit_entry_without_consent": _("Entering the home needs the occupant's consent."),
    "recording_required": _("This %(channel)s must be recorded."),
    "recording_recommended": _("Recording this visit is recommended."),
    "outsourcing_notice_missing": _("The borrower has not been told that the case was outsourced to an agency."),
    "training_missing": _("Collector %(collector)s holds no valid %(kind)s certificate."),
    "validation_notice_overdue": _("The validation notice was due by %(deadline)s and has not been sent."),
    "validation_notice_due": _("The validation notice is due by %(deadline)s."),
    "workplace_forbidden": _("The borrower's employer forbids contact at work."),
    "cease_requested": _("The borrower asked the bank to stop contacting them."),
    "vulnerable_no_visit": _("No visit to a borrower known to be vulnerable."),
    "visit_notice_missing": _("The borrower has not been given notice of this visit."),
    "grievance_pending": _("A grievance is pending: the case may not be worked by an agency."),
    "dispute_hold": _("The debt is disputed and on hold."),
    "deceased": _("The borrower is deceased."),
    "do_not_visit": _("The borrower is flagged do-not-visit."),
    "vulnerable": _("The borrower is vulnerable: a visit needs a team lead's override."),
    "do_not_contact": _("This number or address is marked do-not-contact."),
    "outside_requested_window": _("Outside the contact times the borrower asked for."),
    "blackout": _("The borrower asked not to be contacted until %(until)s."),
}

_LABELS: dict[str, Mapping[str, Promise]] = {
    "kind": {choice.value: choice.label for choice in CertificateKind},
    "target": {choice.value: choice.label for choice in Target},
    "channel": {choice.value: choice.label for choice in Channel},
    "purpose": {choice.value: choice.label for choice in Purpose},
}


def _shown(name: str, value: Any) -> Any:
    if name in _LABELS and isinstance(value, str):
        return str(_LABELS[name].get(value, value))
    if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-" and value[10:11] == "T":
        try:
            return dt.datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value


def reason_text(hit: Mapping[str, Any]) -> str:
    """A ledger hit (`Hit.as_dict()`) as one sentence in the active language."""
    template = REASONS.get(hit["code"])
    if template is None:
        return gettext("Rule %(rule)s fired.") % {"rule": hit["rule_id"]}
    params = {name: _shown(name, value) for name, value in (hit.get("params") or {}).items()}
    try:
        return str(template) % params
    except (KeyError, TypeError, ValueError):
        return str(template)
