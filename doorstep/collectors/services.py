"""Every write about who works a case. Each function runs in one transaction and leaves an audit entry."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import polars as pl
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.collectors.models import CaseAssignment, Collector, Team
from doorstep.core.audit import Actor, actor_fields, audit_record
from doorstep.core.bulk import bulk_insert
from doorstep.core.roles import Role, has_role
from doorstep.portfolio.models import ACTIVE_CASE_STATUSES, Case

# How many ids go into one `IN (...)` list: below SQLite's limit on bound parameters.
ID_CHUNK = 5_000


@dataclass(frozen=True)
class PlannedAssignment:
    """One line of a batch: this case goes to this team, and to this collector of it (or to the team only)."""

    case_id: int
    team_id: int
    collector_id: int | None = None


@dataclass(frozen=True)
class BulkAssignmentResult:
    assigned: int
    reassigned: int
    unchanged: int

    @property
    def changed(self) -> int:
        return self.assigned + self.reassigned


def _may_assign(actor: Actor, team_ids: set[int]) -> bool:
    """System jobs, administrators and managers assign anywhere; a team lead only among their own teams."""
    if actor is None or isinstance(actor, str):
        return True
    if not actor.is_authenticated:
        return False
    if has_role(actor, Role.ADMIN, Role.MANAGER):
        return True
    if has_role(actor, Role.SUPERVISOR):
        supervised = set(Team.objects.filter(pk__in=team_ids, supervisor=actor).values_list("pk", flat=True))
        return supervised == team_ids
    return False


def _clean_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Say why the case is being assigned."))
    if len(reason) > 300:
        raise ValidationError(_("The reason may be at most 300 characters."))
    return reason


def _check_collector(collector: Collector | None, team: Team) -> None:
    if collector is None:
        return
    if collector.team_id != team.pk:
        raise ValidationError(
            _("%(collector)s does not belong to team %(team)s.") % {"collector": collector, "team": team}
        )
    if not collector.is_active:
        raise ValidationError(_("%(collector)s is not active and cannot take cases.") % {"collector": collector})


def case_assign(
    *, actor: Actor, case: Case, team: Team, collector: Collector | None = None, reason: str
) -> CaseAssignment:
    """Give `case` to `team` (and to `collector` of that team), ending its current assignment.

    Assigning a case to where it already is changes nothing and returns the current assignment.
    """
    reason = _clean_reason(reason)
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if locked.status not in ACTIVE_CASE_STATUSES:
            raise ValidationError(
                _("A case that is %(status)s cannot be assigned.") % {"status": locked.get_status_display()}
            )
        team = Team.objects.get(pk=team.pk)
        if collector is not None:
            # Read again under the lock: a collector moved or deactivated a moment ago must not get the case.
            collector = Collector.objects.select_for_update().select_related("user").get(pk=collector.pk)
        _check_collector(collector, team)
        current = CaseAssignment.objects.select_for_update().filter(case=locked, ended_at__isnull=True).first()
        involved = {team.pk} | ({current.team_id} if current else set())
        if not _may_assign(actor, involved):
            raise PermissionDenied(_("You may not assign cases of this team."))
        collector_id = collector.pk if collector else None
        if current is not None and current.team_id == team.pk and current.collector_id == collector_id:
            return current
        now = timezone.now()
        if current is not None:
            current.ended_at = now
            current.save(update_fields=["ended_at"])
        assignment = CaseAssignment.objects.create(
            case=locked,
            team=team,
            collector=collector,
            assigned_at=now,
            assigned_by=actor_fields(actor)["actor"],
            reason=reason,
        )
        audit_record(
            actor=actor,
            action="collectors.case.reassigned" if current else "collectors.case.assigned",
            target=locked,
            data={
                "assignment": assignment.pk,
                "team": team.pk,
                "collector": collector_id,
                "from_team": current.team_id if current else None,
                "from_collector": current.collector_id if current else None,
                "reason": reason,
            },
        )
    return assignment


def _chunks(values: list[int]) -> list[list[int]]:
    return [values[start : start + ID_CHUNK] for start in range(0, len(values), ID_CHUNK)]


def cases_assign_bulk(*, actor: Actor, assignments: list[PlannedAssignment], reason: str) -> BulkAssignmentResult:
    """Apply a whole batch of assignments at once: all of them, or, if any line is wrong, none.

    Lines that name where the case already is are left alone. The new rows go in with one bulk insert,
    and the batch leaves one audit entry; each assignment row keeps who made it, when and why.
    """
    reason = _clean_reason(reason)
    if not assignments:
        return BulkAssignmentResult(0, 0, 0)
    case_ids = [line.case_id for line in assignments]
    repeated = [case_id for case_id, count in Counter(case_ids).items() if count > 1]
    if repeated:
        raise ValidationError(_("Case %(case)s appears more than once in the batch.") % {"case": repeated[0]})
    team_ids = {line.team_id for line in assignments}
    teams = Team.objects.in_bulk(team_ids)
    missing_teams = team_ids - set(teams)
    if missing_teams:
        raise ValidationError(_("There is no team %(team)s.") % {"team": min(missing_teams)})

    with transaction.atomic():
        collector_ids = {line.collector_id for line in assignments if line.collector_id is not None}
        collectors = Collector.objects.select_for_update().select_related("user").in_bulk(collector_ids)
        for line in assignments:
            if line.collector_id is None:
                continue
            if line.collector_id not in collectors:
                raise ValidationError(_("There is no collector %(collector)s.") % {"collector": line.collector_id})
            _check_collector(collectors[line.collector_id], teams[line.team_id])

        active: set[int] = set()
        current: dict[int, tuple[int, int | None]] = {}
        for chunk in _chunks(case_ids):
            active.update(
                Case.objects.select_for_update()
                .filter(pk__in=chunk, status__in=ACTIVE_CASE_STATUSES)
                .values_list("pk", flat=True)
            )
            for case_id, team_id, collector_id in (
                CaseAssignment.objects.select_for_update()
                .filter(case_id__in=chunk, ended_at__isnull=True)
                .values_list("case_id", "team_id", "collector_id")
            ):
                current[case_id] = (team_id, collector_id)
        inactive = [case_id for case_id in case_ids if case_id not in active]
        if inactive:
            raise ValidationError(
                _("Case %(case)s does not exist or is no longer in collection.") % {"case": inactive[0]}
            )
        involved = team_ids | {team_id for team_id, _collector in current.values()}
        if not _may_assign(actor, involved):
            raise PermissionDenied(_("You may not assign cases of these teams."))

        changes = [line for line in assignments if current.get(line.case_id) != (line.team_id, line.collector_id)]
        ending = [line.case_id for line in changes if line.case_id in current]
        now = timezone.now()
        for chunk in _chunks(ending):
            CaseAssignment.objects.filter(case_id__in=chunk, ended_at__isnull=True).update(ended_at=now)
        assigned_by = actor_fields(actor)["actor"]
        frame = pl.DataFrame(
            {
                "case_id": [line.case_id for line in changes],
                "team_id": [line.team_id for line in changes],
                "collector_id": [line.collector_id for line in changes],
                "assigned_at": [now] * len(changes),
                "assigned_by_id": [assigned_by.pk if assigned_by else None] * len(changes),
                "reason": [reason] * len(changes),
                "ended_at": [None] * len(changes),
            },
            schema={
                "case_id": pl.Int64,
                "team_id": pl.Int64,
                "collector_id": pl.Int64,
                "assigned_at": pl.Datetime("us", "UTC"),
                "assigned_by_id": pl.Int64,
                "reason": pl.String,
                "ended_at": pl.Datetime("us", "UTC"),
            },
        )
        bulk_insert(table=CaseAssignment._meta.db_table, frame=frame)
        result = BulkAssignmentResult(
            assigned=len(changes) - len(ending), reassigned=len(ending), unchanged=len(assignments) - len(changes)
        )
        if changes:
            audit_record(
                actor=actor,
                action="collectors.case.assigned_bulk",
                object_type=CaseAssignment._meta.label_lower,
                data={
                    "assigned": result.assigned,
                    "reassigned": result.reassigned,
                    "unchanged": result.unchanged,
                    "by_team": {str(team_id): count for team_id, count in Counter(line.team_id for line in changes).items()},
                    "reason": reason,
                },
            )
    return result
