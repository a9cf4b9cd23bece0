from django.urls import URLPattern, URLResolver, path

from doorstep.visits import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("plans/", views.plans, name="plans"),
    path("plans/<int:team_id>/<str:day>/", views.team_day, name="team_day"),
    path("plans/<int:team_id>/<str:day>/build/", views.plan_build, name="plan_build"),
    path("plans/<int:team_id>/<str:day>/allocate/", views.team_allocate, name="team_allocate"),
    path("plans/visit/<int:visit_id>/", views.visit_detail, name="visit_detail"),
    path("plans/visit/<int:visit_id>/cancel/", views.visit_cancel, name="visit_cancel"),
    path("plans/visit/<int:visit_id>/move/", views.visit_move, name="visit_move"),
    path("plans/visit/<int:visit_id>/reassign/", views.visit_reassign, name="visit_reassign"),
    path("plans/visit/<int:visit_id>/case/", views.case_reassign, name="case_reassign"),
    path("plans/visit/<int:visit_id>/answer/", views.visit_answer, name="visit_answer"),
    path("plans/alerts/<int:alert_id>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
]
