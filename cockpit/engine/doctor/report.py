"""What a doctor's check says: `ok`, `warn` or `fail`, what it found, what to do."""

from __future__ import annotations

from dataclasses import dataclass

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass(frozen=True)
class Check:
    """One check: its name, `ok`/`warn`/`fail`, what was found, what to do."""

    name: str
    status: str
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


def tally(checks: list[Check]) -> tuple[int, int]:
    """(how many failed, how many warned)."""
    return (
        sum(check.status == FAIL for check in checks),
        sum(check.status == WARN for check in checks),
    )


def failed(checks: list[Check]) -> bool:
    return tally(checks)[0] > 0
