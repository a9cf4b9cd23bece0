from django.urls import path

from doorstep.portfolio import views

app_name = "portfolio"

urlpatterns = [
    path("", views.case_list, name="case_list"),
    path("<int:case_id>/", views.case_detail, name="case_detail"),
    path("<int:case_id>/reveal/<str:field>/", views.borrower_reveal, name="borrower_reveal"),
    path("imports/", views.snapshot_imports, name="snapshot_imports"),
    path("imports/<str:result_id>/", views.snapshot_import_status, name="snapshot_import_status"),
]
