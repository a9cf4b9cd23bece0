from django.urls import URLPattern, URLResolver

from doorstep.visits import field_urls, planning_urls

app_name = "visits"

# Two halves with one namespace: the supervisor's planning pages and the collector's field app.
urlpatterns: list[URLPattern | URLResolver] = [*planning_urls.urlpatterns, *field_urls.urlpatterns]
