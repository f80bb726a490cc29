"""The API reference pages, /docs (Swagger UI) and /redoc (ReDoc), with every script and
style served by Accord itself (the machine may be offline; no CDN)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

SWAGGER = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Accord API</title>
  <link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
  <script src="/static/api-docs.js"></script>
</body>
</html>
"""

REDOC = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Accord API</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
</head>
<body>
  <redoc spec-url="/openapi.json"></redoc>
  <script src="/static/vendor/redoc/redoc.standalone.js"></script>
</body>
</html>
"""


@router.get("/docs")
def swagger_ui() -> HTMLResponse:
    return HTMLResponse(SWAGGER)


@router.get("/redoc")
def redoc() -> HTMLResponse:
    return HTMLResponse(REDOC)
