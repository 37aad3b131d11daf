"""docs/reference/index.md: what each page of the reference holds."""

from __future__ import annotations

from cockpit.reference.markdown import COMMAND, banner, page

PAGES = (
    (
        "entries.md",
        "Entries",
        "every entry kind and field, file naming, Markdown entries, "
        "refs and pins, signatures, and an example of each kind",
    ),
    ("config.md", "cockpit.yaml", "every key of the workspace's config, its default and rules"),
    (
        "cli.md",
        "Command line",
        "every command and subcommand, its arguments and options, "
        "and the shape of its `--json` document",
    ),
    ("exit-codes.md", "Exit codes", "what 0, 1 and 2 mean, and which error gives which"),
    (
        "rejection-codes.md",
        "Rejection codes",
        "why an entry is refused, in the order the checks run, and what to do about each",
    ),
    ("event-types.md", "Event types", "every audit event, what it records and its payload"),
)


def render() -> str:
    listed = "\n".join(f"- [{title}]({name}): {what}." for name, title, what in PAGES)
    return page(
        banner("Reference", ("cockpit/reference/",)),
        "The exact formats and interfaces of Cockpit, generated from the code that "
        "implements them, so they say what this version does. The guides in `docs/` explain "
        "how to use them; [editor.md](../editor.md) shows how to have an editor check "
        "entries and cockpit.yaml as you type.",
        listed,
        "## Regenerating",
        f"After changing an entry model, the config model, a command, a rejection code or "
        f"an event type, run `.venv/bin/{COMMAND}` in the checkout and commit what it "
        "writes. It also copies the README's pictures from the TUI's snapshot tests into "
        f"`docs/images/`. `{COMMAND} --check` lists what is stale; the tests in "
        "`tests/docs/` fail, naming the file, until it is regenerated.",
    )
