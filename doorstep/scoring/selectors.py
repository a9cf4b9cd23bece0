"""Reads of the scoring domain: model registry, monitoring, and the scores of cases the user may see."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import get_language

from doorstep.portfolio.selectors import case_get
from doorstep.scoring.maths.reasons import LANGUAGES
from doorstep.scoring.models import CaseScore, ModelVersion, ScoringRun
from doorstep.scoring.services import reason_texts


@dataclass(frozen=True)
class CaseScoreView:
    case_id: int
    propensity: float
    points: float
    band: str
    uplift: float | None
    reasons: list[tuple[str, str]]
    model_version: str
    uplift_version: str | None
    scored_on: object

    @property
    def propensity_percent(self) -> float:
        return round(self.propensity * 100, 1)

    @property
    def uplift_points(self) -> float | None:
        return None if self.uplift is None else round(self.uplift * 100, 1)


def _language() -> str:
    return "zh-Hans" if (get_language() or "").lower().startswith("zh") else "en"


def _view(score: CaseScore, language: str) -> CaseScoreView:
    return CaseScoreView(
        case_id=score.case_id,
        propensity=score.probability,
        points=score.points,
        band=score.band,
        uplift=score.uplift,
        reasons=reason_texts(score.reason_codes, language),
        model_version=score.model_version.label,
        uplift_version=score.uplift_version.label if score.uplift_version else None,
        scored_on=score.scored_on,
    )


def case_scores(*, case_ids: Sequence[int], language: str | None = None) -> dict[int, CaseScoreView]:
    """The stored score of each case that has one (callers have already checked the user may see the cases)."""
    language = language or _language()
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    scores = CaseScore.objects.filter(case_id__in=list(case_ids)).select_related("model_version", "uplift_version")
    return {score.case_id: _view(score, language) for score in scores}


def case_score_get(*, user: User, case_id: int) -> tuple[object, CaseScoreView | None]:
    case = case_get(user=user, case_id=case_id)
    return case, case_scores(case_ids=[case.pk]).get(case.pk)


def model_list() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.select_related("trained_by", "decided_by").order_by("kind", "-version")


def model_get(*, model_id: int) -> ModelVersion:
    model = model_list().filter(pk=model_id).first()
    if model is None:
        raise Http404("no such model")
    return model


def run_list(*, limit: int = 60) -> QuerySet[ScoringRun]:
    return ScoringRun.objects.select_related("model_version", "uplift_version")[:limit]
