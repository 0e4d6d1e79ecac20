"""The database's own refusal to change an audit event (ASVS 5.0 V16.4.2): a trigger on the
audit table that fails every UPDATE and DELETE, whoever sends it, ORM or raw SQL.

TRUNCATE is left alone on PostgreSQL: it is how Django empties the whole database (`flush`,
between the tests that commit), and it needs the table owner's privilege, which a row-level
trigger could not take away anyway. On SQLite, rebuilding the table (what Django's schema
editor does for most changes of a column) drops its triggers: a migration that alters the audit
table must call `install` again, and `manage.py verify_audit` says when they are missing.
"""

from django.db import NotSupportedError

TABLE = "portal_auditevent"
MESSAGE = "audit events are append-only"

POSTGRESQL_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION portal_audit_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE}: % refused', TG_OP;
    END
    $$
    """,
    f"""
    CREATE TRIGGER portal_audit_append_only BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION portal_audit_append_only()
    """,
]
POSTGRESQL_REMOVE = [
    f"DROP TRIGGER IF EXISTS portal_audit_append_only ON {TABLE}",
    "DROP FUNCTION IF EXISTS portal_audit_append_only()",
]

SQLITE_TRIGGERS = {
    "portal_audit_no_update": "UPDATE",
    "portal_audit_no_delete": "DELETE",
}
SQLITE_INSTALL = [
    f"CREATE TRIGGER {name} BEFORE {operation} ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: {operation} refused'); END"
    for name, operation in SQLITE_TRIGGERS.items()
]
SQLITE_REMOVE = [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGERS]


def _statements(connection, *, postgresql, sqlite):
    if connection.vendor == "postgresql":
        return postgresql
    if connection.vendor == "sqlite":
        return sqlite
    # The portal runs on SQLite and PostgreSQL only (DESIGN.md, building blocks).
    raise NotSupportedError(f"no append-only trigger for {connection.vendor}")


def install(connection):
    with connection.cursor() as cursor:
        for sql in _statements(connection, postgresql=POSTGRESQL_INSTALL, sqlite=SQLITE_INSTALL):
            cursor.execute(sql)


def remove(connection):
    with connection.cursor() as cursor:
        for sql in _statements(connection, postgresql=POSTGRESQL_REMOVE, sqlite=SQLITE_REMOVE):
            cursor.execute(sql)


def installed(connection):
    """True when every trigger of the audit table is in place."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass "
                "AND tgname = 'portal_audit_append_only' AND tgenabled <> 'D'",
                [TABLE],
            )
            return cursor.fetchone()[0] == 1
        cursor.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s "
            "AND name IN (%s, %s)",
            [TABLE, *SQLITE_TRIGGERS],
        )
        return cursor.fetchone()[0] == len(SQLITE_TRIGGERS)
