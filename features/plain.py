"""Text made safe to show: control characters removed for a terminal, long values cut for a message.

Standard library only, so the command line can print an error before pandas
is imported (``mqa.features.outputs`` re-exports these).
"""

from __future__ import annotations

import unicodedata

QUOTE_LIMIT = 60


def printable(text: object, newlines: bool = False) -> str:
    """``text`` without control characters (escape sequences, bells, bidi overrides), for a terminal."""
    s = str(text)
    keep = "\n" if newlines else ""
    return "".join(ch for ch in s if ch in keep or unicodedata.category(ch) not in ("Cc", "Cf"))


def clip(text: object, limit: int = QUOTE_LIMIT) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, for quoting a value in a message."""
    s = str(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def quoted(text: object, limit: int = QUOTE_LIMIT) -> str:
    """A value as quoted in a message: cut to a readable length, control characters escaped."""
    return repr(clip(text, limit))
