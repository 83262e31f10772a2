"""Apply Alembic migrations from code (no alembic.ini needed) and make sure the secrets exist."""

from __future__ import annotations

import secrets
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from backend.db import Database
from backend.models import Setting

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SECRET_KEY = "jwt_secret"
PSEUDONYM_SALT_KEY = "pseudonym_salt"


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine) -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def ensure_setting(db: Database, key: str, make: str) -> str:
    """Return settings[key], storing `make` first if it is missing (first writer wins)."""
    try:
        with db.transaction() as session:
            row = session.get(Setting, key)
            if row is not None:
                return row.value
            session.add(Setting(key=key, value=make))
    except IntegrityError:
        pass  # another process stored it first; read theirs
    with db.transaction(readonly=True) as session:
        value = session.scalar(select(Setting.value).where(Setting.key == key))
        assert value is not None
        return value


def prepare(db: Database) -> None:
    """Migrate to head and generate the JWT secret and the pseudonym salt if they are missing."""
    upgrade(db.engine)
    ensure_setting(db, SECRET_KEY, secrets.token_hex(32))
    ensure_setting(db, PSEUDONYM_SALT_KEY, secrets.token_hex(16))
