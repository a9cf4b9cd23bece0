from django.urls import path

from doorstep.notify import views

app_name = "notify"

urlpatterns = [
    path("", views.outbox, name="outbox"),
    path("messages/<int:message_id>/", views.message_detail, name="message_detail"),
    path("messages/<int:message_id>/letter.pdf", views.letter_pdf, name="letter_pdf"),
]
