"""Liveness, readiness and metrics for operators and load balancers."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.responses import JSONResponse

from app.api.problems import database_unavailable_response, problem_response, problem_responses
from app.db.errors import is_database_unavailable
from app.db.migrate import current_revision, head_revision

logger = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str
    migration: str


@router.get("/healthz", response_model=Health, operation_id="getHealth", summary="Process is up")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    operation_id="getReadiness",
    summary="Database reachable and migrated to head",
    responses=problem_responses(503),
)
async def readyz(request: Request) -> Response:
    db = request.app.state.db
    try:
        async with asyncio.timeout(3):
            async with db.engine.connect() as connection:
                revision = await connection.run_sync(current_revision)
    except Exception as exc:
        if is_database_unavailable(exc):
            return database_unavailable_response(request)
        raise
    expected = head_revision()
    if revision != expected:
        return problem_response(
            request,
            status=503,
            code="migrations_pending",
            title="The database schema is not at the expected revision.",
            detail=f"Database is at {revision}, this build expects {expected}.",
            headers={"Retry-After": "5"},
        )
    return JSONResponse({"status": "ready", "database": "ok", "migration": revision})


@router.get(
    "/metrics",
    operation_id="getMetrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
