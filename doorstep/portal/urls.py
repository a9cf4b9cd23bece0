from django.urls import path

from doorstep.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("l/<str:token>/", views.open_link, name="open"),
    path("verify/", views.verify, name="verify"),
    path("ended/", views.ended, name="ended"),
    path("signed-out/", views.signed_out, name="signed_out"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("language/<str:code>/", views.language, name="language"),
    path("pay/", views.pay, name="pay"),
    path("visits/", views.visits, name="visits"),
    path("visits/<int:visit_id>/rate/", views.rate, name="rate"),
    path("badge/", views.badge, name="badge"),
    path("badge/report/", views.badge_report, name="badge_report"),
    path("plan/", views.plan, name="plan"),
    path("complaints/", views.complaints, name="complaints"),
]
