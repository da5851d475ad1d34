"""Alembic environment: the URL comes from the caller (pipeline.store.migrate), never from an ini file."""

from alembic import context
from sqlalchemy import create_engine

from pipeline.store import Base

url = context.config.attributes["url"]
connectable = create_engine(url)
with connectable.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
connectable.dispose()
