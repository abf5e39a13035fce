"""Alembic environment: runs migrations on the engine handed over in ``config.attributes``.

``target_metadata`` is the shared ``Base.metadata``: the engine's tables, and those of every
package whose table module was imported (autogenerate compares only what it knows).
"""

from __future__ import annotations

from alembic import context

from workflows.schema import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # pragma: no cover - only reached when someone runs plain `alembic`
    from workflows.database import make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
