import pytest
from django.http import Http404

from doorstep.portfolio import selectors
from tests.conftest import Cast


def visible(user) -> set[int]:
    return set(selectors.case_list(user=user).values_list("pk", flat=True))


def test_manager_and_compliance_see_every_case(cast: Cast) -> None:
    every = {cast.own_case.pk, cast.colleagues_case.pk, cast.other_team_case.pk}
    assert visible(cast.manager) == every
    assert visible(cast.compliance) == every


def test_supervisor_sees_their_team_only(cast: Cast) -> None:
    assert visible(cast.supervisor) == {cast.own_case.pk, cast.colleagues_case.pk}


def test_collector_sees_only_their_own_cases(cast: Cast) -> None:
    assert visible(cast.collector_user) == {cast.own_case.pk}
    with pytest.raises(Http404):
        selectors.case_get(user=cast.collector_user, case_id=cast.colleagues_case.pk)


def test_outsider_sees_nothing(cast: Cast) -> None:
    assert visible(cast.outsider) == set()
    with pytest.raises(Http404):
        selectors.case_get(user=cast.outsider, case_id=cast.own_case.pk)


def test_a_reassigned_case_leaves_the_old_collectors_view(cast: Cast) -> None:
    from django.utils import timezone

    from tests import factories

    cast.own_case.assignments.update(ended_at=timezone.now())
    factories.assign(cast.own_case, cast.team, cast.other_collector)
    assert cast.own_case.pk not in visible(cast.collector_user)
    assert cast.own_case.pk in visible(cast.other_collector_user)
