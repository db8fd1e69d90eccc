"""The FastAPI application: versioned REST API under /api/v1, OpenAPI at /openapi.json, UI at /."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from callqa.api.audit import AuditBuffer
from callqa.api.deps import API_PREFIX, KeyCache, authorize
from callqa.api.errors import error_body, install_error_handlers
from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from callqa.settings import Settings
from callqa.settings import get_settings as default_settings
from callqa.storage.db import session_factory

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"

DESCRIPTION = """Call-quality database for sales teams.

Authenticate with an API key (`Authorization: Bearer <key>` or `X-API-Key: <key>`); create one with
`callqa keys create --name ... --role ...`. Roles: admin, head_of_sales, manager (own calls only),
marketer, trainer, crm. Errors are `{"error": {"code", "message", "details"}}`.
"""


class UploadLimitMiddleware:
    """Refuse an upload whose declared Content-Length is over the limit before its body is read.

    Bodies without a length (chunked) are counted while they are written (``receive_stream``).
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes + (1 << 20)  # room for the multipart envelope and form fields

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            length = dict(scope.get("headers") or []).get(b"content-length", b"")
            if length.isdigit() and int(length) > self.max_bytes:
                limit_mb = (self.max_bytes >> 20) - 1
                response = JSONResponse(
                    error_body("payload_too_large", f"request body exceeds the limit of {limit_mb} MB",
                               {"limit_mb": limit_mb}), status_code=413)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: the CALLQA_* environment)."""
    from callqa.api.routers import calls, crm, gold, keys, managers, overrides, reports, webhooks

    settings = settings or default_settings()
    session_factory(settings.resolved_database_url)  # migrates SQLite; checks PostgreSQL is migrated
    audit_buffer = AuditBuffer(settings.resolved_database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        audit_buffer.flush()  # read records still queued are written before the worker exits

    app = FastAPI(
        title="callqa API", version="1.0.0", description=DESCRIPTION,
        openapi_url="/openapi.json", docs_url="/docs", redoc_url=None, lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.audit_buffer = audit_buffer
    app.state.key_cache = KeyCache()
    install_error_handlers(app)
    app.add_middleware(UploadLimitMiddleware, max_bytes=settings.max_upload_mb * (1 << 20))
    guarded = [Depends(authorize)]
    for module in (keys, calls, overrides, managers, gold, reports, crm, webhooks):
        app.include_router(module.router, prefix=API_PREFIX, dependencies=guarded)

    if STATIC_DIR.is_dir() and (STATIC_DIR / "index.html").is_file():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

        @app.get("/", include_in_schema=False)
        def index() -> FileResponse:
            return FileResponse(STATIC_DIR / "index.html")
    else:
        @app.get("/", include_in_schema=False)
        def index_redirect() -> RedirectResponse:
            return RedirectResponse("/docs")

    return app
