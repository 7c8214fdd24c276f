"""Counting what a piece of code costs the database, for tests and benchmarks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


class Commits:
    """Counts commits: explicit ones (the end of an atomic block) and autocommitted writes."""

    def __init__(self):
        self.count = 0

    def __enter__(self):
        original = connection.commit

        def commit():
            self.count += 1
            original()

        connection.commit = commit
        self._wrapper = connection.execute_wrapper(self._statement)
        self._wrapper.__enter__()
        return self

    def _statement(self, execute, sql, params, many, context):
        if not connection.in_atomic_block and sql.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            self.count += 1
        return execute(sql, params, many, context)

    def __exit__(self, *exc):
        self._wrapper.__exit__(*exc)
        del connection.commit


def in_threads(work: Callable[[], Any], count: int = 2, *, timeout: float = 60) -> tuple[list[Any], list[Exception]]:
    """Runs `work` in `count` threads at once (as many workers would), each with a database connection
    of its own; returns what they returned and what they raised."""
    results: list[Any] = []
    failures: list[Exception] = []

    def run() -> None:
        try:
            results.append(work())
        except Exception as exc:   # noqa: BLE001 - the caller's assertions report it
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    return results, failures
