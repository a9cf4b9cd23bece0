from django.urls import path

from doorstep.payments import views

app_name = "payments"

urlpatterns = [
    path("imports/", views.imports, name="imports"),
    path("imports/<str:result_id>/", views.import_status, name="import_status"),
]
