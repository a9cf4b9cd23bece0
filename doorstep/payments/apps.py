from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "doorstep.payments"
    label = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        from doorstep.payments.daily import payments_step
        from doorstep.strategy.flows import DAILY_STEPS, DailyStep, register_daily_step

        register_daily_step(DailyStep("payments", _("Payments"), payments_step), after="strategy")
        # Promises and plans are judged after the day's payments, whichever app registered first.
        names = [step.name for step in DAILY_STEPS]
        if "arrangements" in names and names.index("arrangements") < names.index("payments"):
            DAILY_STEPS.insert(names.index("payments") + 1, DAILY_STEPS.pop(names.index("arrangements")))
