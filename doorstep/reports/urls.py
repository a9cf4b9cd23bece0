from django.urls import URLPattern, URLResolver, path

from doorstep.reports import views

app_name = "reports"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.dashboard, name="dashboard"),
    path("compliance/", views.compliance, name="compliance"),
    path("cases/", views.cases, name="cases"),
    path("export/<slug:table>.<str:fmt>", views.export, name="export"),
    path("glossary/", views.glossary_page, name="glossary"),
    path("monthly/", views.monthly, name="monthly"),
    path("monthly/generate/", views.monthly_generate, name="monthly_generate"),
    path("monthly/<int:report_id>.pdf", views.monthly_download, name="monthly_download"),
]
