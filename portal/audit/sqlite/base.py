"""Django's SQLite backend, except that `flush` may empty the audit table.

`flush` (`seed_demo --reset`, and pytest-django between the tests that commit) empties every
table, on SQLite with a DELETE per table, which the audit table's trigger refuses as it refuses
any DELETE (`portal/audit/triggers.py`). On PostgreSQL flush is a TRUNCATE, which the trigger
lets through; so here flush lifts the triggers and puts them back inside its own transaction:
emptying the whole database stays possible on both, changing or deleting an event on neither.
`config/settings.py` uses this backend for every SQLite database."""

from django.db.backends.sqlite3 import base, operations

from portal.audit import triggers


class DatabaseOperations(operations.DatabaseOperations):
    def execute_sql_flush(self, sql_list):
        if any(triggers.TABLE in sql for sql in sql_list) and triggers.installed(self.connection):
            sql_list = [*triggers.SQLITE_REMOVE, *sql_list, *triggers.SQLITE_INSTALL]
        super().execute_sql_flush(sql_list)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
