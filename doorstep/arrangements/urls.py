from django.urls import path

from doorstep.arrangements import views

app_name = "arrangements"

urlpatterns = [
    path("case/<int:case_id>/", views.case_arrangements, name="case"),
    path("case/<int:case_id>/promise/", views.promise_create, name="promise_create"),
    path("case/<int:case_id>/plan/", views.plan_create, name="plan_create"),
    path("case/<int:case_id>/request/", views.request_create, name="request_create"),
    path("plans/<int:plan_id>/", views.plan_detail, name="plan"),
    path("plans/<int:plan_id>/agreement.pdf", views.plan_agreement, name="plan_agreement"),
    path("plans/<int:plan_id>/approve/", views.plan_decide, {"decision": "approve"}, name="plan_approve"),
    path("plans/<int:plan_id>/reject/", views.plan_decide, {"decision": "reject"}, name="plan_reject"),
    path("approvals/", views.approvals, name="approvals"),
    path("follow-up/", views.follow_ups, name="follow_ups"),
    path("follow-up/<int:follow_up_id>/done/", views.follow_up_done, name="follow_up_done"),
]
