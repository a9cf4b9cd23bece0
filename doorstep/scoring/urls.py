from django.urls import URLPattern, URLResolver, path

from doorstep.scoring import views

app_name = "scoring"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index, name="index"),
    path("models/<int:model_id>/", views.model_detail, name="model_detail"),
    path("models/<int:model_id>/report.pdf", views.model_pdf, name="model_pdf"),
    path("models/<int:model_id>/approve", views.model_approve, name="model_approve"),
    path("models/<int:model_id>/reject", views.model_reject, name="model_reject"),
    path("monitoring/", views.monitoring, name="monitoring"),
    path("cases/<int:case_id>/", views.case_score, name="case_score"),
]
