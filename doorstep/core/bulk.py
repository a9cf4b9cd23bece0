"""Bulk reads and writes for batch imports: Polars frames in and out of the database, no per-row ORM.

PostgreSQL moves data with `COPY` (CSV text written by Polars, never formatted row by row in Python);
SQLite uses `executemany`. Updates go through a temporary staging table and one `UPDATE ... FROM`
(SQLite 3.33 or later). Callers pass frames whose column names are the table's column names, with
money already as decimal text or integer fen, so that what reaches the database is exact.
"""
# SQL here is assembled from model metadata (table and column names) and values this module computes
# (integers, ISO dates, status constants); no text from a file or a user reaches it.
# ruff: noqa: S608

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import polars as pl
from django.db import connections

COPY_CHUNK_ROWS = 200_000
BATCH_WORK_MEM = "256MB"
SQLITE_CHUNK_ROWS = 50_000


def _vendor(using: str) -> str:
    return connections[using].vendor


def _quote(using: str, name: str) -> str:
    return connections[using].ops.quote_name(name)


def _raw_cursor(using: str):  # type: ignore[no-untyped-def]
    """The driver's own cursor: Django's wrapper would reformat every row's parameters."""
    connection = connections[using]
    connection.ensure_connection()
    return connection.connection.cursor()


def _for_postgresql(frame: pl.DataFrame) -> pl.DataFrame:
    """Datetimes as ISO text with an explicit UTC offset; everything else Polars writes as PostgreSQL reads."""
    conversions = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            column = pl.col(name)
            if dtype.time_zone is None:
                column = column.dt.replace_time_zone("UTC")
            conversions.append(
                column.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S%.6f+00:00").alias(name)
            )
    return frame.with_columns(conversions) if conversions else frame


def _for_sqlite(frame: pl.DataFrame) -> pl.DataFrame:
    """Values the sqlite3 module stores as Django does: dates as text, datetimes as naive UTC text, 0/1."""
    conversions = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            if dtype.time_zone is not None:
                column = column.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
            conversions.append(column.dt.strftime("%Y-%m-%d %H:%M:%S%.6f").alias(name))
        elif dtype == pl.Date:
            conversions.append(column.dt.strftime("%Y-%m-%d").alias(name))
        elif dtype == pl.Boolean:
            conversions.append(column.cast(pl.Int8).alias(name))
        elif isinstance(dtype, pl.Decimal):
            conversions.append(column.cast(pl.String).alias(name))
    return frame.with_columns(conversions) if conversions else frame


def _csv_chunks(frame: pl.DataFrame) -> Iterator[bytes]:
    for offset in range(0, frame.height, COPY_CHUNK_ROWS):
        buffer = io.BytesIO()
        # Nulls are unquoted empty fields and empty strings are quoted "": COPY's CSV format tells them apart.
        frame.slice(offset, COPY_CHUNK_ROWS).write_csv(
            buffer, include_header=False, null_value="", quote_style="necessary"
        )
        yield buffer.getvalue()


def _copy_in(using: str, table: str, frames: Iterable[pl.DataFrame]) -> int:
    from psycopg.copy import QueuedLibpqWriter

    cursor = _raw_cursor(using)
    copied = 0
    copy_context = None
    copy = None
    try:
        for frame in frames:
            if frame.height == 0:
                continue
            if copy is None:
                columns = ", ".join(_quote(using, name) for name in frame.columns)
                # A queued writer sends on its own thread, so Polars (or the caller's generator, e.g.
                # encrypting the next chunk) works while the server parses and indexes this one.
                copy_context = cursor.copy(
                    f"COPY {_quote(using, table)} ({columns}) FROM STDIN (FORMAT csv)",
                    writer=QueuedLibpqWriter(cursor),
                )
                copy = copy_context.__enter__()
            for chunk in _csv_chunks(_for_postgresql(frame)):
                copy.write(chunk)
            copied += frame.height
    except BaseException as error:
        if copy_context is not None:
            copy_context.__exit__(type(error), error, error.__traceback__)
        raise
    if copy_context is not None:
        copy_context.__exit__(None, None, None)
    return copied


def _sqlite_insert(using: str, table: str, frames: Iterable[pl.DataFrame]) -> int:
    cursor = _raw_cursor(using)
    inserted = 0
    for frame in frames:
        columns = ", ".join(_quote(using, name) for name in frame.columns)
        placeholders = ", ".join("?" for _ in frame.columns)
        statement = f"INSERT INTO {_quote(using, table)} ({columns}) VALUES ({placeholders})"
        prepared = _for_sqlite(frame)
        for offset in range(0, prepared.height, SQLITE_CHUNK_ROWS):
            cursor.executemany(statement, prepared.slice(offset, SQLITE_CHUNK_ROWS).iter_rows())
        inserted += frame.height
    return inserted


def bulk_insert(*, table: str, frame: pl.DataFrame | Iterable[pl.DataFrame], using: str = "default") -> int:
    """Insert every row of `frame` into `table` (columns named as in the table). Returns the row count.

    `frame` may also be an iterable of frames with the same columns, produced lazily: on PostgreSQL the
    next one is prepared while the server is still taking the previous one.
    """
    frames = [frame] if isinstance(frame, pl.DataFrame) else frame
    if _vendor(using) == "postgresql":
        return _copy_in(using, table, frames)
    return _sqlite_insert(using, table, frames)


def _staging_table(using: str, table: str, frame: pl.DataFrame) -> str:
    """A temporary copy of `frame`, with the column types of `table`."""
    staging = f"staging_{table}"
    quoted_columns = ", ".join(_quote(using, name) for name in frame.columns)
    cursor = _raw_cursor(using)
    cursor.execute(f"DROP TABLE IF EXISTS {_quote(using, staging)}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {_quote(using, staging)} AS "
        f"SELECT {quoted_columns} FROM {_quote(using, table)} WHERE 1 = 0"
    )
    bulk_insert(table=staging, frame=frame, using=using)
    if _vendor(using) == "postgresql":
        # Fresh temporary tables have no statistics; without them the planner may pick a nested loop.
        cursor.execute(f"ANALYZE {_quote(using, staging)}")
    return staging


def bulk_update(*, table: str, key: str, frame: pl.DataFrame, using: str = "default") -> int:
    """Set the other columns of `frame` on the rows of `table` whose `key` matches. Returns the row count."""
    if frame.height == 0:
        return 0
    if key not in frame.columns or frame.width < 2:
        raise ValueError("bulk_update needs the key column and at least one column to set")
    staging = _staging_table(using, table, frame)
    target, source = _quote(using, table), _quote(using, staging)
    assignments = ", ".join(
        f"{_quote(using, name)} = {source}.{_quote(using, name)}" for name in frame.columns if name != key
    )
    cursor = _raw_cursor(using)
    cursor.execute(
        f"UPDATE {target} SET {assignments} FROM {source} "
        f"WHERE {target}.{_quote(using, key)} = {source}.{_quote(using, key)}"
    )
    cursor.execute(f"DROP TABLE {source}")
    return frame.height


def bulk_delete(*, table: str, key: str, values: pl.Series, using: str = "default") -> int:
    """Delete the rows of `table` whose `key` is one of `values`. Returns the number of values given."""
    if values.len() == 0:
        return 0
    staging = _staging_table(using, table, values.alias(key).to_frame())
    target, source = _quote(using, table), _quote(using, staging)
    cursor = _raw_cursor(using)
    cursor.execute(
        f"DELETE FROM {target} WHERE {_quote(using, key)} IN (SELECT {_quote(using, key)} FROM {source})"
    )
    cursor.execute(f"DROP TABLE {source}")
    return values.len()


def _copy_out(using: str, statement: str) -> io.BytesIO:
    """The whole output of a `COPY ... TO STDOUT`, through libpq directly.

    The server sends one message per row, and psycopg's generic copy reader costs microseconds per
    message; a blocking libpq loop costs a fraction of that, which matters at a million rows.
    """
    from psycopg import DatabaseError, pq

    cursor = _raw_cursor(using)
    connection = cursor.connection
    buffer = io.BytesIO()
    with connection.lock:
        pgconn = connection.pgconn
        pgconn.send_query(statement.encode())
        while pgconn.flush():  # a non-blocking connection may not have sent the whole statement yet
            pass
        result = pgconn.get_result()
        problem = None
        if result is None or result.status != pq.ExecStatus.COPY_OUT:
            problem = result.get_error_message() if result is not None else "no result"
        else:
            while True:
                size, data = pgconn.get_copy_data(0)
                if size <= 0:
                    break
                buffer.write(data)
            if size == -2:
                problem = pgconn.get_error_message()
        # Drain the final result(s) so the connection is ready for the next statement.
        while (result := pgconn.get_result()) is not None:
            if result.status == pq.ExecStatus.FATAL_ERROR and problem is None:
                problem = result.get_error_message()
    if problem is not None:
        raise DatabaseError(problem)
    return buffer


def read_frame(
    query: str, schema: Mapping[str, pl.DataType | type[pl.DataType]], *, using: str = "default"
) -> pl.DataFrame:
    """The result of `query` (no parameters; its columns in `schema` order) as a typed Polars frame.

    Strings are read as non-null text (select `COALESCE(x, '')` for nullable text); booleans should be
    selected as 0/1 integers so both databases agree.
    """
    names = list(schema)
    text_schema = {
        name: (pl.String if dtype in (pl.Date, pl.Datetime) else dtype) for name, dtype in schema.items()
    }
    if _vendor(using) == "postgresql":
        buffer = _copy_out(using, f"COPY ({query}) TO STDOUT (FORMAT csv)")
        if buffer.tell() == 0:
            frame = pl.DataFrame(schema=text_schema)
        else:
            buffer.seek(0)
            frame = pl.read_csv(
                buffer, has_header=False, new_columns=names, schema=text_schema, empty_string_is_null=False
            )
            # Unquoted empty fields are NULL in COPY's CSV; Polars reads them as "" in text columns.
    else:
        # Django's SQLite connection converts declared date columns to `datetime.date` already.
        cursor = _raw_cursor(using)
        cursor.execute(query)
        rows = cursor.fetchall()
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        return pl.DataFrame(
            [_sqlite_series(name, values, schema[name]) for name, values in zip(names, columns, strict=True)]
        )
    dates = [
        pl.when(pl.col(name) != "").then(pl.col(name).str.slice(0, 10).str.to_date("%Y-%m-%d")).alias(name)
        for name, dtype in schema.items()
        if dtype == pl.Date
    ]
    return frame.with_columns(dates) if dates else frame


def _sqlite_series(
    name: str, values: tuple[object, ...], dtype: pl.DataType | type[pl.DataType]
) -> pl.Series:
    if dtype != pl.Date:
        return pl.Series(name, values, dtype=dtype)
    loose = pl.Series(name, values)
    if loose.dtype == pl.String:
        return loose.str.slice(0, 10).str.to_date("%Y-%m-%d")
    if isinstance(loose.dtype, pl.Datetime):
        return loose.dt.date()
    return loose.cast(pl.Date)


def execute(sql: str, *, using: str = "default") -> None:
    """Run one statement that has no parameters (a lock, an index hint) on the import's connection."""
    _raw_cursor(using).execute(sql)


@contextmanager
def checks_deferred_for_bulk_load(
    tables: Sequence[str], *, when: bool = True, using: str = "default"
) -> Iterator[None]:
    """For a large load on PostgreSQL, take the secondary indexes, unique and foreign keys off `tables`, and
    build them again at the end.

    Left in place, each inserted row updates every index at a random spot and queues its own referential
    check, run one at a time at commit: for a million-row load that is most of its time. Built again
    afterwards, each index is one sort and each key one set-based check, and every row is still verified
    (a duplicate or a dangling reference fails the load with an IntegrityError). Must run inside the
    caller's transaction: everything is dropped and re-created in it, so a failure rolls back with the
    schema intact, and no other transaction sees the tables without them (they stay locked until commit).
    Elsewhere, or when `when` is false, does nothing.
    """
    if not when or _vendor(using) != "postgresql":
        yield
        return
    # Django's cursor, so that a duplicate or dangling reference found at the end is an IntegrityError.
    cursor = connections[using].cursor()
    foreign_keys: list[tuple[str, str, str]] = []
    unique_keys: list[tuple[str, str, str]] = []
    indexes: list[tuple[str, str]] = []
    for table in tables:
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('f', 'u') ORDER BY conname",
            [table],
        )
        for name, kind, definition in cursor.fetchall():
            (foreign_keys if kind == "f" else unique_keys).append((table, name, definition))
        indexes.extend(_secondary_indexes(cursor, table))
    for table, name, _definition in [*foreign_keys, *unique_keys]:
        cursor.execute(f"ALTER TABLE {_quote(using, table)} DROP CONSTRAINT {_quote(using, name)}")
    for name, _definition in indexes:
        cursor.execute(f"DROP INDEX {_quote(using, name)}")
    yield
    _build_indexes(cursor, indexes)
    for table, name, definition in [*unique_keys, *foreign_keys]:
        cursor.execute(
            f"ALTER TABLE {_quote(using, table)} ADD CONSTRAINT {_quote(using, name)} {definition}"
        )


def _secondary_indexes(  # type: ignore[no-untyped-def]
    cursor, table: str, columns: Sequence[str] | None = None
) -> list[tuple[str, str]]:
    """Name and definition of `table`'s indexes that back no constraint (primary, unique or exclusion); with
    `columns`, only those that read one of them (as a key, in an expression or in a partial index's condition:
    PostgreSQL records each as a dependency of the index on the column)."""
    reads_columns = ""
    parameters: list[object] = [table]
    if columns is not None:
        reads_columns = (
            "AND EXISTS (SELECT 1 FROM pg_depend d JOIN pg_attribute a "
            "ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
            "WHERE d.classid = 'pg_class'::regclass AND d.objid = entry.indexrelid "
            "AND d.refobjid = entry.indrelid AND a.attname = ANY(%s)) "
        )
        parameters.append(list(columns))
    cursor.execute(
        "SELECT index.relname, pg_get_indexdef(index.oid) FROM pg_index entry "
        "JOIN pg_class index ON index.oid = entry.indexrelid "
        "WHERE entry.indrelid = %s::regclass AND NOT entry.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = entry.indexrelid) "
        + reads_columns
        + "ORDER BY index.relname",
        parameters,
    )
    return list(cursor.fetchall())


def _build_indexes(cursor, indexes: Sequence[tuple[str, str]]) -> None:  # type: ignore[no-untyped-def]
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for _name, definition in indexes:
        cursor.execute(definition)


@contextmanager
def indexes_rebuilt_after(
    table: str, *, columns: Sequence[str] | None = None, when: bool = True, using: str = "default"
) -> Iterator[None]:
    """For an update of a large share of `table` on PostgreSQL, take its secondary indexes off and build
    them again at the end: one sort per index instead of an index entry per changed row in each.

    With `columns` (those the update changes in most rows), only the indexes that read one of them come
    off. A row whose change leaves every remaining index's columns as they were is then updated heap-only
    (no index entry at all) when its page has room.

    Keys and constraints stay (an update of other columns never checks them). Unique indexes that back
    no constraint (partial ones) are rebuilt too, so a duplicate still fails with an IntegrityError.
    Must run inside the caller's transaction, which holds the table locked until commit.
    """
    if not when or _vendor(using) != "postgresql":
        yield
        return
    cursor = connections[using].cursor()
    indexes = _secondary_indexes(cursor, table, columns)
    for name, _definition in indexes:
        cursor.execute(f"DROP INDEX {_quote(using, name)}")
    yield
    _build_indexes(cursor, indexes)


def table_rows(table: str, *, using: str = "default") -> int:
    """The planner's estimate of `table`'s row count on PostgreSQL (cheap, no scan); 0 elsewhere."""
    if _vendor(using) != "postgresql":
        return 0
    cursor = _raw_cursor(using)
    cursor.execute("SELECT CAST(GREATEST(reltuples, 0) AS BIGINT) FROM pg_class WHERE oid = %s::regclass", [table])
    row = cursor.fetchone()
    return int(row[0]) if row else 0


def working_memory_for_batch(*, using: str = "default") -> None:
    """Let this transaction's joins, sorts and hash tables work in memory on PostgreSQL.

    The server's default (a few megabytes per operation) suits many small requests; a batch joining a
    million staged rows to a million stored ones would otherwise spill every hash and sort to disk.
    """
    if _vendor(using) == "postgresql":
        execute(f"SET LOCAL work_mem = '{BATCH_WORK_MEM}'", using=using)
