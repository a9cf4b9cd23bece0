from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils.translation import gettext_lazy as _


class ComplianceConfig(AppConfig):
    name = "doorstep.compliance"
    label = "compliance"
    verbose_name = _("Compliance")

    def ready(self) -> None:
        from doorstep.collectors.models import Certificate, Collector
        from doorstep.compliance.models import Agency, RuleSet
        from doorstep.compliance.services import caches_clear

        def forget(**_kwargs: object) -> None:
            caches_clear()

        # The gate caches collectors' certificates and the active rule sets; edits in this process drop them.
        for model in (Certificate, Collector, Agency, RuleSet):
            post_save.connect(forget, sender=model, weak=False, dispatch_uid=f"compliance-cache-{model.__name__}")
            post_delete.connect(forget, sender=model, weak=False, dispatch_uid=f"compliance-cache-del-{model.__name__}")
        m2m_changed.connect(forget, sender=Agency.teams.through, weak=False, dispatch_uid="compliance-cache-agency-teams")
