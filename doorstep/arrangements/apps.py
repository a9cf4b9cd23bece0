from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ArrangementsConfig(AppConfig):
    name = "doorstep.arrangements"
    label = "arrangements"
    verbose_name = _("Arrangements")

    def ready(self) -> None:
        from doorstep.arrangements.daily import follow_up_step
        from doorstep.strategy.flows import DailyStep, register_daily_step

        # Promises and plans are judged on the day's payments.
        register_daily_step(
            DailyStep("arrangements", _("Promises and plans"), follow_up_step, after=("strategy", "payments"))
        )
