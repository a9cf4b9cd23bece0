from django.urls import URLPattern, URLResolver, path

from doorstep.feedback import views

app_name = "feedback"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.queue, name="queue"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("complaints/new/", views.complaint_log, name="complaint_log"),
    path("complaints/<int:complaint_id>/", views.complaint_detail, name="complaint_detail"),
    path("complaints/<int:complaint_id>/<slug:step>/", views.complaint_step, name="complaint_step"),
    path(
        "complaints/<int:complaint_id>/attachments/<int:attachment_id>/",
        views.attachment_download,
        name="attachment_download",
    ),
    path("visits/<int:visit_id>/", views.visit_page, name="visit"),
]
