"""Reads of the contact ledger and the rule sets, scoped to the person asking."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.collectors.models import Collector, Team
from doorstep.compliance.models import ContactEvent, RetentionRun, Rule, RuleSet, Verdict
from doorstep.compliance.reasons import reason_text
from doorstep.core.roles import sees_whole_portfolio
from doorstep.portfolio import selectors as portfolio_selectors
from doorstep.portfolio.models import Case

User = AbstractBaseUser | AnonymousUser
REPORT_PERMISSION = "compliance.view_compliance_reports"
RECENT_LIMIT = 200


def require_reports(user: User) -> None:
    if not user.has_perm(REPORT_PERMISSION):  # type: ignore[union-attr]
        raise PermissionDenied(_("You may not see compliance reports."))


def contacts_visible(*, user: User) -> QuerySet[ContactEvent]:
    """Ledger rows of the cases `user` may see."""
    contacts = ContactEvent.objects.all()
    if sees_whole_portfolio(user):
        return contacts
    return contacts.filter(case__in=portfolio_selectors.case_list(user=user).values("pk"))


def contact_get(*, user: User, contact_id: int) -> ContactEvent:
    contact = contacts_visible(user=user).select_related("case__borrower", "overridden_by").filter(pk=contact_id).first()
    if contact is None:
        raise Http404("no such contact")
    return contact


def with_reasons(contact: ContactEvent) -> ContactEvent:
    """Attach each fired rule's sentence in the active language, for templates."""
    contact.reasons = [{**hit, "reason": reason_text(hit)} for hit in contact.rules_fired]  # type: ignore[attr-defined]
    contact.collector_names = [c.display_name for c in contact.collectors.all()]  # type: ignore[attr-defined]
    return contact


def case_timeline(*, user: User, case_id: int) -> tuple[Case, list[ContactEvent]]:
    """Every contact of a case, refused ones included, oldest first, with verdicts and reasons."""
    require_reports(user)
    case = portfolio_selectors.case_get(user=user, case_id=case_id)
    contacts = (
        ContactEvent.objects.filter(case=case)
        .select_related("overridden_by", "team")
        .prefetch_related("collectors__user")
        .order_by("started_at", "id")
    )
    return case, [with_reasons(contact) for contact in contacts]


@dataclass
class RuleCount:
    rule_id: str
    refused: int = 0
    overridden: int = 0
    near_misses: int = 0

    @property
    def total(self) -> int:
        return self.refused + self.overridden + self.near_misses


@dataclass
class Report:
    since: dt.date
    until: dt.date
    total: int = 0
    allowed: int = 0
    refused: int = 0
    overridden: int = 0
    near_misses: int = 0
    by_rule: list[RuleCount] = field(default_factory=list)
    by_collector: list[dict[str, Any]] = field(default_factory=list)
    by_team: list[dict[str, Any]] = field(default_factory=list)
    recent: list[ContactEvent] = field(default_factory=list)


def _period(since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = timezone.get_default_timezone()
    start = timezone.make_aware(dt.datetime.combine(since, dt.time.min), zone)
    end = timezone.make_aware(dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min), zone)
    return start, end


def report_contacts(
    *, user: User, since: dt.date, until: dt.date, team_id: int | None = None, collector_id: int | None = None
) -> QuerySet[ContactEvent]:
    require_reports(user)
    start, end = _period(since, until)
    contacts = contacts_visible(user=user).filter(started_at__gte=start, started_at__lt=end)
    if team_id:
        contacts = contacts.filter(team_id=team_id)
    if collector_id:
        contacts = contacts.filter(collectors=collector_id)
    return contacts


def compliance_report(
    *, user: User, since: dt.date, until: dt.date, team_id: int | None = None, collector_id: int | None = None
) -> Report:
    """Refusals, overrides and near misses over a period, by rule, collector and team."""
    contacts = report_contacts(user=user, since=since, until=until, team_id=team_id, collector_id=collector_id)
    report = Report(since, until)
    totals = contacts.aggregate(
        total=Count("id"),
        allowed=Count("id", filter=Q(verdict=Verdict.ALLOWED)),
        refused=Count("id", filter=Q(verdict=Verdict.REFUSED)),
        overridden=Count("id", filter=Q(verdict=Verdict.OVERRIDDEN)),
        near_misses=Count("id", filter=Q(near_miss=True)),
    )
    for name, value in totals.items():
        setattr(report, name, value or 0)

    notable = contacts.filter(Q(verdict__in=[Verdict.REFUSED, Verdict.OVERRIDDEN]) | Q(near_miss=True))
    by_rule: dict[str, RuleCount] = {}
    per_collector: dict[int, Counter[str]] = defaultdict(Counter)
    per_team: dict[int | None, Counter[str]] = defaultdict(Counter)
    rows = notable.values_list("id", "verdict", "near_miss", "rules_fired", "team_id")
    kinds: dict[int, str] = {}
    for contact_id, verdict, near_miss, fired, team in rows.iterator(chunk_size=2000):
        kind = "overridden" if verdict == Verdict.OVERRIDDEN else "refused" if verdict == Verdict.REFUSED else "near_misses"
        kinds[contact_id] = kind
        per_team[team][kind] += 1
        for hit in fired or []:
            count = by_rule.setdefault(hit["rule_id"], RuleCount(hit["rule_id"]))
            if hit.get("severity") == "refuse" and verdict in (Verdict.REFUSED, Verdict.OVERRIDDEN):
                setattr(count, kind, getattr(count, kind) + 1)
            elif hit.get("severity") == "warn" and near_miss:
                count.near_misses += 1
    links = ContactEvent.collectors.through.objects.filter(contactevent_id__in=notable.values("pk"))
    for contact_id, collector in links.values_list("contactevent_id", "collector_id").iterator(chunk_size=2000):
        per_collector[collector][kinds.get(contact_id, "near_misses")] += 1
    report.by_rule = sorted(by_rule.values(), key=lambda row: (-row.total, row.rule_id))
    names = {c.pk: c for c in Collector.objects.filter(pk__in=per_collector).select_related("user", "team")}
    report.by_collector = sorted(
        (
            {"collector": names.get(pk), "refused": c["refused"], "overridden": c["overridden"],
             "near_misses": c["near_misses"]}
            for pk, c in per_collector.items()
        ),
        key=lambda row: -(row["refused"] + row["overridden"] + row["near_misses"]),
    )
    teams = {t.pk: t for t in Team.objects.filter(pk__in=[pk for pk in per_team if pk])}
    report.by_team = sorted(
        (
            {"team": teams.get(pk) if pk else None, "refused": c["refused"], "overridden": c["overridden"],
             "near_misses": c["near_misses"]}
            for pk, c in per_team.items()
        ),
        key=lambda row: -(row["refused"] + row["overridden"] + row["near_misses"]),
    )
    recent = (
        contacts.filter(verdict__in=[Verdict.REFUSED, Verdict.OVERRIDDEN])
        .select_related("case__borrower", "overridden_by", "team")
        .prefetch_related("collectors__user")
        .order_by("-started_at", "-id")[:RECENT_LIMIT]
    )
    report.recent = [with_reasons(contact) for contact in recent]
    return report


EXPORT_COLUMNS = [
    "contact_id", "case_id", "customer_id", "channel", "direction", "target", "purpose", "started_at_utc",
    "ended_at_utc", "verdict", "rules_refused", "rules_warned", "rule_set_version", "near_miss",
    "override_reason", "overridden_by", "overridden_at_utc", "collector_badges", "team", "connected",
    "right_party", "outcome_code",
]


def export_rows(*, user: User, since: dt.date, until: dt.date) -> Iterator[list[str]]:
    """The ledger over a period for a regulator: no phone numbers, no national IDs."""
    if not sees_whole_portfolio(user):
        raise PermissionDenied(_("Only the compliance office exports the ledger."))
    contacts = (
        report_contacts(user=user, since=since, until=until)
        .select_related("case__borrower", "overridden_by", "team")
        .prefetch_related("collectors")
        .order_by("started_at", "id")
    )
    yield EXPORT_COLUMNS

    def iso(value: dt.datetime | None) -> str:
        return value.astimezone(dt.UTC).isoformat() if value else ""

    for contact in contacts.iterator(chunk_size=2000):
        fired = contact.rules_fired or []
        yield [
            str(contact.pk), str(contact.case_id), contact.case.borrower.customer_id, contact.channel,
            contact.direction, contact.target, contact.purpose, iso(contact.started_at), iso(contact.ended_at),
            contact.verdict,
            " ".join(hit["rule_id"] for hit in fired if hit.get("severity") == "refuse"),
            " ".join(hit["rule_id"] for hit in fired if hit.get("severity") == "warn"),
            contact.rule_set_version, "1" if contact.near_miss else "0", contact.override_reason,
            contact.overridden_by.get_username() if contact.overridden_by else "", iso(contact.overridden_at),
            " ".join(sorted(c.badge_number for c in contact.collectors.all())), contact.team.name if contact.team else "",
            "" if contact.connected is None else str(int(contact.connected)),
            "" if contact.right_party is None else str(int(contact.right_party)), contact.outcome_code,
        ]


def rule_sets_current() -> list[RuleSet]:
    return list(RuleSet.objects.filter(is_active=True).order_by("jurisdiction"))


def rule_set_history(jurisdiction: str) -> list[RuleSet]:
    return list(RuleSet.objects.filter(jurisdiction=jurisdiction).order_by("-version"))


def rule_set_get(rule_set_id: int) -> tuple[RuleSet, list[Rule]]:
    rule_set = RuleSet.objects.filter(pk=rule_set_id).first()
    if rule_set is None:
        raise Http404("no such rule set")
    return rule_set, list(rule_set.rules.order_by("id"))


def retention_runs() -> list[RetentionRun]:
    return list(RetentionRun.objects.all()[:50])
