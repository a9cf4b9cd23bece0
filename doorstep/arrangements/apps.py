from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ArrangementsConfig(AppConfig):
    name = "doorstep.arrangements"
    label = "arrangements"
    verbose_name = _("Arrangements")

    def ready(self) -> None:
        from doorstep.arrangements.daily import follow_up_step
        from doorstep.strategy.flows import DAILY_STEPS, DailyStep, register_daily_step

        after = "payments" if any(step.name == "payments" for step in DAILY_STEPS) else "strategy"
        register_daily_step(DailyStep("arrangements", _("Promises and plans"), follow_up_step), after=after)
