"""Reads of the portfolio, always scoped to the person asking."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.http import Http404

from doorstep.core.roles import Role, sees_whole_portfolio, user_roles
from doorstep.portfolio.models import Case

User = AbstractBaseUser | AnonymousUser


def case_visibility(user: User) -> Q | None:
    """The filter that gives exactly the cases `user` may see; None means every case."""
    if sees_whole_portfolio(user):
        return None
    roles = user_roles(user)
    visible = Q(pk__in=[])
    if Role.SUPERVISOR in roles:
        visible |= Q(assignments__ended_at__isnull=True, assignments__team__supervisor=user)
    if Role.COLLECTOR in roles:
        visible |= Q(assignments__ended_at__isnull=True, assignments__collector__user=user)
    return visible


def case_list(*, user: User) -> QuerySet[Case]:
    cases = Case.objects.all()
    visible = case_visibility(user)
    if visible is not None:
        if not user_roles(user) & {Role.SUPERVISOR, Role.COLLECTOR}:
            return cases.none()
        cases = cases.filter(pk__in=Case.objects.filter(visible).values("pk"))
    return cases


def case_get(*, user: User, case_id: int) -> Case:
    """The case, if `user` may see it; otherwise 404, the same answer as for a case that does not exist."""
    case = case_list(user=user).select_related("borrower").filter(pk=case_id).first()
    if case is None:
        raise Http404("no such case")
    return case
