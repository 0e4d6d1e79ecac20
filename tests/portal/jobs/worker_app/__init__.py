"""A test-only app for the worker process of test_worker_killed.py: one periodic job that
writes, then waits on a gate file before it commits."""
