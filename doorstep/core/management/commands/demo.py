"""`doorstep demo`: one command from an empty checkout to a running Doorstep with a believable portfolio.

It migrates, writes a demo snapshot with `demo-data`, imports it through the real snapshot import,
creates the demo staff (one login per role, teams per branch, territories per district, collectors
with homes and shifts), gives the unassigned cases to teams and collectors, prints how to log in, and
serves. Running it again on the same database is safe: people, teams and territories are found by
their names, an identical snapshot is not imported twice, and cases already assigned stay where they are.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import unicodedata
from argparse import ArgumentParser
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.collectors import selectors as collector_selectors
from doorstep.collectors.demo_allocation import allocate_nearest_with_capacity
from doorstep.collectors.models import CaseAssignment, Collector, Team, Territory
from doorstep.collectors.services import PlannedAssignment, cases_assign_bulk
from doorstep.core.audit import audit_record
from doorstep.core.demo import DEMO_ACTOR, DemoContext, demo_steps
from doorstep.core.roles import ROLE_LABELS, Role
from doorstep.portfolio.demo_data import CHENGDU_DISTRICTS, GIVEN_NAME_CHARACTERS, SURNAMES, Branch, District
from doorstep.portfolio.management.commands.demo_data import (
    DEFAULT_ACCOUNTS,
    DEFAULT_SEED,
    default_snapshot_path,
    iso_date,
    positive_int,
)
from doorstep.portfolio.models import ACTIVE_CASE_STATUSES, Case, SnapshotImport

# Published demo passwords, one per role. The command refuses to run in production.
DEMO_PASSWORDS: dict[Role, str] = {
    Role.ADMIN: "demo-admin-2026",
    Role.MANAGER: "demo-manager-2026",
    Role.SUPERVISOR: "demo-lead-2026",
    Role.COLLECTOR: "demo-collector-2026",
    Role.TRAINER: "demo-trainer-2026",
    Role.COMPLIANCE: "demo-compliance-2026",
}
# Field collectors carry about this many open cases each; every team has between these many collectors.
CASES_PER_COLLECTOR = 80
COLLECTORS_PER_TEAM = (2, 40)

# (ISO work days, shift start, shift end, visits a day): weekday, Tuesday-to-Saturday and early shifts.
SHIFT_PATTERNS = (
    ("12345", "09:00", "18:00", 8),
    ("23456", "10:00", "19:00", 7),
    ("12345", "08:30", "17:30", 9),
)


@dataclass(frozen=True)
class Login:
    role: Role
    username: str
    sees: str


def person_name(key: str) -> str:
    """A Chinese name that is always the same for the same key (a username)."""
    pick = random.Random(key)
    given = pick.choice(GIVEN_NAME_CHARACTERS) + (
        pick.choice(GIVEN_NAME_CHARACTERS) if pick.random() < 0.7 else ""
    )
    return pick.choice(SURNAMES[:40]) + given


def lead_username(branch: Branch) -> str:
    return f"lead{branch.code[2:]}"


def collector_username(branch: Branch, number: int) -> str:
    return f"c{branch.code[2:]}{number:02d}"


def territory_name(district: District) -> str:
    return f"{district.name}片区"


def team_name(branch: Branch) -> str:
    return f"{branch.name}外访组"


class DemoStaff:
    """Creates, or finds again, the demo staff. Passwords are hashed once per role, not once per person."""

    def __init__(self) -> None:
        self.hashed = {role: make_password(password) for role, password in DEMO_PASSWORDS.items()}
        self.groups = {role: Group.objects.get_or_create(name=role.value)[0] for role in Role}
        self.created: dict[str, int] = {"users": 0, "teams": 0, "territories": 0, "collectors": 0}

    def user(self, username: str, role: Role, full_name: str) -> User:
        user, created = User.objects.get_or_create(username=username, defaults={"first_name": full_name})
        self.created["users"] += int(created)
        # The published password always works, even if someone changed it in an earlier demo session.
        user.password = self.hashed[role]
        user.is_active = True
        user.is_staff = role is Role.ADMIN
        user.is_superuser = role is Role.ADMIN
        user.save()
        user.groups.add(self.groups[role])
        return user

    def territory(self, district: District) -> Territory:
        territory, created = Territory.objects.get_or_create(
            name=territory_name(district),
            defaults={
                "branch_code": district.branches[0].code,
                "centre_latitude": Decimal(f"{district.latitude:.6f}"),
                "centre_longitude": Decimal(f"{district.longitude:.6f}"),
                # Three spreads of the borrowers' addresses: the district's built-up area.
                "radius_km": Decimal(f"{district.spread_km * 3:.2f}"),
            },
        )
        self.created["territories"] += int(created)
        return territory

    def team(self, branch: Branch, territory: Territory) -> Team:
        supervisor = self.user(lead_username(branch), Role.SUPERVISOR, person_name(lead_username(branch)))
        team, created = Team.objects.get_or_create(
            name=team_name(branch), branch_code=branch.code, defaults={"supervisor": supervisor}
        )
        self.created["teams"] += int(created)
        if team.supervisor_id is None:
            team.supervisor = supervisor
            team.save(update_fields=["supervisor"])
        team.territories.add(territory)
        return team

    def collector(self, branch: Branch, team: Team, territory: Territory, number: int) -> Collector:
        username = collector_username(branch, number)
        user = self.user(username, Role.COLLECTOR, person_name(username))
        existing = Collector.objects.filter(user=user).first()
        if existing is not None:
            return existing
        place = random.Random(username)
        # Collectors live inside their territory, within half its radius of the centre.
        distance = float(territory.radius_km) * 0.5 * math.sqrt(place.random())
        bearing = place.uniform(0, 2 * math.pi)
        latitude = float(territory.centre_latitude) + distance * math.cos(bearing) / 111.32
        longitude = float(territory.centre_longitude) + distance * math.sin(bearing) / (
            111.32 * math.cos(math.radians(float(territory.centre_latitude)))
        )
        work_days, start, end, visits = SHIFT_PATTERNS[(number - 1) % len(SHIFT_PATTERNS)]
        collector = Collector.objects.create(
            user=user,
            badge_number=f"{branch.code}{number:02d}",
            team=team,
            home_latitude=Decimal(f"{latitude:.6f}"),
            home_longitude=Decimal(f"{longitude:.6f}"),
            visits_per_day=visits,
            work_days=work_days,
            shift_start=dt.time.fromisoformat(start),
            shift_end=dt.time.fromisoformat(end),
            is_experienced=number % 2 == 0,
        )
        collector.territories.add(territory)
        self.created["collectors"] += 1
        return collector


def padded(text: str, columns: int) -> str:
    """`text` padded to `columns` terminal columns; Chinese characters take two."""
    width = sum(2 if unicodedata.east_asian_width(character) in "WF" else 1 for character in text)
    return text + " " * max(columns - width, 1)


def collectors_needed(cases: int) -> int:
    low, high = COLLECTORS_PER_TEAM
    return min(max(math.ceil(cases / CASES_PER_COLLECTOR), low), high)


STANDARD_STRATEGY = "standard"
# (rule name, condition, treatment path) of the demo's standard strategy, one rule per bucket.
STANDARD_RULES: list[tuple[str, str, list[dict[str, object]]]] = [
    (
        "M1 短信与电话提醒",
        "bucket = M1",
        [
            {"channel": "sms", "day": 0, "script": "sms_reminder", "priority": 4},
            {"channel": "call", "day": 3, "every": 7, "script": "call_early", "priority": 3},
        ],
    ),
    (
        "M2 电话协商，未果外访",
        "bucket = M2",
        [
            {"channel": "call", "day": 0, "every": 5, "script": "call_m2", "priority": 3},
            {"channel": "visit", "day": 7, "script": "visit_first", "priority": 2},
        ],
    ),
    (
        "M3 上门外访",
        "bucket = M3",
        [
            {"channel": "visit", "day": 0, "script": "visit_first", "priority": 2},
            {"channel": "letter", "day": 3, "script": "letter_formal", "priority": 3},
            {"channel": "visit", "day": 14, "every": 14, "script": "visit_followup", "priority": 2},
        ],
    ),
    (
        "M4+ 外访与法律评估",
        "bucket = M4+",
        [
            {"channel": "visit", "day": 0, "script": "visit_followup", "priority": 1},
            {"channel": "legal", "day": 14, "script": "legal_review", "priority": 1},
        ],
    ),
]


class Command(BaseCommand):
    help = "Set up a demo Doorstep (portfolio, staff, assignments) on the configured database and serve it."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--accounts", type=positive_int, default=DEFAULT_ACCOUNTS, help="number of loans")
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="the same seed gives the same portfolio"
        )
        parser.add_argument("--date", type=iso_date, default=None, help="snapshot date (default: today)")
        parser.add_argument("--port", type=positive_int, default=8000, help="port to serve on, on 127.0.0.1")
        parser.add_argument("--no-serve", action="store_true", help="set everything up, then stop")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "`doorstep demo` creates logins with published passwords; it never runs in production."
            )
        verbosity = int(options["verbosity"])
        self.step("Migrating the database")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)

        staff = DemoStaff()
        with transaction.atomic():
            admin = staff.user("admin", Role.ADMIN, person_name("admin"))
            manager = staff.user("manager", Role.MANAGER, person_name("manager"))
            staff.user("trainer", Role.TRAINER, person_name("trainer"))
            staff.user("compliance", Role.COMPLIANCE, person_name("compliance"))

        snapshot_date = self.snapshot_date(options["date"])
        path = default_snapshot_path(
            accounts=options["accounts"], seed=options["seed"], snapshot_date=snapshot_date, file_format="csv"
        )
        self.step("Writing the demo snapshot")
        call_command(
            "demo_data",
            accounts=options["accounts"],
            seed=options["seed"],
            date=snapshot_date,
            out=path,
            stdout=self.stdout,
            verbosity=verbosity,
        )
        self.step("Importing it")
        self.import_snapshot(path=path, snapshot_date=snapshot_date, actor=manager)

        self.step("Creating teams, territories and collectors")
        with transaction.atomic():
            teams = self.build_teams(staff)
            audit_record(actor=DEMO_ACTOR, action="core.demo.staff_ready", data=dict(staff.created))
        self.stdout.write(
            "  {users} new logins, {teams} new teams, {territories} new territories, {collectors} new collectors".format(
                **staff.created
            )
        )

        self.step("Assigning open cases to teams and collectors")
        self.assign(teams=teams, actor=manager)
        self.step("Recording training certificates and a day of contacts through the compliance gate")
        self.certify_collectors(snapshot_date=snapshot_date, recorded_by=admin)
        self.record_contacts(snapshot_date=snapshot_date)
        self.step("Activating the standard strategy and running the daily cycle")
        self.run_daily(snapshot_date=snapshot_date, manager=manager, approver=admin)
        context = DemoContext(
            snapshot_date=snapshot_date,
            accounts=options["accounts"],
            seed=options["seed"],
            admin=admin,
            manager=manager,
            say=lambda line: self.stdout.write(f"  {line}"),
        )
        for app, demo_run in demo_steps():
            self.step(f"Demo: {app}")
            demo_run(context)
        self.print_logins(admin=admin, teams=teams, port=options["port"])

        if not options["no_serve"]:
            # No autoreloader: it would start this whole command again in a child process.
            call_command("runserver", f"127.0.0.1:{options['port']}", use_reloader=False)

    def certify_collectors(self, *, snapshot_date: dt.date, recorded_by: User) -> None:
        """Pre-job and annual training certificates for every demo collector but the last, whose annual
        refresher has lapsed, so that the gate's training rule (CN-A2) can be seen refusing."""
        from doorstep.collectors.models import Certificate, CertificateKind

        collectors = list(Collector.objects.filter(badge_number__startswith="CD").order_by("badge_number"))
        issued = snapshot_date - dt.timedelta(days=200)
        rows = []
        for index, collector in enumerate(collectors):
            if collector.certificates.exists():
                continue
            lapsed = index == len(collectors) - 1
            rows.append(
                Certificate(
                    collector=collector,
                    kind=CertificateKind.PRE_JOB,
                    number=f"PJ-{collector.badge_number}",
                    issued_on=issued - dt.timedelta(days=365),
                    recorded_by=recorded_by,
                )
            )
            rows.append(
                Certificate(
                    collector=collector,
                    kind=CertificateKind.ANNUAL,
                    number=f"AN-{collector.badge_number}",
                    issued_on=issued - dt.timedelta(days=400 if lapsed else 0),
                    expires_on=(issued - dt.timedelta(days=400 if lapsed else 0)) + dt.timedelta(days=365),
                    recorded_by=recorded_by,
                )
            )
        Certificate.objects.bulk_create(rows)
        self.stdout.write(f"  {len(rows)} certificates recorded")

    def record_contacts(self, *, snapshot_date: dt.date) -> None:
        """The day before the snapshot: each of the first cases of every collector gets a reminder SMS and a
        call, some late calls that the quiet-hours rule refuses, and one borrower called until the daily
        cap on connected calls refuses the next. Every attempt goes through `contact_record`, as the
        collector app will."""
        from zoneinfo import ZoneInfo

        from doorstep.compliance.models import ContactEvent
        from doorstep.compliance.services import ContactAction, check, contact_record

        if ContactEvent.objects.exists():
            return
        day = snapshot_date - dt.timedelta(days=1)
        zone = ZoneInfo(settings.TIME_ZONE)

        def at(hour: int, minute: int) -> dt.datetime:
            return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)

        assignments = (
            CaseAssignment.objects.filter(ended_at__isnull=True, collector__isnull=False)
            .select_related("collector__user")
            .order_by("collector__badge_number", "case_id")
        )
        per_collector: dict[int, int] = {}
        recorded = refused = 0
        for assignment in assignments:
            seen = per_collector.get(assignment.collector_id, 0)
            if seen >= 3:
                continue
            per_collector[assignment.collector_id] = seen + 1
            who = assignment.collector.user
            attempts = [
                ("sms", at(9, 5 + seen), None, ""),
                (
                    "call",
                    at(10 + seen, 20),
                    seen != 1,
                    "promise_to_pay" if seen == 0 else "no_answer" if seen == 1 else "refused",
                ),
            ]
            if seen == 2:
                attempts.append(("call", at(22, 15), True, "late_call"))
            if len(per_collector) == 1 and seen == 0:
                attempts += [("call", at(h, 40), True, "spoke") for h in (13, 15, 17)]
            for channel, start, connected, outcome in attempts:
                action = ContactAction(
                    case_id=assignment.case_id,
                    channel=channel,
                    start=start,
                    collector_ids=(assignment.collector_id,),
                )
                # What happened is known only for an attempt the gate let through.
                reached = check(action).allowed and channel == "call"
                _event, verdict = contact_record(
                    actor=who,
                    action=action,
                    connected=connected if reached else None,
                    right_party=bool(connected) if reached else None,
                    outcome_code=outcome if reached else "",
                )
                recorded += 1
                refused += not verdict.allowed
        self.stdout.write(f"  {recorded} contact attempts recorded, {refused} refused by the gate")

    def run_daily(self, *, snapshot_date: dt.date, manager: User, approver: User) -> None:
        """A standard strategy by bucket, drafted by the manager and approved by a second person (the
        admin), the first time; then the day's cycle through the real daily-run chain."""
        from doorstep.strategy import flows
        from doorstep.strategy import services as strategy
        from doorstep.strategy.models import Strategy

        if not Strategy.objects.filter(code=STANDARD_STRATEGY).exists():
            version = strategy.strategy_create(
                actor=manager,
                code=STANDARD_STRATEGY,
                name="标准催收策略",
                description="按账龄分层的标准处置路径",
            )
            for name, condition, steps in STANDARD_RULES:
                strategy.rule_save(
                    actor=manager, version_id=version.pk, name=name, condition=condition, steps=steps
                )
            strategy.version_submit(actor=manager, version_id=version.pk, note="演示：标准策略")
            strategy.version_approve(actor=approver, version_id=version.pk)
        run = flows.daily_run_prepare(actor=manager, business_date=snapshot_date)
        run = flows.daily_run_execute(run_id=run.pk, actor=manager)
        for run_step in run.steps.order_by("position"):
            self.stdout.write(f"  {run_step.name}: {run_step.status} {run_step.summary}")

    def step(self, text: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(text + " …"))

    def snapshot_date(self, asked: dt.date | None) -> dt.date:
        latest = (
            SnapshotImport.objects.order_by("-snapshot_date").values_list("snapshot_date", flat=True).first()
        )
        date = asked or timezone.localdate()
        if latest is not None and date < latest:
            if asked is not None:
                raise CommandError(
                    f"This database already holds the snapshot of {latest.isoformat()}; "
                    "a demo snapshot must not be older."
                )
            date = latest
        return date

    def import_snapshot(self, *, path: Path, snapshot_date: dt.date, actor: User) -> None:
        from doorstep.portfolio.services import snapshot_import

        record = snapshot_import(actor=actor, path=path, snapshot_date=snapshot_date)
        if getattr(record, "already_imported", False):
            self.stdout.write(
                f"  the portfolio already reflects this snapshot ({record.rows} loans); nothing to import"
            )
        else:
            self.stdout.write(
                f"  {record.rows} loans: {record.cases_opened} cases opened, {record.cases_updated} updated, "
                f"{record.cases_cured} cured ({record.seconds:.1f} s)"
            )

    def build_teams(self, staff: DemoStaff) -> dict[str, Team]:
        open_by_branch: dict[str, int] = {}
        for branch_code in Case.objects.filter(status__in=ACTIVE_CASE_STATUSES).values_list(
            "branch_code", flat=True
        ):
            open_by_branch[branch_code] = open_by_branch.get(branch_code, 0) + 1
        teams: dict[str, Team] = {}
        for district in CHENGDU_DISTRICTS:
            territory = staff.territory(district)
            for branch in district.branches:
                team = staff.team(branch, territory)
                teams[branch.code] = team
                for number in range(1, collectors_needed(open_by_branch.get(branch.code, 0)) + 1):
                    staff.collector(branch, team, territory, number)
        return teams

    def assign(self, *, teams: dict[str, Team], actor: User) -> None:
        team_by_branch = {code: team.pk for code, team in teams.items()}
        sites = collector_selectors.case_sites_to_allocate(team_by_branch=team_by_branch)
        bases = collector_selectors.collector_bases(team_ids=list(team_by_branch.values()))
        chosen = allocate_nearest_with_capacity(sites, bases)
        plan = [PlannedAssignment(site.case_id, site.team_id, chosen[site.case_id]) for site in sites]
        result = cases_assign_bulk(
            actor=actor,
            assignments=plan,
            reason=_(
                "Demo allocation: team of the loan's branch, nearest collector of the territory with room"
            ),
        )
        left_out = collector_selectors.cases_without_team().count()
        self.stdout.write(
            f"  {result.changed} cases assigned; {left_out} open cases of branches without a team"
        )

    def print_logins(self, *, admin: User, teams: dict[str, Team], port: int) -> None:
        counts = collector_selectors.team_case_counts()
        team_list = list(teams.values())
        first_team, last_team = team_list[0], team_list[-1]
        first_lead = first_team.supervisor.get_username() if first_team.supervisor else "-"
        last_lead = last_team.supervisor.get_username() if last_team.supervisor else "-"
        first_collector = first_team.collectors.select_related("user").order_by("badge_number").first()
        collector_name = first_collector.user.get_username() if first_collector else "-"
        collector_cases = (
            collector_selectors.collector_case_counts(team=first_team).get(first_collector.pk, 0)
            if first_collector
            else 0
        )
        collectors_total = Collector.objects.filter(team__in=team_list).count()
        open_cases = Case.objects.filter(status__in=ACTIVE_CASE_STATUSES).count()
        logins = [
            Login(
                Role.ADMIN,
                admin.get_username(),
                _("everything, and the admin site at /admin/ (%(cases)d open cases)") % {"cases": open_cases},
            ),
            Login(
                Role.MANAGER,
                "manager",
                _("the whole portfolio (%(cases)d open cases), imports, the audit trail")
                % {"cases": open_cases},
            ),
            Login(
                Role.SUPERVISOR,
                f"{first_lead} … {last_lead}",
                _("their team's cases only; %(lead)s leads %(team)s with %(cases)d cases (%(teams)d teams)")
                % {
                    "lead": first_lead,
                    "team": first_team.name,
                    "cases": counts.get(first_team.pk, 0),
                    "teams": len(teams),
                },
            ),
            Login(
                Role.COLLECTOR,
                f"{collector_name} …",
                _("their own cases only; %(collector)s has %(cases)d (%(collectors)d collectors)")
                % {"collector": collector_name, "cases": collector_cases, "collectors": collectors_total},
            ),
            Login(Role.TRAINER, "trainer", _("training; no cases")),
            Login(Role.COMPLIANCE, "compliance", _("every case, personal data masked; the audit trail")),
        ]
        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(_("Doorstep demo: %(url)s") % {"url": f"http://127.0.0.1:{port}/"})
        )
        header = (_("role"), _("username"), _("password"), _("what they see"))
        self.stdout.write(padded(header[0], 22) + padded(header[1], 22) + padded(header[2], 24) + header[3])
        for login in logins:
            self.stdout.write(
                padded(str(ROLE_LABELS[login.role]), 22)
                + padded(login.username, 22)
                + padded(DEMO_PASSWORDS[login.role], 24)
                + login.sees
            )
        self.stdout.write(
            _(
                "Collectors log in as c<district><branch><number>, e.g. c010101; team leads as lead<district><branch>."
            )
        )
        self.stdout.write("")
