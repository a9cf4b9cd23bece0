"""Plain factory functions for tests: a small, readable cast of borrowers, cases and staff."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.utils import timezone

from doorstep.collectors.models import CaseAssignment, Collector, Team, Territory
from doorstep.core.crypto import encrypt_text, lookup_hash
from doorstep.core.identity import cn_check_character
from doorstep.core.masking import mask_national_id, mask_phone
from doorstep.core.roles import Role
from doorstep.portfolio.models import Borrower, Case, CaseStatus, Loan

_sequence = itertools.count(1)


def valid_national_id(serial: int, birth: str = "19900307", area: str = "510104") -> str:
    first = f"{area}{birth}{serial % 1000:03d}"
    return first + cn_check_character(first)


def make_user(username: str, *roles: Role, first_name: str = "", password: str = "correct-horse-battery") -> User:
    user = User.objects.create_user(username=username, password=password, first_name=first_name)
    for role in roles:
        user.groups.add(Group.objects.get_or_create(name=role.value)[0])
    return user


def make_borrower(name: str = "张伟", **fields: object) -> Borrower:
    number = next(_sequence)
    national_id = str(fields.pop("national_id", valid_national_id(number)))
    phone = str(fields.pop("phone", f"138{number:08d}"))
    defaults: dict[str, object] = {
        "customer_id": f"C{number:08d}",
        "name": name,
        "national_id_encrypted": encrypt_text(national_id),
        "national_id_hash": lookup_hash(national_id),
        "national_id_masked": mask_national_id(national_id),
        "phone_encrypted": encrypt_text(phone),
        "phone_hash": lookup_hash(phone),
        "phone_masked": mask_phone(phone),
        "address": "四川省成都市锦江区红星路三段1号",
        "latitude": Decimal("30.657000"),
        "longitude": Decimal("104.081000"),
    }
    defaults.update(fields)
    return Borrower.objects.create(**defaults)


def make_case(
    borrower: Borrower | None = None,
    *,
    days_past_due: int = 45,
    overdue_principal: str = "3000.00",
    overdue_interest: str = "150.00",
    penalty_interest: str = "20.50",
    branch_code: str = "CD001",
    status: str = CaseStatus.OPEN,
    snapshot_date: dt.date | None = None,
) -> Case:
    """An open case with one overdue loan whose figures are the ones given."""
    borrower = borrower or make_borrower()
    snapshot_date = snapshot_date or timezone.localdate()
    bucket = "M1" if days_past_due <= 30 else "M2" if days_past_due <= 60 else "M3" if days_past_due <= 90 else "M4+"
    total = Decimal(overdue_principal) + Decimal(overdue_interest) + Decimal(penalty_interest)
    case = Case.objects.create(
        borrower=borrower,
        status=status,
        opened_on=snapshot_date - dt.timedelta(days=days_past_due),
        snapshot_date=snapshot_date,
        branch_code=branch_code,
        days_past_due=days_past_due,
        bucket=bucket,
        outstanding_principal=Decimal("20000.00"),
        overdue_principal=Decimal(overdue_principal),
        overdue_interest=Decimal(overdue_interest),
        penalty_interest=Decimal(penalty_interest),
        overdue_total=total,
        entry_overdue_total=total,
    )
    Loan.objects.create(
        loan_id=f"L{next(_sequence):010d}",
        borrower=borrower,
        case=case,
        branch_code=branch_code,
        product_code="CONSUMER",
        principal=Decimal("30000.00"),
        outstanding_principal=Decimal("20000.00"),
        overdue_principal=Decimal(overdue_principal),
        overdue_interest=Decimal(overdue_interest),
        penalty_interest=Decimal(penalty_interest),
        first_unpaid_due_date=snapshot_date - dt.timedelta(days=days_past_due),
        days_past_due=days_past_due,
        bucket=bucket,
        classification="special_mention" if days_past_due <= 90 else "substandard",
        snapshot_date=snapshot_date,
    )
    return case


def make_territory(name: str = "锦江片区", branch_code: str = "CD001") -> Territory:
    return Territory.objects.create(
        name=name, branch_code=branch_code, centre_latitude=Decimal("30.657"), centre_longitude=Decimal("104.081")
    )


def make_team(name: str = "锦江一组", supervisor: User | None = None, branch_code: str = "CD001") -> Team:
    return Team.objects.create(name=name, branch_code=branch_code, supervisor=supervisor)


def make_collector(user: User, team: Team, badge_number: str | None = None) -> Collector:
    return Collector.objects.create(user=user, team=team, badge_number=badge_number or f"B{next(_sequence):05d}")


def assign(case: Case, team: Team, collector: Collector | None = None) -> CaseAssignment:
    return CaseAssignment.objects.create(case=case, team=team, collector=collector, reason="test")
