"""Reads about teams, collectors and who works which case."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.apps import apps as django_apps
from django.db.models import Avg, Count, Exists, OuterRef, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from doorstep.collectors.demo_allocation import Area, CaseSite, CollectorBase
from doorstep.collectors.models import (
    CaseAssignment,
    Certificate,
    CertificateKind,
    Collector,
    Enrolment,
    FlagOutcome,
    QAReview,
    QASample,
    ReviewFlag,
    Team,
)
from doorstep.core.roles import Role, has_role
from doorstep.portfolio.models import ACTIVE_CASE_STATUSES, Case


def cases_without_team() -> QuerySet[Case]:
    """Cases in collection that nobody works yet (no current assignment)."""
    current = CaseAssignment.objects.filter(case=OuterRef("pk"), ended_at__isnull=True)
    return Case.objects.filter(status__in=ACTIVE_CASE_STATUSES).filter(~Exists(current))


def case_sites_to_allocate(*, team_by_branch: dict[str, int]) -> list[CaseSite]:
    """The unassigned cases of the branches that have a team, with the borrower's position."""
    rows = (
        cases_without_team()
        .filter(branch_code__in=list(team_by_branch))
        .values_list("pk", "branch_code", "borrower__latitude", "borrower__longitude")
        .order_by("pk")
    )
    return [
        CaseSite(
            case_id=pk,
            team_id=team_by_branch[branch_code],
            latitude=float(latitude) if latitude is not None else None,
            longitude=float(longitude) if longitude is not None else None,
        )
        for pk, branch_code, latitude, longitude in rows
    ]


def collector_bases(*, team_ids: list[int]) -> list[CollectorBase]:
    """Active collectors of these teams with a home position, their territories and current case load."""
    collectors = (
        Collector.objects.filter(team_id__in=team_ids, is_active=True)
        .exclude(home_latitude__isnull=True)
        .exclude(home_longitude__isnull=True)
        .annotate(load=Count("assignments", filter=Q(assignments__ended_at__isnull=True)))
        .prefetch_related("territories")
        .order_by("pk")
    )
    return [
        CollectorBase(
            collector_id=collector.pk,
            team_id=collector.team_id,
            home_latitude=float(collector.home_latitude),  # type: ignore[arg-type]
            home_longitude=float(collector.home_longitude),  # type: ignore[arg-type]
            areas=tuple(
                Area(float(t.centre_latitude), float(t.centre_longitude), float(t.radius_km))
                for t in collector.territories.all()
                if not t.polygon
            ),
            current_load=collector.load,
        )
        for collector in collectors
    ]


def team_case_counts() -> dict[int, int]:
    """Current cases per team."""
    rows = (
        CaseAssignment.objects.filter(ended_at__isnull=True)
        .values("team_id")
        .annotate(cases=Count("pk"))
        .values_list("team_id", "cases")
    )
    return dict(rows)


def collector_case_counts(*, team: Team) -> dict[int, int]:
    """Current cases per collector of `team`."""
    rows = (
        CaseAssignment.objects.filter(ended_at__isnull=True, team=team, collector__isnull=False)
        .values("collector_id")
        .annotate(cases=Count("pk"))
        .values_list("collector_id", "cases")
    )
    return dict(rows)


def required_certificates(*, jurisdiction: str = "CN") -> list[tuple[frozenset[str], bool]]:
    """What the rule set asks of a collector at the door: per enabled training rule that covers visits,
    the certificate kinds required and whether only agency staff must hold them."""
    from doorstep.compliance.services import ruleset_active

    rule_set = ruleset_active(jurisdiction)
    required = []
    for rule in rule_set.rules.filter(enabled=True, evaluator="training_current"):
        channels = rule.params.get("channels") or ["visit"]
        if "visit" not in channels:
            continue
        kinds = frozenset(rule.params.get("required_kinds", []))
        if kinds:
            required.append((kinds, rule.params.get("applies_to") == "agency"))
    return required


def valid_certificate_kinds(*, on: dt.date, collector_ids: set[int] | None = None) -> dict[int, set[str]]:
    """The kinds of certificate each collector holds valid on `on`."""
    rows = Certificate.objects.filter(issued_on__lte=on).filter(Q(expires_on__isnull=True) | Q(expires_on__gte=on))
    if collector_ids is not None:
        rows = rows.filter(collector_id__in=collector_ids)
    held: dict[int, set[str]] = defaultdict(set)
    for collector_id, kind in rows.values_list("collector_id", "kind"):
        held[collector_id].add(kind)
    return held


def missing_certificates(*, on: dt.date, jurisdiction: str = "CN", collector_ids: set[int] | None = None
                         ) -> dict[int, set[str]]:
    """For each active collector (of `collector_ids`, or all), the required certificate kinds they lack on `on`."""
    from doorstep.compliance.models import Agency

    required = required_certificates(jurisdiction=jurisdiction)
    collectors = Collector.objects.filter(is_active=True)
    if collector_ids is not None:
        collectors = collectors.filter(pk__in=collector_ids)
    team_of = dict(collectors.values_list("pk", "team_id"))
    agency_teams = set(Agency.objects.filter(teams__isnull=False).values_list("teams", flat=True))
    held = valid_certificate_kinds(on=on, collector_ids=set(team_of))
    missing: dict[int, set[str]] = {}
    for collector_id, team_id in team_of.items():
        lacking: set[str] = set()
        for kinds, agency_only in required:
            if agency_only and team_id not in agency_teams:
                continue
            lacking |= kinds - held.get(collector_id, set())
        missing[collector_id] = lacking
    return missing


def field_ready_collector_ids(*, on: dt.date, jurisdiction: str = "CN") -> set[int]:
    """Active collectors holding every certificate the rule set requires on that day (allocation uses it)."""
    return {
        collector_id
        for collector_id, lacking in missing_certificates(on=on, jurisdiction=jurisdiction).items()
        if not lacking
    }


# ---------------------------------------------------------------------------------------------------------
# Training status, the QA queue, a collector's record and the scorecard, as each user may see them.
# ---------------------------------------------------------------------------------------------------------

EXPIRING_DAYS = 30


def _wide(user: Any) -> bool:
    return has_role(user, Role.ADMIN, Role.MANAGER, Role.COMPLIANCE, Role.TRAINER)


def visible_collectors(*, user: Any) -> QuerySet[Collector]:
    """The collectors whose training and record `user` may see: a team lead their teams', trainers,
    managers and compliance all, a collector only themselves."""
    collectors = Collector.objects.select_related("user", "team")
    if _wide(user):
        return collectors
    if has_role(user, Role.SUPERVISOR):
        return collectors.filter(team__supervisor=user)
    return collectors.filter(user=user)


def collector_for(*, user: Any, collector_id: int) -> Collector:
    try:
        return visible_collectors(user=user).get(pk=collector_id)
    except Collector.DoesNotExist as error:
        raise Http404 from error


@dataclass(frozen=True)
class CertificateState:
    kind: str
    label: str
    certificate: Certificate | None
    state: str  # valid | expiring | expired | missing

    @property
    def days_left(self) -> int | None:
        if self.certificate is None or self.certificate.expires_on is None:
            return None
        return (self.certificate.expires_on - timezone.localdate()).days


@dataclass(frozen=True)
class TrainingStatus:
    collector: Collector
    certificates: list[CertificateState]
    field_ready: bool
    open_enrolments: list[Enrolment]
    open_flags: int
    cases_to_reassign: int
    quality: int | None

    @property
    def worst(self) -> str:
        states = {item.state for item in self.certificates}
        for state in ("missing", "expired", "expiring"):
            if state in states:
                return state
        return "valid"


def certificate_kinds_shown(*, jurisdiction: str = "CN") -> list[str]:
    kinds: list[str] = []
    for required, _agency_only in required_certificates(jurisdiction=jurisdiction):
        kinds.extend(kind for kind in sorted(required) if kind not in kinds)
    return kinds or [CertificateKind.PRE_JOB, CertificateKind.ANNUAL]


def training_status(*, collectors: list[Collector], on: dt.date, jurisdiction: str = "CN") -> list[TrainingStatus]:
    """At a glance, per collector: each required certificate's state, whether they may go to the field,
    courses still to take, open review flags, cases waiting for reassignment, and the recent QA score."""
    ids = {collector.pk for collector in collectors}
    kinds = certificate_kinds_shown(jurisdiction=jurisdiction)
    labels = dict(CertificateKind.choices)
    latest: dict[tuple[int, str], Certificate] = {}
    for certificate in Certificate.objects.filter(collector_id__in=ids).order_by("issued_on", "pk"):
        current = latest.get((certificate.collector_id, certificate.kind))
        if current is None or (certificate.expires_on or dt.date.max) >= (current.expires_on or dt.date.max):
            latest[(certificate.collector_id, certificate.kind)] = certificate
    missing = missing_certificates(on=on, jurisdiction=jurisdiction, collector_ids=ids)
    enrolments: dict[int, list[Enrolment]] = defaultdict(list)
    for enrolment in Enrolment.objects.filter(collector_id__in=ids, completed_at__isnull=True).select_related("course"):
        enrolments[enrolment.collector_id].append(enrolment)
    flags = dict(
        ReviewFlag.objects.filter(collector_id__in=ids, outcome=FlagOutcome.OPEN)
        .values("collector_id").annotate(n=Count("pk")).values_list("collector_id", "n")
    )
    to_reassign = dict(
        CaseAssignment.objects.filter(collector_id__in=ids, ended_at__isnull=True, reassign_flagged_at__isnull=False)
        .values("collector_id").annotate(n=Count("pk")).values_list("collector_id", "n")
    )
    since = timezone.now() - dt.timedelta(days=90)
    quality = {
        collector_id: round(mean)
        for collector_id, mean in QAReview.objects.filter(sample__collector_id__in=ids, submitted_at__gte=since)
        .values("sample__collector_id").annotate(mean=Avg("score")).values_list("sample__collector_id", "mean")
    }
    rows = []
    for collector in collectors:
        states = []
        for kind in kinds:
            certificate = latest.get((collector.pk, kind))
            if certificate is None or certificate.issued_on > on:
                state = "missing"
            elif certificate.expires_on is not None and certificate.expires_on < on:
                state = "expired"
            elif certificate.expires_on is not None and certificate.expires_on <= on + dt.timedelta(days=EXPIRING_DAYS):
                state = "expiring"
            else:
                state = "valid"
            states.append(CertificateState(kind, str(labels.get(kind, kind)), certificate, state))
        rows.append(
            TrainingStatus(
                collector=collector,
                certificates=states,
                field_ready=collector.is_active and not missing.get(collector.pk),
                open_enrolments=enrolments[collector.pk],
                open_flags=flags.get(collector.pk, 0),
                cases_to_reassign=to_reassign.get(collector.pk, 0),
                quality=quality.get(collector.pk),
            )
        )
    return rows


def qa_queue(*, user: Any) -> QuerySet[QASample]:
    """Sampled visits still waiting for this user's review: a team lead sees their teams', managers all."""
    samples = QASample.objects.filter(completed_at__isnull=True).select_related(
        "collector__user", "collector__team", "visit__borrower"
    )
    if not user.has_perm("collectors.review_quality"):
        return samples.none()
    if not has_role(user, Role.ADMIN, Role.MANAGER, Role.COMPLIANCE):
        samples = samples.filter(collector__team__supervisor=user)
    return samples.exclude(reviews__reviewer=user).exclude(collector__user=user).order_by("sampled_at", "pk")


def qa_sample_for(*, user: Any, sample_id: int) -> QASample:
    """A sample this user may open: to review it (queue) or to read its reviews (their teams')."""
    samples = QASample.objects.select_related("collector__user", "collector__team", "visit__borrower", "visit__case")
    if not user.has_perm("collectors.review_quality"):
        raise Http404
    if not has_role(user, Role.ADMIN, Role.MANAGER, Role.COMPLIANCE):
        samples = samples.filter(collector__team__supervisor=user)
    try:
        return samples.get(pk=sample_id)
    except QASample.DoesNotExist as error:
        raise Http404 from error


def qa_recent(*, user: Any, limit: int = 30) -> list[QASample]:
    samples = QASample.objects.filter(completed_at__isnull=False).select_related("collector__user")
    if not has_role(user, Role.ADMIN, Role.MANAGER, Role.COMPLIANCE):
        samples = samples.filter(collector__team__supervisor=user)
    return list(samples.prefetch_related("reviews").order_by("-completed_at")[:limit])


@dataclass(frozen=True)
class Scorecard:
    """A balanced view of a collector's work. Amounts recovered are one part among five (CN-K1)."""

    collector: Collector
    quality: int | None
    reviews: int
    complaints: int
    complaints_upheld: int
    promises_due: int
    promises_kept: int
    contacts: int
    contacts_refused: int
    recovered: Decimal | None
    balanced: int | None

    @property
    def promises_kept_rate(self) -> int | None:
        return (self.promises_kept * 100) // self.promises_due if self.promises_due else None

    @property
    def compliance_rate(self) -> int | None:
        return 100 - (self.contacts_refused * 100) // self.contacts if self.contacts else None


# Weights of the balanced score; recovery never counts for more than a small share of it.
SCORE_WEIGHTS = {"quality": 35, "conduct": 20, "promises": 20, "compliance": 15, "recovery": 10}


def _model(label: str) -> Any:
    try:
        return django_apps.get_model(label)
    except LookupError:
        return None


def scorecards(*, collectors: list[Collector], since: dt.datetime, until: dt.datetime) -> list[Scorecard]:
    ids = [collector.pk for collector in collectors]
    quality: dict[int, tuple[int, int]] = {}
    for collector_id, mean, count in (
        QAReview.objects.filter(sample__collector_id__in=ids, submitted_at__gte=since, submitted_at__lt=until)
        .values("sample__collector_id").annotate(mean=Avg("score"), n=Count("pk"))
        .values_list("sample__collector_id", "mean", "n")
    ):
        quality[collector_id] = (round(mean), count)
    complaints: dict[int, tuple[int, int]] = {}
    complaint = _model("feedback.Complaint")
    if complaint is not None:
        for collector_id, total, upheld in (
            complaint.objects.filter(collector_id__in=ids, received_at__gte=since, received_at__lt=until)
            .values("collector_id")
            .annotate(total=Count("pk"), upheld=Count("pk", filter=Q(outcome="upheld")))
            .values_list("collector_id", "total", "upheld")
        ):
            complaints[collector_id] = (total, upheld)
    promises: dict[int, tuple[int, int]] = defaultdict(lambda: (0, 0))
    promise = _model("arrangements.PromiseToPay")
    if promise is not None:
        user_of = {collector.user_id: collector.pk for collector in collectors}
        rows = promise.objects.filter(due_on__gte=since.date(), due_on__lt=until.date()).exclude(status="pending")
        rows = rows.filter(Q(taken_by_id__in=list(user_of)) | Q(visit__collector_id__in=ids))
        for taken_by_id, visit_collector_id, status in rows.values_list("taken_by_id", "visit__collector_id", "status"):
            collector_id = visit_collector_id or user_of.get(taken_by_id)
            if collector_id is None:
                continue
            due, kept = promises[collector_id]
            promises[collector_id] = (due + 1, kept + (1 if status == "kept" else 0))
    contacts: dict[int, tuple[int, int]] = {}
    from doorstep.compliance.models import ContactEvent

    for collector_id, total, refused in (
        ContactEvent.collectors.through.objects.filter(
            collector_id__in=ids, contactevent__started_at__gte=since, contactevent__started_at__lt=until
        )
        .values("collector_id")
        .annotate(total=Count("pk"), refused=Count("pk", filter=Q(contactevent__verdict="refused")))
        .values_list("collector_id", "total", "refused")
    ):
        contacts[collector_id] = (total, refused)
    recovered: dict[int, Decimal] = {}
    payment = _model("payments.Payment")
    if payment is not None:
        for collector_id, amount in (
            payment.objects.filter(
                paid_at__gte=since, paid_at__lt=until,
                case__assignments__ended_at__isnull=True, case__assignments__collector_id__in=ids,
            )
            .values("case__assignments__collector_id").annotate(total=Sum("amount"))
            .values_list("case__assignments__collector_id", "total")
        ):
            recovered[collector_id] = amount or Decimal("0.00")
    best = max(recovered.values(), default=Decimal("0"))
    cards = []
    for collector in collectors:
        q, reviews = quality.get(collector.pk, (None, 0))
        total, upheld = complaints.get(collector.pk, (0, 0))
        due, kept = promises[collector.pk]
        made, refused = contacts.get(collector.pk, (0, 0))
        amount = recovered.get(collector.pk, Decimal("0.00")) if payment is not None else None
        parts: dict[str, float] = {"conduct": max(0, 100 - 25 * upheld - 5 * (total - upheld))}
        if q is not None:
            parts["quality"] = q
        if due:
            parts["promises"] = kept * 100 / due
        if made:
            parts["compliance"] = 100 - refused * 100 / made
        if amount is not None and best > 0:
            parts["recovery"] = float(amount / best * 100)
        weight = sum(SCORE_WEIGHTS[name] for name in parts)
        # Without a quality review the balance is not known: amounts and complaints alone do not rank anybody.
        balanced = round(sum(parts[name] * SCORE_WEIGHTS[name] for name in parts) / weight) if q is not None else None
        cards.append(Scorecard(collector, q, reviews, total, upheld, due, kept, made, refused, amount, balanced))
    return cards
