from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "doorstep.reports"
    label = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from doorstep.reports.services import reports_step
        from doorstep.strategy.flows import DailyStep, register_daily_step

        # The dashboards' facts are taken once the day's other steps have changed what they count.
        register_daily_step(
            DailyStep(
                "reports", _("Dashboard facts"), reports_step,
                after=("strategy", "payments", "arrangements", "field_visits", "training", "complaint_deadlines"),
            )
        )
