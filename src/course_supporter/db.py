"""Database engine, session factory, declarative base and the column types every table shares."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

import uuid_utils.compat as uuid_compat
from sqlalchemy import JSON, DateTime, Executable, MetaData, Row, Select, event, select, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from course_supporter.config import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> uuid.UUID:
    """A UUIDv7: time-ordered, so primary keys and cursors sort by creation."""
    return uuid_compat.uuid7()


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JSONType(TypeDecorator[Any]):
    """JSON on SQLite, JSONB on PostgreSQL. A decorator rather than `with_variant(JSONB())`:
    the PostgreSQL dialect (a tenth of a second) is imported only by a process that uses it."""

    impl = JSON
    cache_ok = True
    # As JSON's: a Python None is stored as JSON null, and values are dicts and lists.
    should_evaluate_none = True
    hashable = False

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType(),
        list[str]: JSONType(),
        list[dict[str, Any]]: JSONType(),
    }


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def async_database_url(url: str) -> str:
    """Accept `sqlite:///…`, `postgresql://…` with or without a driver and pick the async one."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend in {"postgresql", "postgres"}:
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported DATABASE_URL backend {backend!r}: use sqlite or postgresql")


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine(settings: Settings, *, hot_reads: bool = False) -> AsyncEngine:
    """The process's engine; `hot_reads` makes the PostgreSQL pool of `Database.read_row`."""
    url = async_database_url(settings.database_url)
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 15})
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        return engine
    engine = create_async_engine(
        url,
        pool_size=settings.database_pool_size,
        # No overflow: a request waits for a pooled connection (they are held for a few
        # round trips) instead of opening one that is closed again when it comes back;
        # measured, the churn cost 10% of list throughput and half of a cached course read's.
        max_overflow=0,
        pool_recycle=1800,
        isolation_level="AUTOCOMMIT" if hot_reads else None,
    )
    if not hot_reads:
        event.listen(engine.sync_engine, "checkout", _ping_on_checkout)
    return engine


def _ping_on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Pre-ping in one round trip: connections the server dropped (restart, recreated
    container, terminated backend) are replaced before a request uses them.

    SQLAlchemy's own `pool_pre_ping` on asyncpg wraps its ping in BEGIN and ROLLBACK (for
    pgbouncer's transaction mode, which we do not use): three round trips per checkout.
    Raising `DisconnectionError` here makes the pool discard the connection and check out
    another.
    """
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed the connection")
    try:
        dbapi_connection.run_async(lambda connection: connection.execute("SELECT 1"))
    except Exception as exc:
        raise DisconnectionError(f"ping failed: {type(exc).__name__}") from exc


# SQLSTATEs that mean "not now" rather than "wrong": class 08 (connection exception), 53
# (insufficient resources: too many connections, disk full), 57P0x (admin or crash shutdown,
# starting up, database dropped), and 55000 (a database with ALLOW_CONNECTIONS false).
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P0", "55000")


def _error_chain(exc: BaseException) -> list[BaseException]:
    """The error, the driver error it wraps, and their causes, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return chain


def sqlstate_of(exc: BaseException) -> str | None:
    """The SQLSTATE the server answered with, where the driver (asyncpg, psycopg) gives one."""
    for error in _error_chain(exc):
        sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if isinstance(sqlstate, str) and sqlstate:
            return sqlstate
    return None


def is_database_unavailable(exc: BaseException) -> bool:
    """True when the database refused, dropped or never gave a connection: a retry may work.

    Classified by SQLSTATE where the server gave one, otherwise by kind: a socket error, a
    pool timeout, an invalidated connection, or SQLite's locked or unopenable file. Anything
    else is a bug, not an outage.
    """
    sqlstate = sqlstate_of(exc)
    if sqlstate is not None:
        return sqlstate.startswith(_UNAVAILABLE_SQLSTATES)
    for error in _error_chain(exc):
        if isinstance(error, OSError | PoolTimeoutError):
            return True
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        if type(error).__name__ == "OperationalError" and type(error).__module__ == "sqlite3":
            return "locked" in str(error) or "unable to open" in str(error)
    return False


def is_schema_missing(exc: BaseException) -> bool:
    """True when a query named a table the database does not have: it was never migrated."""
    return sqlstate_of(exc) == "42P01" or any("no such table" in str(e) for e in _error_chain(exc))


_AFTER_COMMIT = "after_commit_actions"
_AFTER_ROLLBACK = "after_rollback_actions"

Action = Callable[[], Awaitable[object]]


def after_commit(session: AsyncSession, action: Action) -> None:
    """Run `action` once the boundary has committed the session's work (e.g. delete the file
    a committed row no longer points at); dropped when the work rolls back."""
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


def after_rollback(session: AsyncSession, action: Action) -> None:
    """Run `action` when the session's work rolls back, the commit failing included (e.g.
    delete a stored file whose row was never committed)."""
    session.info.setdefault(_AFTER_ROLLBACK, []).append(action)


async def _run_actions(session: AsyncSession, ran: str, dropped: str) -> None:
    """The actions of the outcome, each on its own: a failing one is logged, and neither turns a
    committed request into an error nor hides the error that rolled it back."""
    session.info.pop(dropped, None)
    for action in session.info.pop(ran, []):
        try:
            await action()
        except Exception:
            import structlog  # here, not at the top: a CLI command starts without it (0.15 s)

            structlog.get_logger(__name__).exception("transaction_action_failed", outcome=ran)


@contextlib.asynccontextmanager
async def commit_or_rollback(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """The one transaction boundary: commit once when the block ends, roll back on any error
    (a failing commit too), then run the actions registered for that outcome."""
    try:
        yield session
        await session.commit()
    except BaseException:
        await session.rollback()
        await _run_actions(session, _AFTER_ROLLBACK, _AFTER_COMMIT)
        raise
    await _run_actions(session, _AFTER_COMMIT, _AFTER_ROLLBACK)


class Database:
    """The engine and session factory of a process, and a pool for hot single-row reads."""

    def __init__(self, settings: Settings) -> None:
        self.engine = create_engine(settings)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._hot_reads = (
            create_engine(settings, hot_reads=True) if self.dialect == "postgresql" else None
        )

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits once when the block ends, or rolls back on any error:
        the transaction boundary of a CLI command, a job's step and background work. Services
        flush; they do not commit."""
        async with self.sessions() as session, commit_or_rollback(session):
            yield session

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def read_row(self, statement: Executable, params: dict[str, Any]) -> Row[Any] | None:
        """One idempotent SELECT in one round trip, for the hottest read paths.

        A PostgreSQL round trip costs more CPU than the rest of a cached course read
        (benchmarks/read.py), and a session adds three: the ping at checkout, BEGIN and
        ROLLBACK. Here the statement runs outside a transaction on a connection that is not
        pinged; one the server dropped fails fast, which invalidates the pool, and the read
        runs once more on a new one.
        """
        engine = self._hot_reads or self.engine
        for attempt in (1, 2):
            try:
                async with engine.connect() as connection:
                    return (await connection.execute(statement, params)).one_or_none()
            except DBAPIError as exc:
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._hot_reads is not None:
            await self._hot_reads.dispose()


ModelT = TypeVar("ModelT", bound="Base")


class Repository(Generic[ModelT]):
    """Queries for one table; tenant-owned tables go through `TenantScopedRepository`."""

    model: type[ModelT]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, obj: ModelT) -> ModelT:
        self.session.add(obj)
        await self.session.flush()
        return obj

    async def delete(self, obj: ModelT) -> None:
        await self.session.delete(obj)
        await self.session.flush()


class TenantScopedRepository(Repository[ModelT]):
    """Queries for a table whose rows belong to a tenant: every query starts from `scoped`."""

    def scoped(self, tenant_id: uuid.UUID) -> Select[ModelT]:
        """The base statement: this table's rows of one tenant, and no other's."""
        return select(self.model).where(self.model.__table__.c.tenant_id == tenant_id)

    async def get_one_or_none(self, tenant_id: uuid.UUID, *where: Any) -> ModelT | None:
        """The tenant's one row matching `where`, or None (another tenant's row is None too)."""
        return await self.session.scalar(self.scoped(tenant_id).where(*where))

    async def rows(self, statement: Select[ModelT]) -> Sequence[ModelT]:
        """Every row `statement` selects, in its order."""
        return (await self.session.scalars(statement)).all()
