"""Reading loosely typed input (query strings, form fields, control JSON) with Etsy-style 400s."""

from __future__ import annotations

import math
from typing import Any

from .state import EtsyError

TRUE_WORDS = ("true", "1")
FALSE_WORDS = ("false", "0")


def bad(message: str) -> EtsyError:
    return EtsyError(400, message)


def parse_bool(value: Any, name: str) -> bool:
    """Etsy's booleans are true/false/1/0 (URL Syntax page); JSON bodies may send real booleans."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS + FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise bad(f"Invalid value for [{name}]: expected a boolean (true, false, 1 or 0)")


def parse_int(value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool):
        raise bad(f"Invalid value for [{name}]: expected an integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    else:
        raise bad(f"Invalid value for [{name}]: expected an integer")
    if minimum is not None and number < minimum:
        raise bad(f"Invalid value for [{name}]: must be at least {minimum}")
    if maximum is not None and number > maximum:
        raise bad(f"Invalid value for [{name}]: must be at most {maximum}")
    return number


def parse_optional_int(value: Any, name: str, *, minimum: int | None = None) -> int | None:
    return None if value is None else parse_int(value, name, minimum=minimum)


def parse_amount(value: Any, name: str) -> int:
    """A decimal money amount (12.99) as minor units (1299)."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise bad(f"Invalid value for [{name}]: expected a number") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad(f"Invalid value for [{name}]: expected a non-negative number")
    if not math.isfinite(value) or value < 0:
        raise bad(f"Invalid value for [{name}]: expected a non-negative number")
    return int(round(value * 100))


def parse_str(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise bad(f"Invalid value for [{name}]: expected a string")
    return str(value)

