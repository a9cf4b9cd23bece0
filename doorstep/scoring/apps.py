from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScoringConfig(AppConfig):
    name = "doorstep.scoring"
    label = "scoring"
    verbose_name = _("Scoring")

    def ready(self) -> None:
        from doorstep.scoring import flows

        flows.register()
