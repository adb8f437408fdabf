"""A real SMTP server for the tests: aiosmtpd in a thread, on a free port of this machine.

It takes every recipient but those in ``replies`` (an address → the reply it gets, e.g. ``550 …``
or ``451 …``), and keeps what it received. With ``tls`` it offers STARTTLS (and requires it) with a
self-signed certificate for ``localhost`` made here, and with ``login`` it requires that login.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from ports import free_port, localhost_certificate


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: list[str]
    data: bytes  # the message as it came over the wire


@dataclass
class MailServer:
    replies: dict[str, str] = field(default_factory=dict)  # recipient -> the refusal it gets
    received: list[Received] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 0
    certificate: Path | None = None  # the server's self-signed certificate, for a client to trust
    controller: Any = None

    @property
    def url(self) -> str:
        """The URL for ``send --smtp``: plain SMTP, on this machine only."""
        return f"smtp+insecure://{self.host}:{self.port}"

    def client_context(self) -> ssl.SSLContext:
        assert self.certificate is not None
        return ssl.create_default_context(cafile=str(self.certificate))

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.recipients]

    def stop(self) -> None:
        self.controller.stop()


class _Handler:
    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        refusal = self.server.replies.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content
        self.server.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), data))
        return f"250 2.0.0 Ok: queued as TEST{len(self.server.received)}"


def start(
    folder: Path, *, tls: bool = False, implicit_tls: bool = False, login: tuple[str, str] | None = None
) -> MailServer:
    """Start a server (STARTTLS required with ``tls``; TLS from the first byte with ``implicit_tls``;
    the ``login`` (user, password) required)."""
    box = MailServer(port=free_port())
    options: dict[str, Any] = {}
    if tls or implicit_tls:
        box.certificate, key = folder / "smtp-cert.pem", folder / "smtp-key.pem"
        localhost_certificate(box.certificate, key)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(box.certificate), str(key))
        if implicit_tls:  # aiosmtpd sees TLS only when it did STARTTLS itself: let it offer AUTH here too
            options.update(ssl_context=context, auth_require_tls=False)
        else:
            options.update(tls_context=context, require_starttls=True)
    if login is not None:

        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            given = (data.login.decode(), data.password.decode()) if isinstance(data, LoginPassword) else None
            return AuthResult(success=given == login, handled=False)  # not handled: aiosmtpd replies 535

        # PLAIN only: after a refused PLAIN, smtplib tries LOGIN with an initial response that aiosmtpd's
        # LOGIN does not expect, and the two wait for each other until the client's timeout.
        options.update(authenticator=authenticate, auth_required=True, auth_exclude_mechanism=["LOGIN"])
    box.controller = Controller(_Handler(box), hostname=box.host, port=box.port,
                                server_hostname="mail.example.nhs.uk", **options)  # fmt: skip
    box.controller.start()
    return box
