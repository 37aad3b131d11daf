"""Validation for WP-0001, booked by the owner: exits non-zero if page_count is wrong."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))

from pager import page_count  # noqa: E402

CASES = [((0, 10), 0), ((1, 10), 1), ((10, 10), 1), ((20, 10), 2), ((21, 10), 3)]
failures = [(args, want, page_count(*args)) for args, want in CASES if page_count(*args) != want]
for args, want, got in failures:
    print(f"page_count{args} = {got}, expected {want}")
print("ok" if not failures else f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
