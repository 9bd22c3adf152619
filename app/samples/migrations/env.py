"""Alembic environment of the sample index: migrations run on the connection the caller hands over.

app.samples.index.SampleIndex.migrate() passes its own connection (in its serialised write transaction)
as `config.attributes["connection"]`, so no alembic.ini and no URL in a file are needed; a developer
generating a revision may pass a URL as the `sqlalchemy.url` main option instead.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from app.samples.index import Base, engine_url

config = context.config


def run(connection: object) -> None:
    # render_as_batch: SQLite cannot ALTER most things in place; batch mode copies the table instead
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if config.attributes.get("connection") is not None:
    run(config.attributes["connection"])
else:
    with create_engine(engine_url(config.get_main_option("sqlalchemy.url"))).begin() as connection:
        run(connection)
