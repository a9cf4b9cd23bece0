"""Model lifecycle stories: the manager trains, a second person approves, the daily run scores, monitoring watches."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from doorstep.core.roles import Role
from doorstep.scoring import features as F
from doorstep.scoring import selectors, services
from doorstep.scoring.models import CaseScore, ModelKind, ModelStatus, ScoringRun
from doorstep.scoring.simulation import SimulationSettings, simulate
from doorstep.strategy.attributes import case_frame
from tests import factories

TODAY = dt.date(2026, 11, 30)


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.DOORSTEP_VAR_DIR = tmp_path


@pytest.fixture
def trained(cast):  # type: ignore[no-untyped-def]
    return {model.kind: model for model in services.models_train(actor=cast.manager, accounts=800, seed=4)}


def approve_all(trained, approver) -> None:  # type: ignore[no-untyped-def]
    for model in trained.values():
        services.model_approve(actor=approver, model_id=model.pk)


def test_training_registers_each_kind_with_its_metadata_and_artefact(cast, trained, settings) -> None:  # type: ignore[no-untyped-def]
    assert set(trained) == {ModelKind.SCORECARD, ModelKind.LIGHTGBM, ModelKind.UPLIFT}
    scorecard = trained[ModelKind.SCORECARD]
    assert scorecard.status == ModelStatus.TRAINED and not scorecard.is_champion
    assert scorecard.trained_by == cast.manager
    assert scorecard.metrics["auc"] > 0.6
    assert scorecard.training_to < scorecard.validation_from
    assert "borrower_age" in scorecard.excluded and "borrower_age" not in scorecard.features
    assert len(scorecard.data_hash) == 32
    assert (settings.DOORSTEP_VAR_DIR / "scoring" / "models" / scorecard.artefact).exists()
    assert "qini_coefficient" in trained[ModelKind.UPLIFT].metrics


def test_a_model_never_scores_production_cases_before_a_second_person_approves_it(cast, trained) -> None:  # type: ignore[no-untyped-def]
    summary = services.scores_refresh(actor="system:test", business_date=TODAY)
    assert "skipped" in summary
    assert CaseScore.objects.count() == 0

    with pytest.raises(ValidationError):
        services.model_approve(actor=cast.manager, model_id=trained[ModelKind.SCORECARD].pk)
    with pytest.raises(PermissionDenied):
        services.model_approve(actor=cast.collector_user, model_id=trained[ModelKind.SCORECARD].pk)
    services.scores_refresh(actor="system:test", business_date=TODAY)
    assert CaseScore.objects.count() == 0

    admin = factories.make_user("admin", Role.ADMIN)
    services.model_approve(actor=admin, model_id=trained[ModelKind.SCORECARD].pk)
    summary = services.scores_refresh(actor="system:test", business_date=TODAY)
    assert summary["cases"] == 3
    scores = selectors.case_scores(case_ids=[cast.own_case.pk], language="en")
    view = scores[cast.own_case.pk]
    assert view.model_version == trained[ModelKind.SCORECARD].label
    assert 0 < view.propensity < 1 and view.band in "ABCDE"
    assert view.uplift is None  # the uplift model is not approved yet
    assert all(code and text for code, text in view.reasons)


def test_approving_a_new_version_retires_the_old_champion(cast, trained) -> None:  # type: ignore[no-untyped-def]
    admin = factories.make_user("admin", Role.ADMIN)
    approve_all(trained, admin)
    newer = services.models_train(actor=cast.manager, kinds=(ModelKind.SCORECARD,), accounts=800, seed=5)[0]
    assert newer.version == 2
    services.model_approve(actor=admin, model_id=newer.pk)
    old = trained[ModelKind.SCORECARD]
    old.refresh_from_db()
    assert old.status == ModelStatus.RETIRED and not old.is_champion
    assert services.champion(ModelKind.SCORECARD) == newer


def test_reason_codes_point_the_right_way_on_constructed_cases(cast, trained) -> None:  # type: ignore[no-untyped-def]
    model = services.model_load(trained[ModelKind.SCORECARD])
    base = {name: 0.0 for name in F.FEATURES}
    base.update(days_past_due=10, bucket_level=1, overdue_total=2000, outstanding_principal=20000, overdue_share=0.1,
                product=1, months_on_book=24, paid_share_90d=0.6, payments_90d=2, days_since_last_payment=20,
                contacts_90d=2, right_party_contact_rate=1.0)
    late = dict(base, days_past_due=170, bucket_level=4, bucket_rolls_6m=4, payments_90d=0, paid_share_90d=0.0,
                days_since_last_payment=None, right_party_contact_rate=0.0, overdue_share=0.6)
    frame = pl.DataFrame([base, late], schema={name: pl.Float64 for name in F.FEATURES})
    probability = model.predict_proba(frame)
    assert probability[0] > probability[1]
    codes = services.reason_code_column(*_codes(model, frame))
    late_codes = codes[1].split(",")
    assert late_codes, "the late case must have reasons"
    lowered = {code.split(":")[0]: code.split(":")[1] for code in late_codes}
    expected = {
        "days_past_due": "high", "bucket_level": "high", "bucket_rolls_6m": "high", "payments_90d": "low",
        "paid_share_90d": "low", "right_party_contact_rate": "low", "overdue_share": "high",
        "days_since_last_payment": "missing", "contacts_90d": "high",
    }
    for factor, direction in lowered.items():
        if factor in expected:
            assert direction == expected[factor], (factor, direction)
    assert any(factor in expected for factor in lowered)
    english = services.reason_texts(codes[1], "en")
    chinese = services.reason_texts(codes[1], "zh-Hans")
    assert [code for code, _ in english] == late_codes == [code for code, _ in chinese]
    assert all(text and text != code for code, text in english + chinese)


def _codes(model, frame):  # type: ignore[no-untyped-def]
    codes = model.reason_codes(frame, top=3)
    return codes.feature_names, codes.factors, codes.directions


def test_a_psi_alert_fires_on_a_shifted_population_and_not_on_a_like_one(cast, trained) -> None:  # type: ignore[no-untyped-def]
    version = trained[ModelKind.SCORECARD]
    model = services.model_load(version)
    cases, events = F.history_panel(simulate(SimulationSettings(accounts=800, seed=4)))
    panel = F.feature_panel(cases, events)
    like = services._monitor(version, panel, services.scores_compute(panel, model, None), TODAY)
    assert like["alerts"] == [] and like["score_psi"] < 0.1
    shifted_panel = panel.with_columns(
        (pl.col("days_past_due") + 120).alias("days_past_due"), pl.lit(4.0).alias("bucket_level"),
        pl.lit(0.0).alias("paid_share_90d"), pl.lit(0.0).alias("payments_90d"),
    )
    shifted = services._monitor(version, shifted_panel, services.scores_compute(shifted_panel, model, None), TODAY)
    kinds = {(alert["kind"], alert.get("feature")) for alert in shifted["alerts"]}
    assert ("feature_psi", "days_past_due") in kinds
    assert ("feature_psi", "paid_share_90d") in kinds
    assert shifted["score_psi"] > 5 * like["score_psi"]


def test_the_daily_run_scores_before_the_strategy_and_rules_see_the_score(cast, trained) -> None:  # type: ignore[no-untyped-def]
    from doorstep.strategy.flows import DAILY_STEPS

    names = [step.name for step in DAILY_STEPS]
    assert names.index("scoring") < names.index("strategy")
    admin = factories.make_user("admin", Role.ADMIN)
    approve_all(trained, admin)
    services.scores_refresh(actor="system:test", business_date=TODAY)
    frame = case_frame(TODAY)
    assert frame["score"].null_count() == 0 and frame["score_band"].null_count() == 0
    stored = CaseScore.objects.get(case=cast.own_case)
    assert frame.filter(pl.col("case_id") == cast.own_case.pk)["score"][0] == round(stored.points * 100)
    assert stored.uplift is not None and stored.uplift_version == trained[ModelKind.UPLIFT]
    run = ScoringRun.objects.get()
    assert run.cases == 3 and run.model_version == trained[ModelKind.SCORECARD]


def test_the_manager_reads_the_report_and_the_trainer_cannot_approve_it(client, cast, trained) -> None:  # type: ignore[no-untyped-def]
    scorecard = trained[ModelKind.SCORECARD]
    client.force_login(cast.manager)
    page = client.get(reverse("scoring:model_detail", args=[scorecard.pk]))
    assert page.status_code == 200
    assert b"<svg" in page.content and b"borrower_age" not in page.content
    assert reverse("scoring:model_approve", args=[scorecard.pk]).encode() not in page.content
    client.post(reverse("scoring:model_approve", args=[scorecard.pk]))
    scorecard.refresh_from_db()
    assert scorecard.status == ModelStatus.TRAINED
    pdf = client.get(reverse("scoring:model_pdf", args=[scorecard.pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    uplift = client.get(reverse("scoring:model_detail", args=[trained[ModelKind.UPLIFT].pk]))
    assert uplift.status_code == 200 and b"<svg" in uplift.content
    assert client.get(reverse("scoring:monitoring")).status_code == 200


def test_a_collector_sees_the_score_of_their_own_case_only(client, cast, trained) -> None:  # type: ignore[no-untyped-def]
    admin = factories.make_user("admin", Role.ADMIN)
    approve_all(trained, admin)
    services.scores_refresh(actor="system:test", business_date=TODAY)
    client.force_login(cast.collector_user)
    assert client.get(reverse("scoring:case_score", args=[cast.own_case.pk])).status_code == 200
    assert client.get(reverse("scoring:case_score", args=[cast.colleagues_case.pk])).status_code == 404
    assert client.get(reverse("scoring:index")).status_code == 403


def test_the_api_gives_a_case_score_in_the_asked_language_and_hides_other_cases(cast, trained) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client

    from doorstep.core.services import api_token_create

    admin = factories.make_user("admin", Role.ADMIN)
    services.model_approve(actor=admin, model_id=trained[ModelKind.SCORECARD].pk)
    services.scores_refresh(actor="system:test", business_date=TODAY)
    _token, raw = api_token_create(actor="system:test", user=cast.collector_user, name="test feed")
    headers = {"Authorization": f"Bearer {raw}"}
    own = Client().get(f"/api/scoring/cases/{cast.own_case.pk}?language=zh-Hans", headers=headers)
    assert own.status_code == 200
    body = own.json()
    assert body["band"] in list("ABCDE") and body["model_version"] == trained[ModelKind.SCORECARD].label
    assert all(reason["text"] for reason in body["reasons"])
    assert Client().get(f"/api/scoring/cases/{cast.colleagues_case.pk}", headers=headers).status_code == 404
