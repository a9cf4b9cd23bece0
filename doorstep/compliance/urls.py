from django.urls import path

from doorstep.compliance import views

app_name = "compliance"

urlpatterns = [
    path("", views.report, name="report"),
    path("export.csv", views.export, name="export"),
    path("cases/<int:case_id>/", views.case_timeline, name="case_timeline"),
    path("contacts/<int:contact_id>/override/", views.contact_override, name="contact_override"),
    path("rules/", views.ruleset_list, name="ruleset_list"),
    path("rules/<int:rule_set_id>/", views.ruleset_detail, name="ruleset_detail"),
    path("rules/<str:jurisdiction>/edit/", views.ruleset_edit, name="ruleset_edit"),
    path("retention/", views.retention, name="retention"),
]
