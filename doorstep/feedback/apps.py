from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "doorstep.feedback"
    label = "feedback"
    verbose_name = _("Feedback and complaints")

    def ready(self) -> None:
        from doorstep.feedback.flows import complaint_deadlines_step
        from doorstep.strategy.flows import DailyStep, register_daily_step

        register_daily_step(DailyStep("complaint_deadlines", _("Complaint deadlines"), complaint_deadlines_step))
