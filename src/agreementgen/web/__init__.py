"""The team's web app over the records database (``agreementgen serve``): no rules of its own.

Modules: ``app`` (configuration, shared responses, routes), ``guard`` (sessions, roles and CSRF
for every route), ``signin`` (signing in and out), ``pages`` (schemes, board, practice,
downloads), ``upload`` (returns uploaded and ingested with progress), ``review`` (the review
queue). Pages are Jinja templates in ``templates/``; ``static/`` holds the stylesheet and the
vendored htmx (0BSD), the only script.
"""

from .app import WebConfig, create_app

__all__ = ["WebConfig", "create_app"]
