from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "doorstep.payments"
    label = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        from doorstep.payments.daily import payments_step
        from doorstep.strategy.flows import DailyStep, register_daily_step

        register_daily_step(DailyStep("payments", _("Payments"), payments_step, after=("strategy",)))
