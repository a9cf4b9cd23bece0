"""The demo's scoring: a simulated past, the three model kinds trained on it by the manager and approved by
the admin, and today's portfolio scored. Run twice, it trains nothing new."""

from __future__ import annotations

from doorstep.core.demo import DemoContext
from doorstep.scoring import services
from doorstep.scoring.models import ModelKind, ModelVersion


def demo_run(context: DemoContext) -> None:
    if not ModelVersion.objects.exists():
        accounts = max(600, min(context.accounts, 3000))
        created = services.models_train(actor=context.manager, accounts=accounts, seed=context.seed)
        for model in created:
            services.model_approve(actor=context.admin, model_id=model.pk, note="demo")
            shown = model.metrics.get("auc", model.metrics.get("qini_coefficient", 0.0))
            context.say(f"  {model.label}: {shown:.3f}, approved")
    if services.champion(ModelKind.SCORECARD) is not None:
        summary = services.scores_refresh(actor=context.manager, business_date=context.snapshot_date)
        context.say(f"  {summary.get('cases', 0)} cases scored with {summary.get('model', '-')}")
