"""Real concurrency for the tests of row locks (PostgreSQL): callers released together."""

import threading

from django.db import connection


def at_once(count, action):
    """Run `action()` in `count` threads released together, each with its own connection."""
    barrier = threading.Barrier(count)
    results = []

    def run():
        try:
            barrier.wait()
            results.append(action())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
