from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "doorstep.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from doorstep.core.roles import ensure_roles

        post_migrate.connect(ensure_roles, dispatch_uid="doorstep.core.ensure_roles")
