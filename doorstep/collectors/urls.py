from django.urls import URLPattern, URLResolver, path

from doorstep.collectors import views

app_name = "collectors"

urlpatterns: list[URLPattern | URLResolver] = [
    # A collector's own training.
    path("training/", views.my_training, name="my_training"),
    path("training/courses/<int:course_id>/", views.course_read, name="course_read"),
    path("training/materials/<int:material_id>/file/", views.material_file, name="material_file"),
    path("training/exams/<int:exam_id>/start/", views.exam_start, name="exam_start"),
    path("training/attempts/<int:attempt_id>/", views.attempt_take, name="attempt_take"),
    path("training/attempts/<int:attempt_id>/result/", views.attempt_result, name="attempt_result"),
    # Trainers.
    path("trainer/", views.trainer_home, name="trainer_home"),
    path("trainer/courses/new/", views.course_edit, name="course_new"),
    path("trainer/courses/<int:course_id>/", views.course_edit, name="course_edit"),
    path("trainer/courses/<int:course_id>/modules/new/", views.module_new, name="module_new"),
    path("trainer/modules/<int:module_id>/materials/new/", views.material_new, name="material_new"),
    path("trainer/courses/<int:course_id>/questions/new/", views.question_edit, name="question_new"),
    path("trainer/courses/<int:course_id>/questions/<int:question_id>/", views.question_edit, name="question_edit"),
    path("trainer/courses/<int:course_id>/exams/new/", views.exam_edit, name="exam_new"),
    path("trainer/courses/<int:course_id>/exams/<int:exam_id>/", views.exam_edit, name="exam_edit"),
    path("trainer/courses/<int:course_id>/enrol/", views.course_enrol, name="course_enrol"),
    path("trainer/sessions/", views.session_list, name="session_list"),
    path("trainer/sessions/<int:session_id>/", views.session_detail, name="session_detail"),
    path("trainer/results/", views.results, name="results"),
    path("trainer/certificates/new/", views.certificate_new, name="certificate_new"),
    # Team leads and managers.
    path("team/", views.team_status, name="team_status"),
    path("people/<int:collector_id>/", views.collector_detail, name="collector_detail"),
    path("certificates/<int:certificate_id>/document/", views.certificate_document, name="certificate_document"),
    path("scorecard/", views.scorecard, name="scorecard"),
    path("qa/", views.qa_queue, name="qa_queue"),
    path("qa/<int:sample_id>/", views.qa_review, name="qa_review"),
]
