from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from accord import __version__

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness and database status")
def health(request: Request) -> JSONResponse:
    engine = request.app.state.engine
    body: dict[str, Any] = {"status": "ok", "version": __version__}
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        body["database"] = {"status": "ok", "backend": engine.dialect.name}
    except SQLAlchemyError:
        body["status"] = "degraded"
        body["database"] = {"status": "unavailable", "backend": engine.dialect.name}
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)
