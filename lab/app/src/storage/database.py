"""``docker compose exec bot python -c "from src.storage.database import engine; print('OK')"``

The toogoodtogo runbook's "check connection from bot container". Importing this module builds the
application's engine from the environment and runs SELECT 1, so the import itself fails (with
sqlalchemy.exc.OperationalError) when the database cannot be reached, and 'OK' means connected.
"""
from sqlalchemy import text

from app import config, db

_env = config.read_environment()
engine = db.create_engine(db.database_url(_env), pool_size=1, max_overflow=0)
with engine.connect() as _conn:
    _conn.execute(text("SELECT 1")).scalar_one()
