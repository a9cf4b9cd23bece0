"""The JSON API root. Each app adds its router here; OpenAPI docs are served at /api/docs."""

from ninja import NinjaAPI

api = NinjaAPI(title="Doorstep API", version="1", urls_namespace="api")
