from django.urls import URLPattern, URLResolver

app_name = "collectors"

urlpatterns: list[URLPattern | URLResolver] = []
