"""The reference documentation in docs/reference/, generated where the code already knows
the answer: the entry kinds and cockpit.yaml from their pydantic models, the commands from
the click tree, the rejection codes and event types from `cockpit.domain`. The README's
pictures in docs/images/ are copies of the TUI's snapshot tests.

`python -m cockpit.reference` writes both; `--check` only lists what differs.
tests/docs/ fail, naming the file, when a committed page or picture is stale.

This package imports no Textual (it reads the CLI's command tree, which imports none).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

REFERENCE_DIR = Path("docs") / "reference"
IMAGES_DIR = Path("docs") / "images"
SNAPSHOTS = Path("tests") / "tui" / "__snapshots__"
# The README's pictures: docs/images/NAME <- the snapshot that shows that screen.
IMAGES = {
    "board.svg": SNAPSHOTS / "test_snapshots" / "test_board.svg",
    "lineage-stepper.svg": SNAPSHOTS / "test_snapshots" / "test_stepper_at_a_verify.svg",
    "metrics.svg": SNAPSHOTS / "test_snapshots" / "test_metrics.svg",
    "changes-tab.svg": SNAPSHOTS / "test_changes_snapshots" / "test_comment_draft_kept.svg",
    "comment-box.svg": SNAPSHOTS / "test_changes_snapshots" / "test_comment_box.svg",
}


def renderers() -> dict[str, Callable[[], str]]:
    """Each page of docs/reference/ and the function that writes it."""
    from cockpit.reference import codes, commands, config, entries, events, index

    return {
        "index.md": index.render,
        "entries.md": entries.render,
        "config.md": config.render,
        "cli.md": commands.render,
        "exit-codes.md": codes.render_exit_codes,
        "rejection-codes.md": codes.render_rejection_codes,
        "event-types.md": events.render,
    }


def generate() -> dict[str, str]:
    """Every page of docs/reference/, by file name."""
    return {name: render() for name, render in renderers().items()}


def checkout() -> Path:
    """The source checkout this package runs from (where docs/ and tests/ are)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file() or not (root / "docs").is_dir():
        raise FileNotFoundError(
            f"{root} is not a Cockpit source checkout (no pyproject.toml and docs/): "
            "pass --root CHECKOUT"
        )
    return root


def differences(root: Path, pages: dict[str, str] | None = None) -> list[str]:
    """The files under `root` that differ from what would be written (relative paths)."""
    pages = generate() if pages is None else pages
    stale = []
    for name, text in pages.items():
        path = root / REFERENCE_DIR / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(str(REFERENCE_DIR / name))
    for name, source in IMAGES.items():
        path = root / IMAGES_DIR / name
        if not path.is_file() or path.read_bytes() != (root / source).read_bytes():
            stale.append(str(IMAGES_DIR / name))
    return stale


def write(root: Path) -> list[str]:
    """Write every page and copy every picture that differs; the paths written."""
    pages = generate()
    stale = differences(root, pages)
    (root / REFERENCE_DIR).mkdir(parents=True, exist_ok=True)
    (root / IMAGES_DIR).mkdir(parents=True, exist_ok=True)
    for name, text in pages.items():
        if str(REFERENCE_DIR / name) in stale:
            (root / REFERENCE_DIR / name).write_text(text, encoding="utf-8")
    for name, source in IMAGES.items():
        if str(IMAGES_DIR / name) in stale:
            (root / IMAGES_DIR / name).write_bytes((root / source).read_bytes())
    return stale
