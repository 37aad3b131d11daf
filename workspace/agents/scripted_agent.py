"""The demo's scripted agent: a stand-in for an AI agent that plays by the rules.

`cockpit run` starts it (lane `scripted` in cockpit.yaml) whenever its work package has
the next move, in the WP's worktree, with COCKPIT_HANDOFF naming its handoff message.
It reads the handoff and does what the next gate asks, nothing more:

- `scope_confirmation`: confirm the scope if it knows how to do the work (a recipe for
  the WP, or for the archetype of the procedure pack it was booked from), decline it with
  a note otherwise, and stop;
- `verify`: make the change in the worktree, commit it, run the WP's validation
  commands, and return common ground, evidence and a claim through `cockpit submit`.

It never writes outside its worktree except the entries it submits (through a scratch
directory), and it says `partial` rather than `done` when its own validation fails.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

FAREWELL = '''

def farewell(name: str) -> str:
    """Say goodbye to `name`."""
    return f"Goodbye, {name}!"
'''
FAREWELL_CHECK = """assert greet.farewell("Ada") == "Goodbye, Ada!", greet.farewell("Ada")
print("farewell: ok")
"""


def add_farewell(worktree: Path) -> tuple[list[str], list[str]]:
    """WP-0006: add farewell() beside greet(), and cover it in the project's check."""
    module = worktree / "greet.py"
    check = worktree / "checks" / "check_greet.py"
    if "def farewell" not in module.read_text():
        module.write_text(module.read_text().rstrip("\n") + "\n" + FAREWELL)
    if "farewell" not in check.read_text():
        check.write_text(check.read_text() + FAREWELL_CHECK)
    return ["greet.py", "checks/check_greet.py"], []


RECIPES = {"WP-0006": add_farewell}

# -- recipes per procedure archetype (procedures/<archetype>.yaml): each follows its
# pack's steps on the demo project and returns (changed files, facts for common ground).

NAMES_CHECK = """\"\"\"Regression check of initials(): names with runs of spaces (the bugfix's).\"\"\"

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import names  # noqa: E402

assert names.initials("Ada Lovelace") == "A.L.", names.initials("Ada Lovelace")
assert names.initials("Ada  Lovelace") == "A.L.", names.initials("Ada  Lovelace")
assert names.initials(" ada lovelace ") == "A.L.", names.initials(" ada lovelace ")
print("names: ok")
"""


def run_check(worktree: Path, path: str) -> tuple[int, str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, path], cwd=worktree, env=env, capture_output=True, text=True
    )
    lines = (done.stdout + done.stderr).strip().splitlines()
    return done.returncode, lines[-1] if lines else ""


def fix_bug(worktree: Path) -> tuple[list[str], list[str]]:
    """bugfix: reproduce (the regression check first, which must fail), fix, check again."""
    check = "checks/check_names.py"
    (worktree / check).write_text(NAMES_CHECK)
    code, said = run_check(worktree, check)
    if code == 0:
        (worktree / check).unlink()
        return [], [f"{check} passes before any fix: the bug does not reproduce"]
    module = worktree / "names.py"
    module.write_text(module.read_text().replace('name.split(" ")', "name.split()"))
    after, _ = run_check(worktree, check)
    return ["names.py", check], [
        f"reproduced: {check} failed before the fix ({said})",
        f"{check} {'passes' if after == 0 else 'still FAILS'} after the fix",
    ]


def upgrade_dependencies(worktree: Path) -> tuple[list[str], list[str]]:
    """dependency-upgrade: raise each pin a known advisory affects to its fixed version."""

    def version(text: str) -> tuple[int, ...]:
        return tuple(int(part) for part in text.split("."))

    advisories = [
        line.split()
        for line in (worktree / "checks" / "advisories.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    requirements = worktree / "requirements.txt"
    lines, facts = requirements.read_text().splitlines(), []
    for n, line in enumerate(lines):
        name, sep, pinned = line.partition("==")
        for advised, fixed, advisory in advisories:
            if sep and name.strip().lower() == advised and version(pinned) < version(fixed):
                lines[n] = f"{name}=={fixed}"
                facts.append(f"{name} upgraded from {pinned} to {fixed} ({advisory})")
    if not facts:
        return [], ["no pin is affected by a known advisory: nothing to upgrade"]
    requirements.write_text("\n".join(lines) + "\n")
    return ["requirements.txt"], facts


def document_functions(worktree: Path) -> tuple[list[str], list[str]]:
    """docs-change: a Functions section in README.md naming every public function."""
    import ast

    entries = []
    for module in sorted(worktree.glob("*.py")):
        for node in ast.parse(module.read_text()).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                args = ", ".join(a.arg for a in node.args.args)
                doc = (ast.get_docstring(node) or "").split("\n")[0]
                entries.append(f"- `{module.stem}.{node.name}({args})`: {doc}")
    readme = worktree / "README.md"
    text = readme.read_text().split("\n## Functions\n")[0].rstrip("\n")
    readme.write_text(text + "\n\n## Functions\n\n" + "\n".join(entries) + "\n")
    return ["README.md"], [f"README.md documents {len(entries)} functions"]


ARCHETYPES = {
    "bugfix": fix_bug,
    "dependency-upgrade": upgrade_dependencies,
    "docs-change": document_functions,
}


def recipe_for(handoff: dict):
    """The WP's own recipe, else the one for its procedure's archetype (None: neither)."""
    procedure = handoff.get("procedure") or {}
    return RECIPES.get(handoff["work_package"]["id"]) or ARCHETYPES.get(procedure.get("archetype"))


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def entry(kind: str, entry_id: str, handoff: dict, created: datetime, body: dict) -> dict:
    return {
        "schema": "cockpit.entry/v1",
        "kind": kind,
        "id": entry_id,
        "work_package": handoff["work_package"]["id"],
        "principal": handoff["you"],
        "tenant": handoff["tenant"],
        "created": stamp(created),
        "body": body,
        # The workspace's id: a signed entry names it (the demo runs signed).
        **({"workspace": handoff["workspace"]} if handoff.get("workspace") else {}),
    }


def submit(entries: list[dict]) -> None:
    """Write the entries to a scratch directory and hand them to `cockpit submit`."""
    with tempfile.TemporaryDirectory(prefix="scripted-agent-") as scratch:
        files = []
        for number, item in enumerate(entries):
            path = Path(scratch) / f"{number}-{item['id']}.yaml"
            path.write_text(yaml.safe_dump(item, sort_keys=False))
            files.append(str(path))
        done = subprocess.run(
            [sys.executable, "-m", "cockpit", "submit", *files], capture_output=True, text=True
        )
        print(done.stdout, end="")
        print(done.stderr, end="", file=sys.stderr)
        if done.returncode != 0:
            sys.exit(f"cockpit submit refused the entries (exit {done.returncode})")


def git(worktree: Path, *args: str, me: str) -> str:
    identity = ["-c", f"user.name={me}", "-c", "user.email=scripted-agent@demo.invalid"]
    done = subprocess.run(
        ["git", *identity, *args], cwd=worktree, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def confirm_scope(handoff: dict, now: datetime) -> None:
    wp = handoff["work_package"]
    known = recipe_for(handoff) is not None
    procedure = handoff.get("procedure") or {}
    steps = [s["step"] for s in procedure.get("steps") or []]
    plan = f" following the {procedure['archetype']} steps ({', '.join(steps)})" if steps else ""
    notes = (
        f"I will change only {', '.join(wp['owned_surfaces'])}{plan} and run the validation "
        "commands."
        if known
        else f"This scripted agent has no recipe for {wp['id']}; it needs another agent."
    )
    body = {"confirmed": known, "notes": notes}
    submit([entry("scope_confirmation", f"SCP-{wp['id']}-{now:%Y%m%dT%H%M%S}", handoff, now, body)])


def deliver(handoff: dict, worktree: Path, now: datetime) -> None:
    wp = handoff["work_package"]
    me = handoff["you"]
    recipe = recipe_for(handoff)
    if recipe is None:
        sys.exit(f"no recipe for {wp['id']}: nothing to deliver")
    for step in (handoff.get("procedure") or {}).get("steps") or []:
        print(f"step {step['step']}: {step['context']}")
    changed, facts = recipe(worktree)
    if changed:
        git(worktree, "add", "--", *changed, me=me)
    if changed and git(worktree, "status", "--porcelain", "--", *changed, me=me):
        git(worktree, "commit", "-q", "-m", f"{wp['id']}: {wp['title']}", me=me)
    head = git(worktree, "rev-parse", "HEAD", me=me)

    results = []
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    for command in wp["validation_commands"]:
        run = subprocess.run(
            ["sh", "-c", command], cwd=worktree, env=env, capture_output=True, text=True
        )
        results.append((command, run.returncode, (run.stdout + run.stderr)[-500:]))
    passed = all(code == 0 for _, code, _ in results)
    done_state = ("done" if passed else "partial") if changed else "not_fixed"

    tag = f"{wp['id']}-{now:%Y%m%dT%H%M%S}"
    previous = handoff.get("common_ground")
    version = (previous["version"] + 1) if previous else 1
    ground = entry(
        "common_ground",
        f"CG-{tag}",
        handoff,
        now,
        {
            "version": version,
            "objective": wp["objective"],
            "accepted_facts": [
                f"the change is commit {head} on {handoff['worktree']['branch']}",
                *facts,
            ],
            "open_questions": [],
            "assumptions": ["the project's check is the whole test suite"],
            "success_criteria": wp["success_criteria"],
            "stage": "claim",
        },
    )
    items = [
        {
            "class": "source_trace",
            "ref": path,
            "sha256": hashlib.sha256((worktree / path).read_bytes()).hexdigest(),
        }
        for path in changed
    ]
    items += [
        {
            "class": "local_command_proof",
            "ref": changed[0] if changed else ".",
            "command": command,
            "exit_code": code,
            "log": output,
        }
        for command, code, output in results
    ]
    evidence = entry(
        "evidence",
        f"EVD-{tag}",
        handoff,
        now + timedelta(seconds=1),
        {"items": items, "missing": [], "quality": "scripted run in the worktree"},
    )
    ground_text = yaml.safe_dump(ground, sort_keys=False)
    claim = entry(
        "claim",
        f"CLM-{tag}",
        handoff,
        now + timedelta(seconds=2),
        {
            "done_state": done_state,
            "common_ground": {
                "id": ground["id"],
                "version": version,
                "hash": hashlib.sha256(ground_text.encode()).hexdigest(),
            },
            "evidence": [evidence["id"]],
            "owner": wp["owner"],
            "accountable": wp["accountable"],
            "unresolved_questions": [],
            "summary": f"{wp['title']}: commit {head[:12]}, validation "
            + ("passed" if passed else "FAILED"),
        },
    )
    submit([ground, evidence, claim])


def main() -> None:
    handoff = yaml.safe_load(Path(os.environ["COCKPIT_HANDOFF"]).read_text())
    worktree = Path(os.environ["COCKPIT_WORKTREE"])
    now = datetime.now(UTC).replace(microsecond=0)
    gate = handoff["next_gate"]
    print(f"{handoff['you']} on {handoff['work_package']['id']}: next gate {gate}")
    if gate == "scope_confirmation":
        confirm_scope(handoff, now)
    elif gate == "verify":
        deliver(handoff, worktree, now)
    else:
        print("nothing for me to do at this gate")


if __name__ == "__main__":
    main()
