"""`python -m cockpit.reference [--check] [--root CHECKOUT]`: write docs/reference/ and
copy the README's pictures into docs/images/ (with --check: only list what differs, and
exit 1 if anything does)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cockpit.reference import checkout, differences, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cockpit.reference",
        description="Generate docs/reference/ and copy docs/images/ from the snapshots.",
    )
    parser.add_argument("--check", action="store_true", help="only list what is stale")
    parser.add_argument("--root", type=Path, help="the source checkout (default: this one)")
    args = parser.parse_args(argv)
    root = args.root or checkout()
    if args.check:
        stale = differences(root)
        for path in stale:
            print(f"stale: {path}")
        return 1 if stale else 0
    for path in write(root):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
