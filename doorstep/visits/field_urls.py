from django.urls import URLPattern, URLResolver, path

from doorstep.visits import field_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("field/", views.field_today, name="field_today"),
    path("field/stops/<int:visit_id>/", views.field_stop, name="field_stop"),
    path("field/stops/<int:visit_id>/check-in/", views.field_check_in, name="field_check_in"),
    path("field/stops/<int:visit_id>/record/", views.field_record, name="field_record"),
    path("field/stops/<int:visit_id>/attachments/", views.field_attachment_add, name="field_attachment_add"),
    path("field/stops/<int:visit_id>/check-out/", views.field_check_out, name="field_check_out"),
    path("field/attachments/<int:attachment_id>/", views.field_attachment, name="field_attachment"),
    path("field/sos/", views.field_sos, name="field_sos"),
]
