"""Showing untrusted text literally: control characters, ANSI escapes and bidirectional
overrides in agent-written text must never style or move anything on a terminal."""

from __future__ import annotations

import unicodedata

# Bidirectional formatting characters (Unicode "Cf" but worth naming: they reorder text).
_BIDI = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c")


def literal(value: object, *, keep_newlines: bool = False) -> str:
    """`value` as a string in which every control or formatting character is shown as a
    visible escape (`\\x1b`, `\\u202e`), so the text displays exactly as it was written."""
    text = "" if value is None else str(value)
    out: list[str] = []
    for char in text:
        if keep_newlines and char == "\n":
            out.append(char)
        elif char in _BIDI or unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def clip(text: str, width: int) -> str:
    """Cut `text` to `width` characters, marking the cut with an ellipsis."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"
