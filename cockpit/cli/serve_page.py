"""The page `cockpit serve` hands a browser, made to need nothing from the internet.

textual-serve's page loads its font (Roboto Mono) from a web font service, so a server
without a route to the internet served a page that waited on it, and every browser told
a third party it was there. The font files ship with textual-serve already: the page is
its own template with that one link replaced by `@font-face` rules that load them from
the server itself. Any other address outside the server left in the page is refused
before anything is served.
"""

from __future__ import annotations

import re
from pathlib import Path

# A <link> element whose href leaves the server (the font stylesheet).
_REMOTE_LINK = re.compile(r"<link\b[^>]*\bhref=\"(?:https?:)?//[^\"]*\"[^>]*>", re.IGNORECASE)
# What a browser would fetch from elsewhere: src/href attributes or CSS url()s off-site.
_REMOTE_FETCH = re.compile(
    r"(?:\b(?:src|href)\s*=\s*[\"']?|url\(\s*[\"']?)(?:https?:)?//", re.IGNORECASE
)

_FONT_FACES = """<style>
      @font-face {
        font-family: "Roboto Mono";
        src: url("{{ config.static.url }}fonts/RobotoMono-VariableFont_wght.ttf")
          format("truetype");
        font-style: normal;
        font-weight: 100 700;
      }
      @font-face {
        font-family: "Roboto Mono";
        src: url("{{ config.static.url }}fonts/RobotoMono-Italic-VariableFont_wght.ttf")
          format("truetype");
        font-style: italic;
        font-weight: 100 700;
      }
    </style>"""


class RemotePage(RuntimeError):
    """textual-serve's page still fetches something from outside the server."""


def offline_page(template: str) -> str:
    """textual-serve's page template with its remote font stylesheet replaced by the
    bundled fonts; RemotePage if anything else in it would still be fetched off-site."""
    page = _REMOTE_LINK.sub(lambda _: _FONT_FACES, template)
    remote = _REMOTE_FETCH.search(page)
    if remote is not None:
        line = page.count("\n", 0, remote.start()) + 1
        raise RemotePage(
            f"textual-serve's page fetches from outside the server (line {line}); "
            "cockpit serve would not work offline"
        )
    return page


def offline_templates(target: Path) -> Path:
    """Write textual-serve's templates, made offline, into `target` (a directory to
    pass as its `templates_path`); returns `target`."""
    import textual_serve

    source = Path(textual_serve.__file__).parent / "templates"
    target.mkdir(parents=True, exist_ok=True)
    for page in sorted(source.glob("*.html")):
        (target / page.name).write_text(offline_page(page.read_text("utf-8")), "utf-8")
    return target


def bundled_fonts() -> list[str]:
    """The font files the offline page names, relative to textual-serve's static files."""
    return re.findall(r"fonts/[\w.-]+\.ttf", _FONT_FACES)
