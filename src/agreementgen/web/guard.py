"""Who may see and do what: every route goes through :func:`page`.

``page(role)`` wraps a plain (synchronous) view. Before the view runs it finds the session
from the cookie (none: a GET is sent to sign in, anything else is refused with 401), checks
the user's role (403), and for every request that changes something, the session's CSRF token
(403 without it). It reads the form (size-limited) and runs the view in a worker thread, so a
slow database call does not hold up other requests. A view returns a :class:`Response` or a
``(template, context)`` pair (or ``(template, context, status)``), rendered with the session in
its context.

The cookie is ``HttpOnly`` and ``SameSite=Strict``, and ``Secure`` unless the app is told it
is served over plain HTTP on this computer only (``serve`` without ``--host``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..people import Session, same_token

if TYPE_CHECKING:
    from .app import WebApp

COOKIE = "agreementgen_session"
SAFE_METHODS = ("GET", "HEAD")


@dataclass
class View:
    """What a view gets: the request, its session, and the form of a POST (empty for a GET)."""

    request: Request
    session: Session
    form: FormData

    @property
    def app(self) -> WebApp:
        return web_of(self.request)


def web_of(request: Request) -> WebApp:
    web: WebApp = request.app.state.web
    return web


Rendered = Response | tuple[str, dict[str, Any]] | tuple[str, dict[str, Any], int]


def page(role: str = "viewer", *, max_files: int = 0, max_fields: int = 50) -> Callable[..., Any]:
    """Route a view for signed-in users with at least ``role``."""

    def wrap(view: Callable[[View], Rendered]) -> Callable[[Request], Any]:
        @functools.wraps(view)
        async def endpoint(request: Request) -> Response:
            web = web_of(request)
            session = await run_in_threadpool(web.people.session, request.cookies.get(COOKIE))
            if session is None:
                if request.method in SAFE_METHODS:
                    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
                return web.error(
                    request, 401, "Sign in first: your session has ended or you are not signed in."
                )
            form = FormData()
            if request.method not in SAFE_METHODS:
                read = await web.read_form(request, max_files=max_files, max_fields=max_fields)
                if isinstance(read, Response):
                    return read
                form = read
                token = form.get("csrf") or request.headers.get("X-CSRF-Token")
                if not same_token(token if isinstance(token, str) else None, session.csrf):
                    return web.error(
                        request,
                        403,
                        "This form has expired or did not come from this app. "
                        "Go back, reload the page and try again.",
                        session,
                    )
            if not session.user.may(role):
                return web.error(
                    request,
                    403,
                    f"You need the {role} role for this; you are a {session.user.role}.",
                    session,
                )
            result = await run_in_threadpool(view, View(request, session, form))
            if isinstance(result, Response):
                return result
            template, context, *status = result
            return web.render(request, template, context, session, status_code=status[0] if status else 200)

        return endpoint

    return wrap
