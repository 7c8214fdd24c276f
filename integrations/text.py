"""Small helpers for the sentences people read (connection log, page messages)."""

from __future__ import annotations

import re

# A reason that ends in a full stop, put into a sentence that ends in one, reads "..": say it once
# (an ellipsis "..." stays).
_DOUBLE_STOP = re.compile(r"(?<!\.)\.\.(?!\.)")


def one_full_stop(text: str) -> str:
    return _DOUBLE_STOP.sub(".", text)
