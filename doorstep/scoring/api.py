"""The scoring JSON API: a case's score with its reasons (scoped as the case pages are)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema

from doorstep.scoring import selectors

router = Router(tags=["scoring"])


class ErrorOut(Schema):
    detail: Any


class ReasonOut(Schema):
    code: str
    text: str


class CaseScoreOut(Schema):
    case_id: int
    propensity: float | None
    points: float | None
    band: str | None
    uplift: float | None
    reasons: list[ReasonOut]
    model_version: str | None
    scored_on: dt.date | None


@router.get(
    "/scoring/cases/{int:case_id}",
    response={200: CaseScoreOut, 404: ErrorOut},
    summary="A case's propensity to pay, band, visit uplift and reason codes",
)
def case_score(request: HttpRequest, case_id: int, language: Literal["en", "zh-Hans"] = "en") -> CaseScoreOut:
    case, _score = selectors.case_score_get(user=request.auth, case_id=case_id)  # type: ignore[attr-defined]
    score = selectors.case_scores(case_ids=[case.pk], language=language).get(case.pk)
    if score is None:
        return CaseScoreOut(
            case_id=case.pk, propensity=None, points=None, band=None, uplift=None, reasons=[], model_version=None,
            scored_on=None,
        )
    return CaseScoreOut(
        case_id=case.pk,
        propensity=score.propensity,
        points=score.points,
        band=score.band,
        uplift=score.uplift,
        reasons=[ReasonOut(code=code, text=text) for code, text in score.reasons],
        model_version=score.model_version,
        scored_on=score.scored_on,  # type: ignore[arg-type]
    )
