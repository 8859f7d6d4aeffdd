"""Bulk inserts for large imports and demo history: PostgreSQL's COPY (psycopg adapts dates, times and
aware timestamps itself), elsewhere a Core executemany in chunks. Runs in the session's transaction."""

from __future__ import annotations

from sqlalchemy import Table

from mailroom.extensions import db

CHUNK = 5_000


def bulk_insert(table: Table, rows: list[dict]) -> None:
    """Insert `rows` (dicts with the same keys, no primary key) into `table`; the caller commits."""
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        columns = list(rows[0])
        names = ", ".join(table.c[name].name for name in columns)  # only known column names reach the SQL
        driver = connection.connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[name] for name in columns])
        return
    if connection.dialect.name == "sqlite":
        _sqlite_executemany(connection, table, rows)
        return
    for start in range(0, len(rows), CHUNK):
        connection.execute(table.insert(), rows[start : start + CHUNK])


def _sqlite_executemany(connection, table: Table, rows: list[dict]) -> None:
    """The driver's executemany with the columns' own bind processors (how SQLAlchemy stores dates, times,
    UTC timestamps on SQLite), without SQLAlchemy's per-row parameter bookkeeping."""
    columns = list(rows[0])
    dialect = connection.dialect
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns]
    names = ", ".join(table.c[name].name for name in columns)
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' for _ in columns)})"  # noqa: S608 (column names from the table)
    converted = [(i, process) for i, process in enumerate(processors) if process is not None]
    cursor = connection.connection.driver_connection.cursor()
    try:
        for start in range(0, len(rows), CHUNK):
            batch = []
            for row in rows[start : start + CHUNK]:
                values = [row[name] for name in columns]
                for i, process in converted:
                    if values[i] is not None:
                        values[i] = process(values[i])
                batch.append(values)
            cursor.executemany(sql, batch)
    finally:
        cursor.close()
