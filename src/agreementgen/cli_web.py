"""The commands of the web app: ``serve`` runs it, ``users`` manages who may sign in.

Registered on the main command line by :mod:`agreementgen.cli` (imported at its end). A
password is only ever read from the terminal (asked twice, not shown), never taken from an
argument where it would stay in the shell's history and the process list.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from .cli import DbOpt, app, err, handles_errors, out
from .errors import AgreementgenError
from .people import ROLES, People
from .records import Records, default_url, safe_url

users_app = typer.Typer(no_args_is_help=True, help="Who may sign in to the web app, and their role.")
app.add_typer(users_app, name="users")

RoleOpt = Annotated[str, typer.Option("--role", help=f"One of {', '.join(ROLES)}.")]


def _password() -> str:
    return str(typer.prompt("Password (at least 12 characters)", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
@handles_errors
def users_add(
    name: Annotated[str, typer.Argument(help="The name they sign in with.")], role: RoleOpt, db: DbOpt = None
) -> None:
    """Add a user; the password is asked for at the terminal."""
    user = People(Records.open(db)).add_user(name, role, _password())
    out.print(f"added {escape(user.name)} ({user.role})")


@users_app.command("list")
@handles_errors
def users_list(db: DbOpt = None) -> None:
    """Every user and their role."""
    table = Table("name", "role", "added", "changed", "disabled")
    for u in People(Records.open(db)).list_users():
        table.add_row(
            escape(u["name"]),
            u["role"],
            u["created_at"][:10],
            u["updated_at"][:10],
            "yes" if u["disabled"] else "",
        )
    out.print(table)


@users_app.command("role")
@handles_errors
def users_role(name: str, role: RoleOpt, db: DbOpt = None) -> None:
    """Change a user's role."""
    user = People(Records.open(db)).change_user(name, role=role)
    out.print(f"{escape(user.name)} is now {user.role}")


@users_app.command("password")
@handles_errors
def users_password(name: str, db: DbOpt = None) -> None:
    """Set a new password (asked for at the terminal); their sessions end."""
    People(Records.open(db)).change_user(name, password=_password())
    out.print(f"new password set for {escape(name)}; their sessions have ended")


@users_app.command("disable")
@handles_errors
def users_disable(
    name: str,
    db: DbOpt = None,
    enable: Annotated[bool, typer.Option("--enable", help="Let them sign in again.")] = False,
) -> None:
    """Stop a user signing in (their sessions end); --enable lets them in again."""
    People(Records.open(db)).change_user(name, disabled=not enable)
    out.print(f"{escape(name)} {'may sign in again' if enable else 'can no longer sign in'}")


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@app.command()
@handles_errors
def serve(
    db: DbOpt = None,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (default: this computer only).")
    ] = ("127.0.0.1"),
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    files: Annotated[
        list[Path],
        typer.Option(
            "--files",
            help="Also serve documents from this folder: packs moved since they were written (repeat).",
        ),
    ] = [],  # noqa: B006
    uploads: Annotated[Path, typer.Option("--uploads", help="Keep uploaded returns in this folder.")] = Path(
        "uploads"
    ),
    proxy: Annotated[
        list[str],
        typer.Option("--proxy", help="Trust X-Forwarded-* from this reverse proxy's address (repeat)."),
    ] = [],  # noqa: B006
    session_minutes: Annotated[
        int, typer.Option("--session-minutes", min=1, help="Sign out after this long without a request.")
    ] = 30,
) -> None:
    """Run the team's web app over the records database."""
    import uvicorn

    from .web import WebConfig, create_app
    from .web.app import freeze_loaded

    url = db or default_url()
    local = _loopback(host) and not proxy
    roots = tuple(p.resolve() for p in files)
    config = WebConfig(
        db_url=url,
        roots=roots,
        uploads=uploads.resolve(),
        secure_cookies=not local,
        session_minutes=session_minutes,
    )
    listening = _listen(host, port)  # before anything is printed: a port in use is a plain error
    web = create_app(config)
    freeze_loaded()
    if not People(Records.open(url)).list_users():
        err.print("[yellow]no users yet:[/] add one with `agreementgen users add NAME --role approver`")
    out.print(f"agreementgen web app on http://{host}:{port}/ over {escape(safe_url(url))}; Ctrl+C stops it")
    if not local:
        out.print(
            "cookies are marked Secure: serve it over HTTPS (a reverse proxy), or browsers will not sign in"
        )
    logging.getLogger("agreementgen.web").addHandler(logging.StreamHandler())
    server = uvicorn.Server(
        uvicorn.Config(
            web,
            log_level="warning",
            access_log=False,
            proxy_headers=bool(proxy),
            forwarded_allow_ips=",".join(proxy) or None,
            server_header=False,
        )
    )
    server.run(sockets=[listening])


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that an address in use, or one this computer does not
    have, is said in a sentence rather than in uvicorn's log."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listening = socket.socket(family, socket.SOCK_STREAM)
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((host, port))
        listening.listen(2048)
    except OSError as exc:
        why = "it is in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        message = f"cannot listen on {host}:{port}: {why}; choose another with --port or --host"
        raise AgreementgenError(message, field="--port") from exc
    return listening
