"""Etsy's two request limits per API key: queries per second and queries per rolling day (reference §9).

The docs describe the daily limit as a sliding 24-hour window made of buckets, checked after the
per-second limit; this keeps one bucket per minute. The per-second window slides too, so a burst
that straddles a clock second is still limited to `per_second` calls in any one second.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

DAY_SECONDS = 86400
BUCKET_SECONDS = 60


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    exceeded: str = ""          # "second" or "day" when refused
    retry_after: int = 0


class RateLimiter:
    def __init__(self, *, per_second: int, per_day: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self.per_day = per_day
        self._clock = clock
        self._recent: deque[float] = deque()              # call times inside the last second
        self._buckets: deque[list[int]] = deque()         # [minute index, calls] inside the last day
        self._today = 0

    def configure(self, *, per_second: int | None = None, per_day: int | None = None) -> None:
        if per_second is not None:
            self.per_second = per_second
        if per_day is not None:
            self.per_day = per_day

    def set_remaining_today(self, remaining: int) -> None:
        """Pretend the rolling day already holds `per_day - remaining` calls, all made just now."""
        self._buckets.clear()
        used = max(0, self.per_day - max(0, remaining))
        self._today = used
        if used:
            self._buckets.append([self._minute(self._clock()), used])

    def remaining_this_second(self) -> int:
        self._prune(self._clock())
        return max(0, self.per_second - len(self._recent))

    def remaining_today(self) -> int:
        self._prune(self._clock())
        return max(0, self.per_day - self._today)

    def hit(self) -> Verdict:
        """Count one call, or refuse it. Refused calls are not counted."""
        now = self._clock()
        self._prune(now)
        if len(self._recent) >= self.per_second:
            wait = self._recent[0] + 1.0 - now
            return Verdict(False, "second", max(1, math.ceil(wait)))
        if self._today >= self.per_day:
            # Etsy answers a spent day with retry-after: 86400 (issues #256, #611), not the time
            # until the oldest bucket leaves the window.
            return Verdict(False, "day", DAY_SECONDS)
        self._recent.append(now)
        minute = self._minute(now)
        if self._buckets and self._buckets[-1][0] == minute:
            self._buckets[-1][1] += 1
        else:
            self._buckets.append([minute, 1])
        self._today += 1
        return Verdict(True)

    def _prune(self, now: float) -> None:
        while self._recent and self._recent[0] <= now - 1.0:
            self._recent.popleft()
        oldest_minute = self._minute(now) - DAY_SECONDS // BUCKET_SECONDS
        while self._buckets and self._buckets[0][0] <= oldest_minute:
            self._today -= self._buckets.popleft()[1]

    @staticmethod
    def _minute(now: float) -> int:
        return int(now // BUCKET_SECONDS)
