"""Counting what a piece of code costs the database, for tests and benchmarks."""

from __future__ import annotations

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
