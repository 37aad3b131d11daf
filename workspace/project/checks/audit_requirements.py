"""The project's dependency audit: every pin in requirements.txt is exact (NAME==X.Y.Z) and
none is affected by a known advisory (checks/advisories.txt)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in text if line.strip() and not line.startswith("#")]


pins = {}
for line in lines(ROOT / "requirements.txt"):
    name, sep, pinned = line.partition("==")
    assert sep and pinned, f"{line!r} is not pinned exactly (NAME==X.Y.Z)"
    pins[name.strip().lower()] = pinned.strip()

affected = []
for line in lines(ROOT / "checks" / "advisories.txt"):
    name, fixed, advisory = line.split()
    if name in pins and version(pins[name]) < version(fixed):
        affected.append(f"{name}=={pins[name]} ({advisory}, fixed in {fixed})")
if affected:
    sys.exit("affected by known advisories: " + "; ".join(affected))
print(f"requirements: ok ({len(pins)} pins, none affected)")
