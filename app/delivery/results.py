"""Recording the relay's answer to each mail on a database connection of the sender's
own, each result committed by itself (autocommit) before the next mail's final dot
goes out: that is what keeps a killed sender to one unrecorded mail per connection.

On PostgreSQL the result is sent without waiting for it (libpq's asynchronous
commands, through ``psycopg.pq``): the server writes it while the sender renders
the next mail, and ``settle`` collects the answer just before the next final dot.
The connection commits without waiting for the disk (``synchronous_commit = off``,
for this connection only). Elsewhere (SQLite, or an app bound to one connection, as
the tests bind theirs) each result is one UPDATE that ``write`` waits for.
"""

import select
from contextlib import contextmanager

import psycopg
import sqlalchemy as sa
from psycopg import pq
from sqlalchemy.exc import OperationalError

from .models import OutboxMessage

OUTBOX = OutboxMessage.__table__
_RESULT = (sa.update(OUTBOX).where(OUTBOX.c.id == sa.bindparam("row_id"))
           .values(status=sa.bindparam("new_status"), sent_at=sa.bindparam("at"),
                   claimed_by=None))


class Results:
    """One UPDATE per result through SQLAlchemy, waited for."""

    def __init__(self, connection: sa.Connection, *, owned: bool):
        self._connection, self._owned = connection, owned

    def write(self, row_id: int, status: str, at) -> None:
        """Record ``status`` (and ``at``, when it was sent) for the row."""
        self._connection.execute(_RESULT, {"row_id": row_id, "new_status": status, "at": at})

    def settle(self) -> None:
        """Return once every result written is committed; raises what the database
        raised for any of them."""

    def close(self) -> None:
        if self._owned:
            try:
                self._connection.close()
            except sa.exc.SQLAlchemyError:
                self._connection.invalidate()


class PipelinedResults(Results):
    """PostgreSQL: each result sent at once as a prepared statement and collected
    by ``settle``. Its waits release the GIL (the worker's other senders go on);
    psycopg's errors come out as SQLAlchemy's, like every other database error."""

    _NAME = "vernetzer_outbox_result"

    def __init__(self, connection: sa.Connection):
        super().__init__(connection, owned=True)
        connection.exec_driver_sql("SET synchronous_commit TO off")
        connection.exec_driver_sql(
            f"PREPARE {self._NAME} AS UPDATE outbox SET status = $1, sent_at = $2, "
            "claimed_by = NULL WHERE id = $3")
        self._pq = connection.connection.driver_connection.pgconn
        self._poll = select.poll()
        self._waiting = False

    def write(self, row_id: int, status: str, at) -> None:
        self.settle()
        with _as_database_error():
            self._pq.send_query_prepared(self._NAME.encode(), [
                status.encode(), None if at is None else at.isoformat().encode(),
                str(row_id).encode()])
            self._waiting = True
            while self._pq.flush():
                self._wait(select.POLLOUT)

    def settle(self) -> None:
        if not self._waiting:
            return
        with _as_database_error():
            while True:
                self._pq.consume_input()
                if not self._pq.is_busy():
                    break
                self._wait(select.POLLIN)
            self._waiting = False
            errors = []
            while (result := self._pq.get_result()) is not None:
                if result.status == pq.ExecStatus.FATAL_ERROR:
                    errors.append(result.error_message.decode(errors="replace").strip())
            if errors:
                raise psycopg.OperationalError(errors[0])

    def _wait(self, event: int) -> None:
        self._poll.register(self._pq.socket, event)
        self._poll.poll()

    def close(self) -> None:
        if self._waiting:  # an error came before the answer: the connection is unusable
            self._waiting = False
            self._connection.invalidate()
        elif not self._connection.invalidated and not self._connection.closed:
            try:  # the pooled connection goes back as it came
                self._connection.exec_driver_sql(f"DEALLOCATE {self._NAME}")
                self._connection.exec_driver_sql("RESET synchronous_commit")
            except sa.exc.SQLAlchemyError:
                self._connection.invalidate()
        super().close()


@contextmanager
def _as_database_error():
    try:
        yield
    except psycopg.Error as error:
        raise OperationalError("recording a result", None, error) from error


def open_results(bind) -> Results:
    """The results' connection for an engine (or the one connection an app is bound to)."""
    if isinstance(bind, sa.Connection):
        return Results(bind, owned=False)
    connection = bind.connect().execution_options(isolation_level="AUTOCOMMIT")
    if connection.dialect.name != "postgresql":
        return Results(connection, owned=True)
    try:
        return PipelinedResults(connection)
    except BaseException:
        connection.invalidate()  # half set up: never back into the pool
        raise
