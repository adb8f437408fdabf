"""The web app: its configuration, the pieces every page shares, and the routes.

:class:`WebApp` holds what every view needs (the records database, the people, the Jinja
templates, the folders files may be served from) and the shared answers: a rendered page, an
error page, a size-limited form. :func:`create_app` makes the Starlette application; ``serve``
runs it with uvicorn. The app has no business rules of its own: every page asks the library.

Every response carries security headers (a strict Content-Security-Policy: scripts and styles
only from this app, no frames) and a ``Server-Timing`` header with the time the app spent on it,
which the benchmark reads.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from jinja2 import select_autoescape
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from .. import __version__
from ..errors import AgreementgenError
from ..people import People, Session
from ..records import Records

HERE = Path(__file__).parent
log = logging.getLogger("agreementgen.web")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages show people's records: not kept by the browser or a proxy
}


@dataclass
class WebConfig:
    db_url: str
    # Files are served only from the folders the register says it wrote to (the packs, the
    # statements) and these: a path on record anywhere else is refused, whatever the database says.
    roots: tuple[Path, ...] = ()
    uploads: Path = Path("uploads")  # where uploaded returns are kept, one folder per upload
    secure_cookies: bool = True
    max_upload_bytes: int = 200 * 1024 * 1024  # a whole upload
    max_file_bytes: int = 25 * 1024 * 1024  # one returned file
    max_upload_files: int = 500
    session_minutes: int = 30


def money(text: object) -> str:
    """An amount kept as exact text shown as money, "12,096.50" (text that is not one, as it is)."""
    try:
        return f"{Decimal(str(text)):,.2f}"
    except InvalidOperation:
        return str(text)


class TooLarge(Exception):
    pass


@dataclass
class WebApp:
    config: WebConfig
    records: Records
    people: People
    templates: Jinja2Templates
    jobs: dict[str, Any] = field(default_factory=dict)  # uploads being ingested, by id

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any],
        session: Session | None,
        status_code: int = 200,
    ) -> Response:
        context = {"session": session, "version": __version__, **context}
        return self.templates.TemplateResponse(request, template, context, status_code=status_code)

    def error(self, request: Request, status: int, message: str, session: Session | None = None) -> Response:
        titles = {
            400: "Not accepted",
            401: "Sign in first",
            403: "Not allowed",
            404: "Not found",
            405: "Not allowed",
            409: "Not done",
            413: "Too large",
            429: "Too many attempts",
            500: "Something went wrong",
        }
        context = {"title": titles.get(status, "Not done"), "message": message}
        return self.render(request, "error.html", context, session, status_code=status)

    async def read_form(self, request: Request, max_files: int, max_fields: int) -> FormData | Response:
        """The request's form, refusing one larger than the upload limit before it is all read."""
        limit = self.config.max_upload_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return self.error(request, 413, f"The upload is larger than {limit // (1024 * 1024)} MB.")
        received = 0

        async def receive() -> Any:
            nonlocal received
            message = await request.receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise TooLarge
            return message

        try:
            return await Request(request.scope, receive).form(max_files=max_files, max_fields=max_fields)
        except TooLarge:
            return self.error(request, 413, f"The upload is larger than {limit // (1024 * 1024)} MB.")
        except (MultiPartException, HTTPException, ValueError) as exc:
            detail = getattr(exc, "detail", None) or getattr(exc, "message", None) or "it could not be read"
            return self.error(request, 400, f"The form was not accepted: {detail}.")


class Headers(BaseHTTPMiddleware):
    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - start) * 1000:.1f}"
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def _handlers(web: WebApp) -> dict[Any, Any]:
    async def known(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AgreementgenError)
        return web.error(request, 409, str(exc))

    async def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        messages = {404: "There is no such page.", 405: "That page does not take this kind of request."}
        return web.error(request, exc.status_code, messages.get(exc.status_code, str(exc.detail)))

    async def unexpected(request: Request, exc: Exception) -> Response:
        # The person sees a plain page; the details go to the server's log for whoever runs it.
        log.error(
            "%s %s failed: %s: %s",
            request.method,
            request.url.path,
            type(exc).__name__,
            exc,
            exc_info=log.isEnabledFor(logging.DEBUG),
        )
        return web.error(request, 500, "The app could not do this. Whoever runs it can see why in its log.")

    return {AgreementgenError: known, HTTPException: http, Exception: unexpected}


def create_app(config: WebConfig) -> Starlette:
    from . import claims, pages, review, signin, upload, yearend

    records = Records.open(config.db_url)
    from datetime import timedelta

    people = People(records, idle=timedelta(minutes=config.session_minutes))
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.autoescape = select_autoescape(default=True)
    templates.env.globals["format_int"] = lambda n: f"{n:,}"
    templates.env.filters["money"] = money
    web = WebApp(config, records, people, templates)
    routes: list[BaseRoute] = [
        *signin.routes(),
        *pages.routes(),
        *upload.routes(),
        *review.routes(),
        *claims.routes(),
        *yearend.routes(),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(Headers)], exception_handlers=_handlers(web))
    app.state.web = web
    return app


def freeze_loaded() -> None:
    """For the process that serves the app, once it is made: what is loaded by then (modules,
    templates, the engine) lives as long as the server, and frozen out of the collector, a board
    of 6,000 rows no longer pays for full collections that walk it all (measured: the national
    board page 316 ms median before, 222 ms after)."""
    gc.collect()
    gc.freeze()
