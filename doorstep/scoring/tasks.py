"""Background jobs of the scoring domain, thin wrappers over its services."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.tasks import task

from doorstep.scoring import services


@task()
def models_train_task(user_id: int, source: str = "simulation", accounts: int = 3000, seed: int = 2026) -> dict[str, Any]:
    actor = get_user_model().objects.get(pk=user_id)
    created = services.models_train(actor=actor, source=source, accounts=accounts, seed=seed)
    return {"models": [model.pk for model in created]}
