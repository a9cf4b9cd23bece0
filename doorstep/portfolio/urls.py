from django.urls import path

from doorstep.portfolio import views

app_name = "portfolio"

urlpatterns = [
    path("", views.case_list, name="case_list"),
    path("<int:case_id>/", views.case_detail, name="case_detail"),
]
