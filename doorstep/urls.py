from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from doorstep.api import api

urlpatterns = [
    path("", include("doorstep.core.urls")),
    path("cases/", include("doorstep.portfolio.urls")),
    path("compliance/", include("doorstep.compliance.urls")),
    path("strategy/", include("doorstep.strategy.urls")),
    path("collectors/", include("doorstep.collectors.urls")),
    path("scoring/", include("doorstep.scoring.urls")),
    path("notify/", include("doorstep.notify.urls")),
    path("visits/", include("doorstep.visits.urls")),
    path("arrangements/", include("doorstep.arrangements.urls")),
    path("payments/", include("doorstep.payments.urls")),
    path("feedback/", include("doorstep.feedback.urls")),
    path("portal/", include("doorstep.portal.urls")),
    path("reports/", include("doorstep.reports.urls")),
    path("api/", api.urls),
    path("i18n/setlang/", set_language, name="set_language"),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
