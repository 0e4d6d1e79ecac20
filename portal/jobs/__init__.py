"""Periodic jobs: what runs on a timetable (mark overdue, purge uploads, retry PDFs, recount the
statistics), how each run claims its period so that several schedulers run it once, and how a
failed or interrupted run is tried again."""
