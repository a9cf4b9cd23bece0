from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from doorstep.scoring import services
from doorstep.scoring.models import ModelKind, TrainingSource


class Command(BaseCommand):
    help = "Train scoring models (scorecard, LightGBM, visit uplift); each waits for a second person's approval."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source", choices=TrainingSource.values, default=TrainingSource.SIMULATION)
        parser.add_argument("--kind", action="append", choices=ModelKind.values, help="repeat for several kinds")
        parser.add_argument("--accounts", type=int, default=3000, help="accounts in the simulated history")
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--user", help="the trainer's user name (recorded as the trainer)")

    def handle(self, *args: Any, **options: Any) -> None:
        actor: Any = "system:scoring-train"
        if options["user"]:
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"no user {options['user']!r}")
        kinds = tuple(options["kind"] or ModelKind.values)
        created = services.models_train(
            actor=actor, source=options["source"], kinds=kinds, accounts=options["accounts"], seed=options["seed"]
        )
        for model in created:
            shown = ", ".join(f"{key} {value:.3f}" for key, value in model.metrics.items() if isinstance(value, float))
            self.stdout.write(f"{model.label}: {shown} (awaiting approval)")
