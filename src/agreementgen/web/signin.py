"""Signing in and out.

The sign-in form has no session yet, so its CSRF check is a double submit: the page sets a
random token in a short-lived cookie and in a hidden field, and the POST must carry both.
Failed attempts are counted by name and by address (:mod:`agreementgen.people`); past the
limit the form says to wait, even for the right password. After signing in, ``next`` takes
the person back where they were, but only to a page of this app.
"""

from __future__ import annotations

import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ..people import FAILURE_WINDOW, same_token
from .guard import COOKIE, View, page, web_of

PRELOGIN = "agreementgen_signin"


def _next(target: str | None) -> str:
    # Only a path of this app: "//evil.example" or "https://…" would send the person elsewhere.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _form(request: Request, message: str = "", status: int = 200, name: str = "") -> Response:
    web = web_of(request)
    token = secrets.token_urlsafe(32)
    context = {
        "title": "Sign in",
        "token": token,
        "message": message,
        "name": name,
        "next": _next(request.query_params.get("next")),
    }
    response = web.render(request, "login.html", context, None, status_code=status)
    response.set_cookie(
        PRELOGIN, token, max_age=1800, httponly=True, samesite="strict", secure=web.config.secure_cookies
    )
    return response


async def login_page(request: Request) -> Response:
    return _form(request)


async def login(request: Request) -> Response:
    web = web_of(request)
    form = await web.read_form(request, max_files=0, max_fields=10)
    if isinstance(form, Response):
        return form
    token = form.get("token")
    if not same_token(token if isinstance(token, str) else None, request.cookies.get(PRELOGIN) or "-"):
        return _form(request, "The sign-in form had expired. Please try again.", 403)
    name, password = str(form.get("name") or ""), str(form.get("password") or "")
    address = request.client.host if request.client else "unknown"
    session, outcome = await run_in_threadpool(web.people.sign_in, name, password, address)
    if session is None:
        if outcome == "locked":
            minutes = int(FAILURE_WINDOW.total_seconds() // 60)
            return _form(
                request, f"Too many failed attempts. Wait {minutes} minutes and try again.", 429, name
            )
        return _form(request, "The name or password is not right.", 401, name)
    response = RedirectResponse(_next(str(form.get("next") or "")), status_code=303)
    response.set_cookie(COOKIE, outcome, httponly=True, samesite="strict", secure=web.config.secure_cookies)
    response.delete_cookie(PRELOGIN)
    return response


@page()
def logout(view: View) -> Response:
    view.app.people.sign_out(view.session)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


def routes() -> list[BaseRoute]:
    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]
