from django.urls import URLPattern, URLResolver

app_name = "arrangements"

urlpatterns: list[URLPattern | URLResolver] = []
