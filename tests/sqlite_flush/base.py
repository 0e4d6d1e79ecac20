"""Django's SQLite backend, except that `flush` may empty the audit table.

Between the tests that commit (`transaction=True`, the browser story) pytest-django empties
every table with `flush`, which on SQLite is a DELETE per table: the audit table's trigger
refuses it, as it refuses any DELETE (`portal/audit/triggers.py`). PostgreSQL's flush is a
TRUNCATE, which the trigger lets through, so only SQLite needs this: the flush lifts the
triggers and puts them back in its own transaction, and a test that deletes an audit row
still meets them."""

from django.db.backends.sqlite3 import base, operations

from portal.audit import triggers


class DatabaseOperations(operations.DatabaseOperations):
    def execute_sql_flush(self, sql_list):
        if any(triggers.TABLE in sql for sql in sql_list) and triggers.installed(self.connection):
            sql_list = [*triggers.SQLITE_REMOVE, *sql_list, *triggers.SQLITE_INSTALL]
        super().execute_sql_flush(sql_list)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
