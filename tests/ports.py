"""A free TCP port on this machine, for the servers the suite starts (PostgreSQL, SMTP, IMAP)."""

import socket


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
