from django.urls import path

from doorstep.strategy import views

app_name = "strategy"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.strategy_create, name="strategy_create"),
    path("versions/<int:version_id>/", views.version_detail, name="version_detail"),
    path("versions/<int:version_id>/preview/", views.version_preview, name="version_preview"),
    path("versions/<int:version_id>/rules/new/", views.rule_edit, name="rule_add"),
    path("versions/<int:version_id>/rules/<slug:key>/", views.rule_edit, name="rule_edit"),
    path("versions/<int:version_id>/rules/<slug:key>/delete/", views.rule_delete, name="rule_delete"),
    path("versions/<int:version_id>/rules/<slug:key>/move/", views.rule_move, name="rule_move"),
    path("versions/<int:version_id>/experiment/", views.experiment_save, name="experiment_save"),
    path("versions/<int:version_id>/new-draft/", views.version_new_draft, name="version_new_draft"),
    path("versions/<int:version_id>/submit/", views.version_submit, name="version_submit"),
    path("versions/<int:version_id>/approve/", views.version_approve, name="version_approve"),
    path("versions/<int:version_id>/return/", views.version_return, name="version_return"),
    path("versions/<int:version_id>/results/", views.results, name="results"),
    path("runs/", views.runs, name="runs"),
    path("runs/start/", views.run_start, name="run_start"),
    path("scripts/", views.scripts, name="scripts"),
    path("scripts/<slug:code>/", views.script_detail, name="script_detail"),
]
