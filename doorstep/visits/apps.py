from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VisitsConfig(AppConfig):
    name = "doorstep.visits"
    label = "visits"
    verbose_name = _("Field visits")

    def ready(self) -> None:
        from doorstep.strategy.flows import DailyStep, register_daily_step
        from doorstep.visits.flows import field_day_step

        register_daily_step(
            DailyStep(
                "field_visits",
                _("Field visits: allocation, appointments, day plans"),
                field_day_step,
                # Paid and cured cases are out before visits are given; certificates are checked first.
                after=("strategy", "payments", "arrangements", "training"),
            )
        )
