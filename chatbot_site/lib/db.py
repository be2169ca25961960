"""Prepared statements for the few statements the chat runs on every message.

Django binds query parameters on the client and turns psycopg's prepared
statements off (``prepare_threshold=None``) so that connection poolers in
transaction mode keep working. The chat's hot statements (the visitor lookup
and the message write) are always the same SQL, and planning the lookup's join
costs PostgreSQL several times what running it does; so, when
``DATABASE_PREPARED_STATEMENTS`` is on (the default, see settings), the
connection gets psycopg's default threshold and ``prepared_cursor()`` gives a
cursor that binds on the server, which psycopg prepares once the same SQL has
run a few times on the connection. All other queries keep Django's
client-side cursors, which psycopg never prepares.
"""

from __future__ import annotations

import psycopg
from django.db.backends.base.base import BaseDatabaseWrapper


def prepared_cursor(connection: BaseDatabaseWrapper):
    """A Django cursor (queries counted and logged as usual) whose statements
    psycopg prepares; an ordinary cursor where that is off or not PostgreSQL.

    Write the SQL with ``%s`` placeholders and no literal ``%``, as for any
    cursor: server-side binding sends the parameters separately, typed.
    """
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    if getattr(raw, "prepare_threshold", None) is None:
        return connection.cursor()
    with connection.wrap_database_errors:
        # What connection.cursor() does, with psycopg's server-binding Cursor
        # in place of Django's client-binding one.
        return connection._prepare_cursor(psycopg.Cursor(raw))
