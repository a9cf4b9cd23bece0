"""Every write about planned visits: crews, allocation, appointments and notices, answers, cancellations
and reassignments. Each function runs in one transaction, leaves an audit entry, and sends messages and
re-plans only after commit. What happens at the door is written by `field_services`."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from doorstep.collectors.models import CertificateKind, Collector, Team, Territory
from doorstep.core.audit import Actor, actor_fields, audit_record
from doorstep.core.money import to_fen
from doorstep.core.roles import Role, has_role
from doorstep.portfolio.models import ACTIVE_CASE_STATUSES, Borrower, Case
from doorstep.visits import selectors
from doorstep.visits.allocation import (
    AllocationReason,
    CaseToAllocate,
    CollectorInfo,
    CrewInfo,
    allocate,
    crew_info,
    crews_pair,
)
from doorstep.visits.models import (
    OPEN_VISIT_STATUSES,
    BorrowerResponse,
    Crew,
    ResponseChannel,
    Visit,
    VisitAlert,
    VisitStatus,
)
from doorstep.visits.slots import Place, bearing_order, day_windows, split_into_days, spread_over_windows

logger = logging.getLogger(__name__)

HORIZON_DAYS = 5
DEFAULT_HIGH_BALANCE = 50_000
LETTER_MIN_DAYS = 3


def high_balance_fen() -> int:
    """Above this amount overdue (yuan, setting DOORSTEP_VISIT_HIGH_BALANCE) a case goes to an experienced crew."""
    return int(getattr(settings, "DOORSTEP_VISIT_HIGH_BALANCE", DEFAULT_HIGH_BALANCE)) * 100


def bank_hotline() -> str:
    return str(getattr(settings, "DOORSTEP_BANK_HOTLINE", "95580"))


def min_team(jurisdiction: str | None = None) -> int:
    """How many collectors the rule set sends to a door (CN-V1's `min_team`; one where no rule asks)."""
    from doorstep.compliance.services import default_jurisdiction, ruleset_active

    rule_set = ruleset_active(jurisdiction or default_jurisdiction())
    sizes = [
        int(rule.params.get("min_team", 1))
        for rule in rule_set.rules.filter(enabled=True, evaluator="visit_team")
    ]
    return max(sizes, default=1)


def field_ready_ids(*, on: dt.date) -> set[int]:
    """Active collectors with every certificate the rule set requires on `on`."""
    from doorstep.collectors.selectors import field_ready_collector_ids
    from doorstep.compliance.services import default_jurisdiction

    return field_ready_collector_ids(on=on, jurisdiction=default_jurisdiction())


def _label(actor: Actor) -> str:
    return str(actor_fields(actor)["actor_label"])


def _is_user(actor: Actor) -> bool:
    return actor is not None and not isinstance(actor, str)


def _require_planner(actor: Actor, teams: set[int]) -> None:
    """System jobs, administrators and managers plan every team; a team lead only their own."""
    if not _is_user(actor):
        return
    user: AbstractBaseUser = actor  # type: ignore[assignment]
    if not user.has_perm("visits.plan_visits"):  # type: ignore[attr-defined]
        raise PermissionDenied(_("You may not plan field visits."))
    if has_role(user, Role.ADMIN, Role.MANAGER):
        return
    led = set(Team.objects.filter(pk__in=teams, supervisor=user).values_list("pk", flat=True))
    if led != teams:
        raise PermissionDenied(_("You may only plan the visits of your own team."))


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give a reason."))
    return reason[:300]


# ---------------------------------------------------------------- crews


def _collector_infos(collectors: list[Collector], team_territories: dict[int, set[int]]) -> dict[int, CollectorInfo]:
    territories: dict[int, set[int]] = defaultdict(set)
    through = Collector.territories.through
    for collector_id, territory_id in through.objects.filter(
        collector_id__in=[c.pk for c in collectors]
    ).values_list("collector_id", "territory_id"):
        territories[collector_id].add(territory_id)
    return {
        c.pk: CollectorInfo(
            collector_id=c.pk,
            team_id=c.team_id,
            experienced=c.is_experienced,
            work_days=frozenset(int(d) for d in c.work_days if d.isdigit()),
            shift_start=c.shift_start,
            shift_end=c.shift_end,
            visits_per_day=c.visits_per_day,
            territory_ids=frozenset(territories[c.pk] or team_territories.get(c.team_id, set())),
            home=(float(c.home_latitude), float(c.home_longitude))
            if c.home_latitude is not None and c.home_longitude is not None
            else None,
        )
        for c in collectors
    }


def crews_form(
    *, actor: Actor, team: Team, on: dt.date, ready: set[int] | None = None, size: int | None = None
) -> list[Crew]:
    """The team's active crews for `on`: crews whose members are all still field-ready stay; the rest are
    ended and the free collectors paired again (or sent alone where the rule set allows one). A caller
    forming many teams' crews passes the field-ready collectors and the crew size, read once."""
    _require_planner(actor, {team.pk})
    ready = field_ready_ids(on=on) if ready is None else ready
    size = min_team() if size is None else size
    with transaction.atomic():
        Team.objects.select_for_update().get(pk=team.pk)
        collectors = list(Collector.objects.filter(team=team, is_active=True, pk__in=ready).select_related("user"))
        team_territories = {team.pk: set(team.territories.values_list("pk", flat=True))}
        infos = _collector_infos(collectors, team_territories)
        current = list(Crew.objects.filter(is_active=True).filter(Q(lead__team=team) | Q(partner__team=team)))
        keep = [(crew.lead_id, crew.partner_id) for crew in current]
        pairs, alone = crews_pair(list(infos.values()), min_team=size, keep=keep)
        wanted = set(pairs)
        ended = [crew for crew in current if (crew.lead_id, crew.partner_id) not in wanted]
        for crew in ended:
            crew.is_active = False
            crew.save(update_fields=["is_active"])
        existing = {(crew.lead_id, crew.partner_id) for crew in current if crew not in ended}
        created = [
            Crew.objects.create(team=team, lead_id=lead, partner_id=partner)
            for lead, partner in pairs
            if (lead, partner) not in existing
        ]
        if ended or created:
            audit_record(
                actor=actor,
                action="visits.crews.formed",
                target=team,
                data={
                    "on": on.isoformat(),
                    "ended": [[c.lead_id, c.partner_id] for c in ended],
                    "created": [[c.lead_id, c.partner_id] for c in created],
                    "without_partner": alone,
                    "min_team": size,
                },
            )
    return list(Crew.objects.filter(team=team, is_active=True).select_related("lead__user", "partner__user"))


# ---------------------------------------------------------------- allocation


@dataclass
class AllocationOutcome:
    allocated: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    unplaced: dict[str, int] = field(default_factory=dict)
    reassigned: int = 0
    crew_of_case: dict[int, int] = field(default_factory=dict)  # case id -> crew id


def horizon(day: dt.date, days: int) -> list[dt.date]:
    return [day + dt.timedelta(days=offset) for offset in range(days)]


def _territories_at(lat: Any, lon: Any, territories: list[Territory]) -> frozenset[int]:
    """The territories that contain a borrower's address (none when it has no position)."""
    if lat is None or lon is None:
        return frozenset()
    return frozenset(t.pk for t in territories if t.contains(float(lat), float(lon)))


def _case_territories(rows: list[dict[str, Any]], territories: list[Territory]) -> dict[int, frozenset[int]]:
    return {
        row["case_id"]: _territories_at(row["case__borrower__latitude"], row["case__borrower__longitude"], territories)
        for row in rows
    }


REASON_TEXT: dict[str, str] = {
    AllocationReason.CONTINUITY: "Field allocation: the crew that visited this borrower before",
    AllocationReason.EXPERIENCED_HOSTILE: "Field allocation: an experienced crew (hostile at an earlier visit)",
    AllocationReason.EXPERIENCED_HIGH_BALANCE: "Field allocation: an experienced crew (high balance)",
    AllocationReason.BALANCE: "Field allocation: the least loaded crew working the territory",
}


def visits_allocate(
    *, actor: Actor, day: dt.date, days: int = HORIZON_DAYS, team_ids: list[int] | None = None
) -> AllocationOutcome:
    """Give every case due a field visit by the end of the horizon a crew of its team, and make the crew's
    lead the case's collector (with the reason on the assignment row and in the audit trail)."""
    from doorstep.collectors.services import PlannedAssignment, cases_assign_bulk

    teams = list(Team.objects.filter(pk__in=team_ids) if team_ids is not None else Team.objects.all())
    _require_planner(actor, {team.pk for team in teams})
    outcome = AllocationOutcome()
    window = horizon(day, days)
    rows = selectors.cases_due_visit(day=window[-1], team_ids=[team.pk for team in teams])
    if not rows:
        return outcome
    crews: list[CrewInfo] = []
    crew_by_key: dict[str, Crew] = {}
    zone = selectors.local_zone()
    start = dt.datetime.combine(window[0], dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(window[-1], dt.time.min, tzinfo=zone) + dt.timedelta(days=1)
    load: dict[int, int] = defaultdict(int)
    for collector_id in Visit.objects.filter(
        status__in=OPEN_VISIT_STATUSES, window_start__gte=start, window_start__lt=end
    ).values_list("collector_id", flat=True):
        load[collector_id] += 1
    team_territories: dict[int, set[int]] = defaultdict(set)
    for team_id, territory_id in Team.territories.through.objects.filter(
        team_id__in=[t.pk for t in teams]
    ).values_list("team_id", "territory_id"):
        team_territories[team_id].add(territory_id)
    teams_with_cases = {row["team_id"] for row in rows}
    ready, size = field_ready_ids(on=day), min_team()
    for team in teams:
        if team.pk not in teams_with_cases:
            continue
        team_crews = crews_form(actor=actor, team=team, on=day, ready=ready, size=size)
        members = {m.pk: m for crew in team_crews for m in crew.members}
        infos = _collector_infos(list(members.values()), team_territories)
        for crew in team_crews:
            info = crew_info(
                key=str(crew.pk),
                lead=infos[crew.lead_id],
                partner=infos[crew.partner_id] if crew.partner_id else None,
                horizon=window,
                load=load[crew.lead_id],
                crew_id=crew.pk,
            )
            if info is not None:
                crews.append(info)
                crew_by_key[info.key] = crew
    territories = list(Territory.objects.all())
    case_territories = _case_territories(rows, territories)
    borrower_ids = [row["case__borrower_id"] for row in rows]
    hostile = selectors.hostile_borrower_ids(borrower_ids)
    previous = selectors.previous_visitors(borrower_ids)
    cases = [
        CaseToAllocate(
            case_id=row["case_id"],
            team_id=row["team_id"],
            territory_ids=case_territories[row["case_id"]],
            overdue_fen=to_fen(row["case__overdue_total"]),
            hostile_before=row["case__borrower_id"] in hostile,
            previous_collector_ids=tuple(previous.get(row["case__borrower_id"], [])),
            current_collector_id=row["collector_id"],
        )
        for row in rows
    ]
    result = allocate(cases, crews, high_balance_fen=high_balance_fen())
    row_of = {row["case_id"]: row for row in rows}
    batches: dict[str, list[PlannedAssignment]] = defaultdict(list)
    for item in result.allocated:
        crew = crew_by_key[item.crew_key]
        outcome.by_reason[item.reason] = outcome.by_reason.get(item.reason, 0) + 1
        outcome.crew_of_case[item.case_id] = crew.pk
        if row_of[item.case_id]["collector_id"] != crew.lead_id or row_of[item.case_id]["team_id"] != crew.team_id:
            batches[item.reason].append(PlannedAssignment(item.case_id, crew.team_id, crew.lead_id))
    for item in result.unplaced:
        outcome.unplaced[item.reason] = outcome.unplaced.get(item.reason, 0) + 1
    outcome.allocated = len(result.allocated)
    with transaction.atomic():
        for reason, lines in batches.items():
            changed = cases_assign_bulk(actor=actor, assignments=lines, reason=REASON_TEXT[reason])
            outcome.reassigned += changed.changed
        audit_record(
            actor=actor,
            action="visits.cases.allocated",
            object_type="visits.visit",
            data={
                "day": day.isoformat(),
                "days": days,
                "teams": sorted(teams_with_cases),
                "allocated": outcome.allocated,
                "by_reason": outcome.by_reason,
                "unplaced": outcome.unplaced,
                "reassigned": outcome.reassigned,
                "unplaced_cases": [[item.case_id, item.reason] for item in result.unplaced][:500],
            },
        )
    return outcome


# ---------------------------------------------------------------- appointments


@dataclass
class ScheduleOutcome:
    scheduled: int = 0
    refused: int = 0
    no_room: int = 0
    no_crew: int = 0
    visit_ids: list[int] = field(default_factory=list)


SERVICE_MINUTES = 30


# Stored in English; pages show it in the reader's language (`{% translate visit.purpose %}`).
VISIT_PURPOSE = gettext_noop("Discuss the overdue loan and agree how to repay")


def visits_schedule(
    *, actor: Actor, day: dt.date, days: int = HORIZON_DAYS, team_ids: list[int] | None = None,
    notify_borrowers: bool = True, allocation: AllocationOutcome | None = None,
) -> ScheduleOutcome:
    """Propose an appointment for every case due a visit that allocation gave a crew (allocating first unless
    `allocation` is given): a day and a window of the crew's shift, close to the crew's other visits that
    day, that the gate allows for the whole visit and the crew. Creates the visits (scheduled, answer
    pending) and queues the advance notices after commit."""
    from doorstep.compliance.services import ContactAction, check_many

    teams = list(Team.objects.filter(pk__in=team_ids) if team_ids is not None else Team.objects.all())
    _require_planner(actor, {team.pk for team in teams})
    if allocation is None:
        allocation = visits_allocate(actor=actor, day=day, days=days, team_ids=team_ids)
    outcome = ScheduleOutcome()
    window_days = horizon(day, days)
    rows = [
        row for row in selectors.cases_due_visit(day=window_days[-1], team_ids=[team.pk for team in teams])
        if row["case_id"] in allocation.crew_of_case
    ]
    if not rows:
        return outcome
    crews_by_pk = Crew.objects.select_related("lead__user", "partner__user").in_bulk(
        set(allocation.crew_of_case.values())
    )
    crews = {crew.lead_id: crew for crew in crews_by_pk.values()}
    zone = selectors.local_zone()
    now = timezone.now()
    first = dt.datetime.combine(window_days[0], dt.time.min, tzinfo=zone)
    last = dt.datetime.combine(window_days[-1], dt.time.min, tzinfo=zone) + dt.timedelta(days=1)
    booked: dict[tuple[int, dt.date], int] = defaultdict(int)
    for collector_id, start in Visit.objects.filter(
        status__in=OPEN_VISIT_STATUSES, window_start__gte=first, window_start__lt=last
    ).values_list("collector_id", "window_start"):
        booked[(collector_id, start.astimezone(zone).date())] += 1

    by_crew: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        crew = crews_by_pk.get(allocation.crew_of_case[row["case_id"]])
        if crew is None:
            outcome.no_crew += 1
            continue
        by_crew[crew.lead_id].append(row)

    size = min_team()
    # Each case's proposals in order of preference: its sweep day and window first, then the rest.
    proposals: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
    crew_of_case: dict[int, Crew] = {}
    room: dict[tuple[int, dt.date], int] = {}
    for lead_id, crew_rows in by_crew.items():
        crew = crews[lead_id]
        shared = selectors.crew_time(crew.members)
        if shared is None or len(crew.members) < size:
            outcome.no_crew += len(crew_rows)
            continue
        work = [d for d in window_days if d.isoweekday() in shared.work_days]
        # Only windows still to come: a day whose shift is over (or nearly) has no room left today.
        windows_of = {d: [w for w in day_windows(d, shared.shift_start, shared.shift_end, zone) if w[0] > now]
                      for d in work}
        rooms = []
        for work_day in work:
            free = shared.visits_per_day - booked[(lead_id, work_day)] if windows_of[work_day] else 0
            room[(lead_id, work_day)] = max(0, free)
            rooms.append((work_day, room[(lead_id, work_day)]))
        home = (float(crew.lead.home_latitude), float(crew.lead.home_longitude)) \
            if crew.lead.home_latitude is not None and crew.lead.home_longitude is not None else None
        located = [
            Place(row["case_id"], float(row["case__borrower__latitude"]), float(row["case__borrower__longitude"]))
            for row in crew_rows
            if row["case__borrower__latitude"] is not None and row["case__borrower__longitude"] is not None
        ]
        unlocated = [row["case_id"] for row in crew_rows if row["case_id"] not in {p.key for p in located}]
        ordered = [p.key for p in bearing_order(located, home)] + unlocated
        day_of, left = split_into_days(ordered, rooms, {row["case_id"]: row["due_on"] for row in crew_rows})
        outcome.no_room += len(left)
        for work_day in work:
            on_day = [key for key in ordered if day_of.get(key) == work_day]
            windows = windows_of[work_day]
            for key, index in zip(on_day, spread_over_windows(len(on_day), len(windows)), strict=True):
                preferred = windows[index]
                rest = [w for d in work for w in windows_of[d] if w != preferred]
                rest.sort(key=lambda w, wd=work_day, i=index: (w[0].date() != wd, abs((w[0].date() - wd).days),
                                                               abs(windows.index(w) - i) if w in windows else 0))
                proposals[key] = [preferred, *rest]
                crew_of_case[key] = crew

    row_of = {row["case_id"]: row for row in rows}
    chosen: dict[int, tuple[dt.datetime, dt.datetime]] = {}
    pending = list(proposals)
    # First the preferred window of every case in one batch; refused cases then try all their other windows
    # in a second batch, taking the first allowed one on a day the crew still has room.
    actions_first = [
        ContactAction(case_id=case_id, channel="visit", start=proposals[case_id][0][0], end=proposals[case_id][0][1],
                      collector_ids=tuple(m.pk for m in crew_of_case[case_id].members))
        for case_id in pending
    ]
    retry: list[int] = []
    for case_id, verdict in zip(pending, check_many(actions_first), strict=True):
        if verdict.allowed:
            chosen[case_id] = proposals[case_id][0]
        else:
            retry.append(case_id)
    if retry:
        actions = []
        index: list[tuple[int, tuple[dt.datetime, dt.datetime]]] = []
        for case_id in retry:
            members = tuple(m.pk for m in crew_of_case[case_id].members)
            for window in proposals[case_id][1:]:
                actions.append(ContactAction(case_id=case_id, channel="visit", start=window[0], end=window[1],
                                             collector_ids=members))
                index.append((case_id, window))
        used: dict[tuple[int, dt.date], int] = defaultdict(int)
        for case_id, window in chosen.items():
            used[(crew_of_case[case_id].lead_id, window[0].date())] += 1
        allowed: dict[int, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
        for (case_id, window), verdict in zip(index, check_many(actions) if actions else [], strict=True):
            if verdict.allowed:
                allowed[case_id].append(window)
        for case_id in retry:
            lead_id = crew_of_case[case_id].lead_id
            pick = next((w for w in allowed[case_id] if used[(lead_id, w[0].date())] < room.get((lead_id, w[0].date()), 0)),
                        None)
            if pick is None:
                outcome.refused += 1
                continue
            used[(lead_id, pick[0].date())] += 1
            chosen[case_id] = pick

    scripts = _visit_scripts(window_days[-1], list(chosen))
    label = _label(actor)
    with transaction.atomic():
        created = Visit.objects.bulk_create(
            Visit(
                case_id=case_id,
                borrower_id=row_of[case_id]["case__borrower_id"],
                purpose=VISIT_PURPOSE,
                script_code=scripts.get(case_id, "")[:50],
                strategy_priority=row_of[case_id]["priority"],
                window_start=start,
                window_end=end,
                service_minutes=SERVICE_MINUTES,
                latitude=row_of[case_id]["case__borrower__latitude"],
                longitude=row_of[case_id]["case__borrower__longitude"],
                collector_id=crew_of_case[case_id].lead_id,
                partner_id=crew_of_case[case_id].partner_id,
                created_by_label=label,
            )
            for case_id, (start, end) in sorted(chosen.items())
        )
        outcome.scheduled = len(created)
        outcome.visit_ids = [visit.pk for visit in created if visit.pk is not None]
        if not outcome.visit_ids and created:
            outcome.visit_ids = list(
                Visit.objects.filter(case_id__in=list(chosen), status=VisitStatus.SCHEDULED, created_by_label=label)
                .values_list("pk", flat=True)
            )
        audit_record(
            actor=actor,
            action="visits.visits.scheduled",
            object_type="visits.visit",
            data={"day": day.isoformat(), "days": days, "scheduled": outcome.scheduled, "refused": outcome.refused,
                  "no_room": outcome.no_room, "no_crew": outcome.no_crew},
        )
        if notify_borrowers and outcome.visit_ids:
            visit_ids = list(outcome.visit_ids)
            transaction.on_commit(lambda: visit_notices_send(actor=actor, visit_ids=visit_ids))
    return outcome


def _visit_scripts(day: dt.date, case_ids: list[int]) -> dict[int, str]:
    """The script the strategy gives each case's visit step, read once per (version, arm, rule, step)."""
    from doorstep.strategy.models import CaseTreatment

    business_date = selectors.latest_treatment_date(day)
    if business_date is None or not case_ids:
        return {}
    treatments = list(
        CaseTreatment.objects.filter(business_date=business_date, case_id__in=case_ids).select_related("version")
    )
    by_kind: dict[tuple[Any, ...], str] = {}
    scripts: dict[int, str] = {}
    for treatment in treatments:
        kind = (treatment.version_id, treatment.arm, treatment.rule_key, treatment.next_step)
        if kind not in by_kind:
            by_kind[kind] = treatment.next_script
        scripts[treatment.case_id] = by_kind[kind]
    return scripts


# ---------------------------------------------------------------- notices


def _notify() -> Any | None:
    try:
        from doorstep.notify import services as notify_services
    except ImportError:
        return None
    return notify_services if hasattr(notify_services, "message_queue") else None


def _portal_link(borrower: Borrower, visit: Visit) -> str:
    try:
        from doorstep.portal.links import portal_link
    except ImportError:
        return ""
    try:
        return str(portal_link(borrower=borrower, purpose="visit", visit=visit))
    except Exception:  # the link is a convenience; the notice goes without it rather than not at all
        logger.exception("No portal link for visit %s", visit.pk)
        return ""


def notice_context(visit: Visit) -> dict[str, Any]:
    """What the notice says, in the borrower's zone: purpose, day and window, who comes, the hotline, the link."""
    zone = visit.borrower.zone
    start, end = visit.window_start.astimezone(zone), visit.window_end.astimezone(zone)
    return {
        "borrower_name": visit.borrower.name,
        "date": start.date().isoformat(),
        "weekday": start.isoweekday(),
        "start": start.strftime("%H:%M"),
        "end": end.strftime("%H:%M"),
        "collectors": [{"name": c.display_name, "badge_number": c.badge_number} for c in visit.collectors],
        "hotline": bank_hotline(),
        "link": _portal_link(visit.borrower, visit),
        "visit_id": visit.pk,
    }


def earliest_notice_time(*, case_id: int, now: dt.datetime) -> dt.datetime:
    """When the gate first allows a message to this borrower from `now` on (never inside quiet hours)."""
    from doorstep.compliance.services import ContactAction, check

    verdict = check(ContactAction(case_id=case_id, channel="sms", start=now))
    if verdict.allowed or verdict.earliest_allowed is None:
        return now
    return max(now, verdict.earliest_allowed)


def visit_notices_send(*, actor: Actor, visit_ids: list[int]) -> int:
    """Queue the advance notice (SMS, and a letter when the visit is days away) for each scheduled visit that
    has none yet. Returns how many were queued; none if the messaging app is not installed."""
    notify = _notify()
    if notify is None:
        return 0
    queued = 0
    now = timezone.now()
    visits = (
        Visit.objects.filter(pk__in=visit_ids, status=VisitStatus.SCHEDULED, notice_message_id__isnull=True)
        .select_related("borrower", "case", "collector__user", "partner__user")
        .order_by("pk")
    )
    for visit in visits:
        try:
            queued += _notice_queue(notify, actor, visit, now)
        except Exception:  # one borrower's notice failing must not hold up the others; it is retried later
            logger.exception("The notice for visit %s could not be queued", visit.pk)
    return queued


def _notice_queue(notify: Any, actor: Actor, visit: Visit, now: dt.datetime) -> int:
    """Queue one visit's notice (SMS, and a letter when the visit is days away) and record it on the visit."""
    not_before = earliest_notice_time(case_id=visit.case_id, now=now)
    context = notice_context(visit)
    message = notify.message_queue(
        actor=actor, template="visit_notice", channel="sms", context=context,
        idempotency_key=f"visit-notice:{visit.pk}:sms", case=visit.case, borrower=visit.borrower,
        not_before=not_before, contact=True,
    )
    if visit.window_start - now >= dt.timedelta(days=LETTER_MIN_DAYS):
        notify.message_queue(
            actor=actor, template="visit_notice", channel="letter", context=context,
            idempotency_key=f"visit-notice:{visit.pk}:letter", case=visit.case, borrower=visit.borrower,
            not_before=not_before, contact=True,
        )
    sent_at = getattr(message, "send_after", None) or not_before
    with transaction.atomic():
        locked = Visit.objects.select_for_update().get(pk=visit.pk)
        locked.notice_sent_at = max(sent_at, not_before)
        locked.notice_message_id = message.pk
        locked.save(update_fields=["notice_sent_at", "notice_message_id"])
        audit_record(actor=actor, action="visits.visit.notice_queued", target=locked,
                     data={"message": message.pk, "send_after": locked.notice_sent_at.isoformat()})
    return 1


def _cancellation_notice(actor: Actor, visit_id: int) -> None:
    notify = _notify()
    if notify is None:
        return
    visit = Visit.objects.select_related("borrower", "case", "collector__user", "partner__user").get(pk=visit_id)
    if visit.notice_message_id is None:
        return
    if hasattr(notify, "message_cancel"):
        # Already sent, it cannot be withdrawn: the borrower hears of the cancellation below.
        with contextlib.suppress(ValidationError):
            notify.message_cancel(actor=actor, message_id=visit.notice_message_id, reason="visit cancelled")
    now = timezone.now()
    notify.message_queue(
        actor=actor, template="visit_cancelled", channel="sms", context=notice_context(visit),
        idempotency_key=f"visit-cancelled:{visit.pk}:sms", case=visit.case, borrower=visit.borrower,
        not_before=earliest_notice_time(case_id=visit.case_id, now=now), contact=False,
    )


# ---------------------------------------------------------------- answers, moves, cancellations


def _may_handle(actor: Actor, visit: Visit) -> None:
    if actor is None:
        return
    if isinstance(actor, str):
        if actor.startswith("borrower:") and actor != f"borrower:{visit.borrower_id}":
            raise PermissionDenied(_("This visit is not yours."))
        return
    if actor.has_perm("visits.plan_visits") and (  # type: ignore[attr-defined]
        has_role(actor, Role.ADMIN, Role.MANAGER) or visit.collector.team.supervisor_id == actor.pk
    ):
        return
    collector = Collector.objects.filter(user=actor).first()
    if collector is not None and collector.pk in (visit.collector_id, visit.partner_id) and actor.has_perm(
        "visits.record_visits"
    ):
        return
    raise PermissionDenied(_("You may not change this visit."))


def _replan_after_commit(actor: Actor, visits: list[tuple[int, dt.date]], reason: str) -> None:
    """Re-plan the published plans of these (team, day) pairs once the change is committed."""
    wanted = sorted(set(visits))
    if not wanted:
        return

    def run() -> None:
        from doorstep.visits.planning import day_plan_replan

        for team_id, day in wanted:
            try:
                day_plan_replan(actor=actor, team_id=team_id, day=day, reason=reason)
            except Exception:  # the change stands; the published plan stays as it was until planned again
                logger.exception("Re-planning team %s on %s failed", team_id, day)

    transaction.on_commit(run)


def _team_day(visit: Visit) -> tuple[int, dt.date]:
    return visit.collector.team_id, visit.window_start.astimezone(selectors.local_zone()).date()


def _cancel_locked(visit: Visit, reason: str, response: str | None = None) -> None:
    if not visit.can_move_to(VisitStatus.CANCELLED):
        raise ValidationError(_("A visit that is %(status)s cannot be cancelled.") % {
            "status": visit.get_status_display()})
    visit.status = VisitStatus.CANCELLED
    visit.cancelled_at = timezone.now()
    visit.cancel_reason = reason[:300]
    fields = ["status", "cancelled_at", "cancel_reason"]
    if response:
        visit.response = response
        fields.append("response")
    visit.save(update_fields=fields)


def _move(actor: Actor, visit: Visit, new_window_start: dt.datetime, channel: str, note: str) -> Visit:
    slots = selectors.visit_slots(visit=visit)
    match = next((slot for slot in slots if slot[0] == new_window_start), None)
    if match is None:
        raise ValidationError(_("That time is not one of the times on offer."))
    _cancel_locked(visit, note or "moved", response=BorrowerResponse.RESCHEDULED)
    visit.response_channel, visit.response_at = channel, timezone.now()
    visit.response_by_label, visit.response_note = _label(actor), note[:300]
    visit.save(update_fields=["response_channel", "response_at", "response_by_label", "response_note"])
    return Visit.objects.create(
        case_id=visit.case_id, borrower_id=visit.borrower_id, purpose=visit.purpose, script_code=visit.script_code,
        strategy_priority=visit.strategy_priority, window_start=match[0], window_end=match[1],
        service_minutes=visit.service_minutes, latitude=visit.latitude, longitude=visit.longitude,
        collector_id=visit.collector_id, partner_id=visit.partner_id, rescheduled_from=visit,
        created_by_label=_label(actor), response=BorrowerResponse.CONFIRMED, response_channel=channel,
        response_at=timezone.now(), response_by_label=_label(actor), response_note=note[:300],
    )


def visit_answer_record(
    *, actor: Actor, visit_id: int, answer: str, channel: str, note: str = "",
    new_window_start: dt.datetime | None = None,
) -> Visit:
    """Record the borrower's answer to a notice: confirmed, declined (note: why), moved to one of the
    offered windows (the old visit is cancelled and a new one made), or no answer. Returns the visit the
    borrower now has."""
    if answer not in BorrowerResponse.values or answer == BorrowerResponse.PENDING:
        raise ValidationError(_("Unknown answer."))
    if channel not in ResponseChannel.values:
        raise ValidationError(_("Unknown channel."))
    note = (note or "").strip()
    if answer == BorrowerResponse.DECLINED and not note:
        raise ValidationError(_("Say why the borrower declined."))
    with transaction.atomic():
        visit = Visit.objects.select_for_update(of=("self",)).select_related("collector__team", "collector__user",
                                                                  "partner__user").get(pk=visit_id)
        _may_handle(actor, visit)
        if visit.status != VisitStatus.SCHEDULED:
            raise ValidationError(_("Only a scheduled visit can be answered."))
        before = visit.response
        touched = [_team_day(visit)]
        if answer == BorrowerResponse.RESCHEDULED:
            if new_window_start is None:
                raise ValidationError(_("Choose the new time."))
            result = _move(actor, visit, new_window_start, channel, note)
            touched.append(_team_day(result))
        else:
            visit.response, visit.response_channel, visit.response_at = answer, channel, timezone.now()
            visit.response_by_label, visit.response_note = _label(actor), note[:300]
            visit.save(update_fields=["response", "response_channel", "response_at", "response_by_label",
                                      "response_note"])
            result = visit
        audit_record(
            actor=actor, action="visits.visit.answered", target=visit,
            data={"from": before, "answer": answer, "channel": channel, "note": note[:300],
                  "new_visit": result.pk if result.pk != visit.pk else None},
        )
        if answer == BorrowerResponse.RESCHEDULED:
            new_id = result.pk
            transaction.on_commit(lambda: visit_notices_send(actor=actor, visit_ids=[new_id]))
        if answer in (BorrowerResponse.RESCHEDULED, BorrowerResponse.CONFIRMED):
            _replan_after_commit(actor, touched, _("The borrower's answer changed the day."))
    return result


def visit_move(*, actor: Actor, visit_id: int, new_window_start: dt.datetime, reason: str) -> Visit:
    """A team lead moves a visit to another offered window; the borrower is sent a new notice."""
    reason = _clean_reason(reason)
    with transaction.atomic():
        visit = Visit.objects.select_for_update(of=("self",)).select_related("collector__team").get(pk=visit_id)
        _require_planner(actor, {visit.collector.team_id})
        if visit.status != VisitStatus.SCHEDULED:
            raise ValidationError(_("Only a scheduled visit can be moved."))
        old = _team_day(visit)
        moved = _move(actor, visit, new_window_start, ResponseChannel.SYSTEM, reason)
        moved.response = BorrowerResponse.PENDING
        moved.response_channel = ""
        moved.response_at = None
        moved.response_by_label = ""
        moved.save(update_fields=["response", "response_channel", "response_at", "response_by_label"])
        audit_record(actor=actor, action="visits.visit.moved", target=visit,
                     data={"new_visit": moved.pk, "window_start": moved.window_start.isoformat(), "reason": reason})
        new_id = moved.pk
        transaction.on_commit(lambda: visit_notices_send(actor=actor, visit_ids=[new_id]))
        _replan_after_commit(actor, [old, _team_day(moved)], reason)
    return moved


def visit_cancel(*, actor: Actor, visit_id: int, reason: str, tell_borrower: bool = True) -> Visit:
    """Cancel a scheduled visit with a reason; the borrower who had a notice is told; the day is re-planned."""
    reason = _clean_reason(reason)
    with transaction.atomic():
        visit = Visit.objects.select_for_update(of=("self",)).select_related("collector__team").get(pk=visit_id)
        _require_planner(actor, {visit.collector.team_id})
        if visit.status != VisitStatus.SCHEDULED:
            raise ValidationError(_("Only a scheduled visit can be cancelled."))
        _cancel_locked(visit, reason)
        audit_record(actor=actor, action="visits.visit.cancelled", target=visit, data={"reason": reason})
        if tell_borrower:
            transaction.on_commit(lambda: _cancellation_notice(actor, visit.pk))
        _replan_after_commit(actor, [_team_day(visit)], reason)
    return visit


def visits_cancel_for_case(*, actor: Actor, case_id: int, reason: str) -> int:
    """Cancel the case's scheduled visits (paid, cured, closed…), tell the borrower, re-plan; returns how many."""
    reason = _clean_reason(reason)
    with transaction.atomic():
        visits = list(
            Visit.objects.select_for_update(of=("self",)).select_related("collector__team")
            .filter(case_id=case_id, status=VisitStatus.SCHEDULED)
        )
        touched = []
        for visit in visits:
            _cancel_locked(visit, reason)
            touched.append(_team_day(visit))
            audit_record(actor=actor, action="visits.visit.cancelled", target=visit,
                         data={"reason": reason, "for_case": case_id})
        ids = [visit.pk for visit in visits]
        transaction.on_commit(lambda: [_cancellation_notice(actor, visit_id) for visit_id in ids])
        _replan_after_commit(actor, touched, reason)
    return len(visits)


def visit_reassign(*, actor: Actor, visit_id: int, crew_id: int, reason: str) -> Visit:
    """Give a scheduled visit to another active crew whose members the gate allows at that time."""
    from doorstep.compliance.services import ContactAction, check

    reason = _clean_reason(reason)
    with transaction.atomic():
        visit = Visit.objects.select_for_update(of=("self",)).select_related("collector__team").get(pk=visit_id)
        crew = Crew.objects.select_related("lead", "partner").filter(pk=crew_id, is_active=True).first()
        if crew is None:
            raise ValidationError(_("Choose an active crew."))
        _require_planner(actor, {visit.collector.team_id, crew.team_id})
        if visit.status != VisitStatus.SCHEDULED:
            raise ValidationError(_("Only a scheduled visit can be given to another crew."))
        if len(crew.members) < min_team():
            raise ValidationError(_("The rules require more collectors at the door than this crew has."))
        verdict = check(ContactAction(case_id=visit.case_id, channel="visit", start=visit.window_start,
                                      end=visit.window_end, collector_ids=tuple(m.pk for m in crew.members)))
        if not verdict.allowed:
            raise ValidationError(_("The compliance gate does not allow this crew at that time: %(rules)s") % {
                "rules": ", ".join(verdict.rule_ids)})
        before = (visit.collector_id, visit.partner_id)
        old = _team_day(visit)
        visit.collector_id, visit.partner_id = crew.lead_id, crew.partner_id
        visit.save(update_fields=["collector", "partner"])
        visit.collector = crew.lead
        audit_record(actor=actor, action="visits.visit.reassigned", target=visit,
                     data={"from": list(before), "to": [crew.lead_id, crew.partner_id], "reason": reason})
        _replan_after_commit(actor, [old, _team_day(visit)], reason)
    return visit


def _check_field_collector(collector: Collector, case: Case) -> None:
    """A field case goes only to a collector who may go to the door today and works the borrower's area."""
    from doorstep.collectors.selectors import missing_certificates
    from doorstep.compliance.services import default_jurisdiction

    lacking = missing_certificates(on=timezone.localdate(), jurisdiction=default_jurisdiction(),
                                   collector_ids={collector.pk}).get(collector.pk)
    if lacking is None:
        raise ValidationError(_("%(collector)s is not active and cannot take cases.") % {"collector": collector})
    if lacking:
        raise ValidationError(_("%(collector)s lacks a valid certificate: %(kinds)s.") % {
            "collector": collector, "kinds": ", ".join(sorted(str(CertificateKind(kind).label) for kind in lacking))})
    containing = _territories_at(case.borrower.latitude, case.borrower.longitude, list(Territory.objects.all()))
    worked = set(collector.territories.values_list("pk", flat=True)) or set(
        collector.team.territories.values_list("pk", flat=True))
    if worked and containing and not worked & containing:
        raise ValidationError(_("%(collector)s does not work the borrower's territory.") % {"collector": collector})


def case_reassign(*, actor: Actor, case_id: int, collector_id: int, reason: str) -> int:
    """Give a case to another collector (their crew takes its scheduled visits), all or nothing. The
    collector must be field-ready today and work the borrower's territory. Returns visits moved."""
    from doorstep.collectors.services import case_assign

    reason = _clean_reason(reason)
    collector = Collector.objects.select_related("team", "user").get(pk=collector_id)
    case = Case.objects.select_related("borrower").get(pk=case_id)
    _require_planner(actor, {collector.team_id})
    _check_field_collector(collector, case)
    with transaction.atomic():
        case_assign(actor=actor, case=case, team=collector.team, collector=collector, reason=reason)
        crew = selectors.crew_of(collector.pk)
        moved = 0
        if crew is not None:
            for visit in Visit.objects.filter(case_id=case_id, status=VisitStatus.SCHEDULED).exclude(
                collector_id=crew.lead_id
            ):
                visit_reassign(actor=actor, visit_id=visit.pk, crew_id=crew.pk, reason=reason)
                moved += 1
    return moved


def alert_acknowledge(*, actor: AbstractBaseUser, alert_id: int) -> VisitAlert:
    with transaction.atomic():
        alert = VisitAlert.objects.select_for_update(of=("self",)).select_related("collector").get(pk=alert_id)
        _require_planner(actor, {alert.collector.team_id})
        if alert.acknowledged_at is None:
            alert.acknowledged_at = timezone.now()
            alert.acknowledged_by = actor  # type: ignore[assignment]
            alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
            audit_record(actor=actor, action="visits.alert.acknowledged", target=alert, data={"kind": alert.kind})
    return alert


def visits_cancel_closed_cases(*, actor: Actor) -> int:
    """Cancel the scheduled visits of cases no longer in collection (paid, cured, closed, written off)."""
    case_ids = sorted(set(
        Visit.objects.filter(status=VisitStatus.SCHEDULED).exclude(case__status__in=ACTIVE_CASE_STATUSES)
        .values_list("case_id", flat=True)
    ))
    total = 0
    for case_id in case_ids:
        total += visits_cancel_for_case(actor=actor, case_id=case_id,
                                        reason=_("The case was settled or closed after the visit was planned"))
    return total

