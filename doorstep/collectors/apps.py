from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollectorsConfig(AppConfig):
    name = "doorstep.collectors"
    label = "collectors"
    verbose_name = _("Collectors")

    def ready(self) -> None:
        from doorstep.collectors.tasks import training_step
        from doorstep.strategy.flows import DailyStep, register_daily_step

        register_daily_step(
            DailyStep("training", _("Certificates and quality sample"), training_step, after=("strategy",))
        )
