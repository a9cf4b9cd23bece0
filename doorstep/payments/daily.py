"""The payments step of the daily run: the day's payments file, if the run was given one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from doorstep.core.audit import Actor


def payments_step(run: Any, actor: Actor) -> dict[str, Any]:
    from doorstep.payments.services import payments_import

    given = run.options.get("payments")
    if not given:
        return {"skipped": _("No payments file was given.")}
    path = Path(given)
    if not path.is_file():
        raise FileNotFoundError(_("The payments file %(path)s does not exist.") % {"path": given})
    result = payments_import(actor=actor, path=path)
    return {
        "import": result.pk,
        "rows": result.rows,
        "payments_added": result.payments_added,
        "reversals_added": result.reversals_added,
        "duplicates_skipped": result.duplicates_skipped,
        "cases_cured": result.cases_cured,
    }
