"""The records database's schema migrations, run by Alembic when a database is opened.

Each file in ``versions/`` is one step, frozen as it was released; ``records.Records.open``
upgrades any database to the newest step, stamping a database made before Alembic by the
``schema_version`` it carries in its ``meta`` table.
"""

from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
