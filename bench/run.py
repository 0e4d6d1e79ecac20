"""`make bench`: the measurements on PostgreSQL, in a throwaway database of their own.

The district is generated at scale 1 and measured, then emptied and generated again at scale
10; the measurements that do not depend on the register's size (drafting, importing,
assigning, evidence, HTTP) run once, on the scale-10 data."""

import os
import sys

import django

SCALES = (1, 10)
NOTES = (
    "- `target` is the ratio a row with a baseline must stay under. Rows without one are `met`"
    " by their own target: under 300 ms median (the reviewer's pages), under 16 MiB of memory"
    " (evidence), no errors (HTTP; both pages together also at least 40 req/s with p95 at most"
    " 250 ms); blank where the issue sets none.",
    "- What the rows measure, what was found where a target is missed, and how to fix it:"
    " README.md beside this file.",
)


def main():
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        sys.exit(
            "make bench needs PostgreSQL: set DATABASE_URL=postgres://user@host:5432/db "
            "(the benchmarks run in a throwaway database beside it, bench_<db>)"
        )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    from bench import assignments, documents, evidence, firms, http, imports, pages
    from bench.generate import generate
    from bench.harness import machine, write

    # Not test_<db>: a test run on the same server must not find its database taken or lost.
    connection.settings_dict["TEST"]["NAME"] = f"bench_{connection.settings_dict['NAME']}"
    databases = setup_databases(verbosity=1, interactive=False)
    results, notes = [], []

    def record(measured):
        # Each result as soon as it is known: a whole run takes many minutes.
        for result in measured:
            print(result, flush=True)
        results.extend(measured)

    try:
        for scale in SCALES:
            if scale != SCALES[0]:
                call_command("flush", interactive=False, verbosity=0)
            district = generate(scale)
            print(district.describe(), flush=True)
            notes.append(f"- Data: {district.describe()}.")
            record(firms.run(district))
            record(pages.run(district))
        # HTTP before the measurements that write and roll back: their dead rows would slow
        # the firm list until autovacuum came by.
        record(http.run(district))
        record(documents.run())
        for measurement in (imports, assignments, evidence):
            record(measurement.run(district))
        described = machine()
    finally:
        teardown_databases(databases, verbosity=1)
    write(results, notes=[*notes, *NOTES], machine_text=described)


if __name__ == "__main__":
    main()
