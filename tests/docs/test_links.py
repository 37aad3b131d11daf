"""The documentation a user reads stays inside the repository: README.md and docs/ name no
file outside it, every relative link resolves to a file that exists (and, for a Markdown
page, to a heading it has), and the README's pictures are exactly the TUI snapshots they
were copied from."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import cockpit.reference as reference
from cockpit.reference.markdown import anchor

REPO = Path(__file__).resolve().parents[2]
REGENERATE = ".venv/bin/python -m cockpit.reference"
FENCE = re.compile(r"^(```+|~~~+).*?^\1[ \t]*$", re.S | re.M)
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def user_docs() -> list[Path]:
    return [REPO / "README.md", *sorted(p for p in (REPO / "docs").rglob("*.md"))]


def links(path: Path) -> list[str]:
    text = INLINE_CODE.sub("", FENCE.sub("", path.read_text(encoding="utf-8")))
    return LINK.findall(text)


def anchors(path: Path) -> set[str]:
    """The anchors GitHub makes of a page's headings (a repeated one gets -1, -2, ...)."""
    found: set[str] = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        name = anchor(heading.replace("`", ""))
        candidate, n = name, 0
        while candidate in found:
            n += 1
            candidate = f"{name}-{n}"
        found.add(candidate)
    return found


def test_no_page_points_at_the_internal_contract() -> None:
    hits = []
    for path in [REPO / "README.md", *sorted((REPO / "docs").rglob("*"))]:
        if path.is_file():
            for n, line in enumerate(path.read_bytes().splitlines(), 1):
                if b"shared/" in line:
                    hits.append(f"{path.relative_to(REPO)}:{n}")
    assert not hits, f"pages name a file outside the repository: {hits}"


# Pages other work still cites the internal contract in (by section number); each is to
# be rewritten in the product's own words and taken off this list.
CITING_THE_CONTRACT: set[str] = set()  # pages still to be rewritten (none left)


@pytest.mark.parametrize("page", user_docs(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_page_sends_the_reader_to_the_internal_contract(page: Path) -> None:
    name = str(page.relative_to(REPO))
    cited = re.findall(r"SPEC(?:\.md| \d[\d.]*)", page.read_text(encoding="utf-8"))
    if name in CITING_THE_CONTRACT:
        assert cited, f"{name} cites the contract no more: take it off CITING_THE_CONTRACT"
        pytest.skip(f"{name} is still to be rewritten ({len(cited)} citations)")
    assert not cited, f"{name} cites {sorted(set(cited))}: say it, or link docs/reference/"


@pytest.mark.parametrize("page", user_docs(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves_inside_the_repository(page: Path) -> None:
    broken = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:, ...
            continue
        file_part, _, fragment = target.partition("#")
        resolved = (page.parent / file_part).resolve() if file_part else page
        if not resolved.is_relative_to(REPO):
            broken.append(f"{target}: outside the repository")
        elif not resolved.exists():
            broken.append(f"{target}: no such file")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            broken.append(f"{target}: {resolved.name} has no heading #{fragment}")
    assert not broken, f"{page.relative_to(REPO)}: " + "; ".join(broken)


def test_the_link_checker_sees_links_and_skips_code(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# A page\n\nSee [the guide](guide.md#a-page), ![a picture](img/x.svg) and "
        "[a site](https://example.com).\n\n`[not](a-link.md)`\n\n```\n[nor](this.md)\n```\n"
    )
    assert links(page) == ["guide.md#a-page", "img/x.svg", "https://example.com"]
    assert anchors(page) == {"a-page"}


@pytest.mark.parametrize("name", sorted(reference.IMAGES))
def test_each_readme_picture_is_its_snapshot(name: str) -> None:
    copy, source = REPO / reference.IMAGES_DIR / name, REPO / reference.IMAGES[name]
    assert copy.is_file() and copy.read_bytes() == source.read_bytes(), (
        f"docs/images/{name} is not a copy of {reference.IMAGES[name]} (the snapshot "
        f"changed): run `{REGENERATE}` to copy it again"
    )
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"docs/images/{name}" in readme, f"README.md does not show docs/images/{name}"


def test_docs_images_holds_only_the_readme_pictures() -> None:
    held = {p.name for p in (REPO / reference.IMAGES_DIR).iterdir()}
    assert held == set(reference.IMAGES), (
        f"docs/images/ holds {sorted(held - set(reference.IMAGES))}"
    )
