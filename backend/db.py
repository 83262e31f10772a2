"""Engine and sessions. SQLite gets WAL, foreign keys and BEGIN IMMEDIATE; PostgreSQL is used as is."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def dialect_name(url: str) -> str:
    """ "sqlite" or "postgresql" (the names /health reports)."""
    return make_url(url).get_backend_name()


def make_engine(url: str, **kwargs: Any) -> Engine:
    backend = dialect_name(url)
    if backend == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 30)
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)
    raise ValueError(f"unsupported database {backend!r}: use sqlite:///FILE or postgresql+psycopg://...")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself (pysqlite's own handling defers it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front: a deferred transaction that reads and then writes
        # fails at once with SQLITE_BUSY when another writer committed in between (busy_timeout does
        # not help there). Read-only sessions opt out and stay concurrent under WAL.
        if connection.get_execution_options().get("sqlite_readonly"):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """One engine and its session factories."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine if engine is not None else make_engine(url)
        self.backend = self.engine.dialect.name
        self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            bind=self.engine.execution_options(sqlite_readonly=True), expire_on_commit=False
        )

    def session(self, readonly: bool = False) -> Session:
        return (self._read_sessions if readonly else self._sessions)()

    @contextmanager
    def transaction(self, readonly: bool = False) -> Iterator[Session]:
        with self.session(readonly) as session, session.begin():
            yield session

    def ping(self) -> None:
        """``SELECT 1`` on a pooled connection; raises the driver's error when the database does not
        answer. PostgreSQL's pool pre-pings, so connections left dead by a restart are replaced here."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def execute_rowcount(session: Session, statement: Any) -> int:
    """Run an UPDATE/DELETE and return how many rows it matched."""
    result = session.execute(statement, execution_options={"synchronize_session": False})
    return int(getattr(result, "rowcount", 0))
