"""Syntax highlighting for the diff view, one line at a time and only for the lines drawn:
a 20,000-line diff costs what a screenful does.

The lexer is pygments', chosen by the file's name from pygments' own table of file name
patterns (built-in lexers only: no plugin is looked up or loaded, and nothing is guessed
from the content). Making a lexer the first time compiles its rules (a fifth of a second
for Python): the diff view has that done in a worker thread and draws the lines plain until
it is ready, so a diff shows at once and its colours follow. Each line is lexed on its own,
so a construct spanning lines (a docstring, a block comment) is coloured as its lines read
alone. The text lexed is the
line as shown (`diff_text.visible`, tabs expanded): highlighting only colours it.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Iterable

from pygments.lexer import Lexer
from pygments.lexers import get_all_lexers, get_lexer_by_name
from pygments.token import _TokenType
from pygments.util import ClassNotFound
from rich.style import Style
from rich.syntax import Syntax

THEME = Syntax.get_theme("ansi_dark")
PLAIN_NAMES = frozenset({"text"})  # lexers that colour nothing
MAX_CACHED = 4096  # highlighted lines kept per file


@functools.cache
def _patterns() -> tuple[dict[str, str], dict[str, str], list[tuple[str, str]]]:
    """pygments' file name patterns: exact names, `*.ext` extensions (the first lexer in
    pygments' table wins) and the other globs, each → a lexer alias."""
    names: dict[str, str] = {}
    extensions: dict[str, str] = {}
    globs: list[tuple[str, str]] = []
    for _name, aliases, patterns, _mimetypes in get_all_lexers(plugins=False):
        if not aliases:
            continue
        for pattern in patterns:
            if not any(c in pattern for c in "*?["):
                names.setdefault(pattern, aliases[0])
            elif pattern.startswith("*.") and not any(c in pattern[2:] for c in "*?["):
                extensions.setdefault(pattern[2:].lower(), aliases[0])
            else:
                globs.append((pattern, aliases[0]))
    return names, extensions, globs


def lexer_alias(path: str) -> str | None:
    """The pygments alias for a file of that name, or None."""
    name = path.rsplit("/", 1)[-1]
    names, extensions, globs = _patterns()
    if name in names:
        return names[name]
    stem, dot, extension = name.rpartition(".")
    if dot and stem and extension.lower() in extensions:
        return extensions[extension.lower()]
    return next((alias for pattern, alias in globs if fnmatch.fnmatch(name, pattern)), None)


_LEXERS: dict[str, Lexer | None] = {}  # by alias, made once per session


def lexer_for(path: str) -> Lexer | None:
    """A lexer for a file of that name (None: plain text); made now if it is not yet."""
    alias = lexer_alias(path)
    if alias is None or alias in PLAIN_NAMES:
        return None
    if alias not in _LEXERS:
        try:
            _LEXERS[alias] = get_lexer_by_name(alias, stripnl=False, ensurenl=False)
        except ClassNotFound:
            _LEXERS[alias] = None
    return _LEXERS[alias]


def ready(path: str) -> bool:
    """True if a file of that name is highlighted without making a lexer first."""
    alias = lexer_alias(path)
    return alias is None or alias in PLAIN_NAMES or alias in _LEXERS


@functools.cache
def token_style(token: _TokenType) -> Style:
    return THEME.get_style_for_token(token)


class Highlighter:
    """The coloured pieces of lines of one file, by row, lexed when first drawn."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lexer = lexer_for(path) if ready(path) else None
        self.pending = not ready(path)  # drawn plain until `load` has made its lexer
        self._cache: dict[int, list[tuple[str, Style]]] = {}

    def forget(self) -> None:
        """Drop the lines highlighted so far (their rows are gone)."""
        self._cache = {}

    def use(self, lexer: Lexer | None) -> None:
        """The lexer made in a worker (`lexer_for`), now used (on the UI thread)."""
        self._cache = {}
        self.lexer, self.pending = lexer, False

    def pieces(self, row: int, text: str) -> list[tuple[str, Style]]:
        """`text` cut into (text, style) pieces; `row` names the line (its object's id,
        while the diff view holds it)."""
        found = self._cache.get(row)
        if found is not None:
            return found
        if len(self._cache) >= MAX_CACHED:
            self._cache.clear()
        found = list(self._lex(text))
        self._cache[row] = found
        return found

    def _lex(self, text: str) -> Iterable[tuple[str, Style]]:
        if self.lexer is None or not text:
            yield text, Style()
            return
        try:
            for _index, token, value in self.lexer.get_tokens_unprocessed(text):
                if value:
                    yield value.replace("\n", ""), token_style(token)
        except Exception:  # a lexer's bug must not hide a line: show it plain
            yield text, Style()
