"""The project's check, run by its work packages' validation commands."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import greet  # noqa: E402

assert greet.greet("Ada") == "Hello, Ada!", greet.greet("Ada")
print("greet: ok")
