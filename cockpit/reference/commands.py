"""docs/reference/cli.md: every command and subcommand of `cockpit`, read from the click
command tree (every lazily registered command loaded), with its arguments, options and
the shape of its `--json` document (cockpit.reference.documents)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import click

from cockpit.reference.documents import ERROR, Document, documents_of
from cockpit.reference.markdown import banner, page, table
from cockpit.reference.shapes import rows

SOURCES = ("cockpit/cli/", "cockpit/reference/documents/")
# Options every command that works on a workspace takes: described once, at the top.
SHARED = ("--workspace", "--help")


def command_tree() -> click.Group:
    """The `cockpit` group with every command registered."""
    from cockpit.cli.base import cli, load_commands

    load_commands()
    return cli


def walk(
    group: click.Group, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """(path, command) of every command under `group`, by name, groups before their own."""
    ctx = click.Context(group, info_name="cockpit")
    for name in sorted(group.list_commands(ctx)):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from walk(command, (*path, name))


def takes_json(command: click.Command) -> bool:
    return any("--json" in getattr(p, "opts", ()) for p in command.params)


def _unset(value: Any) -> bool:
    return value is None or value is getattr(click.core, "UNSET", None) or value == ()


def value_text(param: click.Parameter) -> str:
    """What a parameter takes, as usage would write it."""
    kind = param.type
    if isinstance(param, click.Option) and param.is_flag:
        return ""
    if isinstance(kind, click.Choice):
        return "|".join(str(c) for c in kind.choices)
    metavar = getattr(param, "metavar", None)
    if metavar:
        return str(metavar)
    if isinstance(kind, click.Path):
        return "DIR" if not kind.file_okay else ("FILE" if not kind.dir_okay else "PATH")
    if isinstance(kind, click.IntRange):
        low, high = kind.min, kind.max
        return f"N ({low}-{high})" if high is not None else f"N (≥ {low})"
    if isinstance(kind, click.types.IntParamType):
        return "N"
    return "TEXT"


def argument_name(param: click.Argument) -> str:
    """An argument as usage writes it: `WP`, `[WP]`, `FILES...`."""
    name = param.metavar or (param.name or "").upper()
    name += "..." if param.nargs == -1 else ""
    return name if param.required or name.startswith("[") else f"[{name}]"


def usage(path: tuple[str, ...], command: click.Command) -> str:
    words = ["cockpit", *path]
    if any(isinstance(p, click.Option) and not _shared(p) for p in command.params):
        words.append("[OPTIONS]")
    words += [argument_name(p) for p in command.params if isinstance(p, click.Argument)]
    if isinstance(command, click.Group):
        words.append("COMMAND")
    return " ".join(words)


def _shared(option: click.Option) -> bool:
    return bool(set(option.opts) & set(SHARED))


def _options(command: click.Command) -> str:
    lines = []
    for param in command.params:
        if not isinstance(param, click.Option) or param.hidden or _shared(param):
            continue
        names = ", ".join(f"`{o}`" for o in (*param.opts, *param.secondary_opts))
        default = "" if _unset(param.default) or param.is_flag else f"`{param.default}`"
        needed = "required" if param.required else default
        lines.append((names, value_text(param), needed, param.help or ""))
    if not lines:
        return ""
    return table(("option", "value", "required / default", "meaning"), lines)


def _arguments(command: click.Command) -> str:
    args = [p for p in command.params if isinstance(p, click.Argument)]
    if not args:
        return ""
    listed = ", ".join(
        f"`{argument_name(p).strip('[]')}`" + ("" if p.required else " (optional)") for p in args
    )
    return f"Arguments: {listed}."


def _json(path: tuple[str, ...], command: click.Command) -> str:
    if not takes_json(command):
        return "No `--json` document."
    docs = documents_of(" ".join(path))
    if not docs:
        return "`--json`: *the shape of this document is not described yet.*"
    return page(*(_document(doc) for doc in docs))


def _document(doc: Document) -> str:
    when = f" ({doc.when})" if doc.when else ""
    lead = f"`--json`{when} prints {_article(doc.shape.type)}. {doc.shape.meaning}"
    listed = rows(doc.shape)
    if not listed:
        return lead
    return page(lead, table(("key", "type", "meaning"), listed))


def _article(json_type: str) -> str:
    if json_type.startswith("array of object"):
        return "a list of objects"
    if json_type.startswith("array"):
        return "a list"
    return "an object"


def _help(command: click.Command) -> str:
    text = (command.help or "").replace("\b\n", "")
    return "\n\n".join(" ".join(part.split()) for part in text.split("\n\n") if part.strip())


def _section(path: tuple[str, ...], command: click.Command) -> str:
    level = "#" * min(2 + len(path) - 1, 4)
    parts = [f"{level} `cockpit {' '.join(path)}`", f"    {usage(path, command)}", _help(command)]
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        subs = ", ".join(f"`{name}`" for name in sorted(command.list_commands(ctx)))
        parts.append(f"Commands: {subs}.")
    else:
        parts += [_arguments(command), _options(command), _json(path, command)]
    return page(*parts)


def _index(tree: click.Group) -> str:
    listed = []
    for path, command in walk(tree):
        name = " ".join(path)
        first = _help(command).split("\n\n")[0]
        link = "cockpit-" + "-".join(path)
        listed.append((f"[`{name}`](#{link})", first, "yes" if takes_json(command) else ""))
    return table(("command", "what it does", "--json"), listed)


def render() -> str:
    tree = command_tree()
    workspace = next(p for p in tree.params if "--workspace" in getattr(p, "opts", ()))
    sections = [_section(path, command) for path, command in walk(tree)]
    error_rows = table(("key", "type", "meaning"), rows(ERROR.shape))
    return page(
        banner("Command line", SOURCES),
        "    " + usage((), tree),
        _help(tree),
        _options(tree),
        "## Every command",
        "\n".join(
            (
                f"- `--workspace DIR` (`-w`), before or after the command: {workspace.help} "
                "When the directory has no `cockpit.yaml`, the command exits 2 and says so.",
                "- `--help` (`-h`) prints a command's help.",
                "- Read commands take `--json` and print one JSON document on stdout, nothing "
                "else; actions take it too. The document is printed whatever the exit code.",
                "- Actions take `--as PRINCIPAL` (default `$COCKPIT_PRINCIPAL`, else "
                "`operator` in cockpit.yaml) and `--key FILE`, the key that signs the action.",
                "- Exit codes: 0 ok, 1 refused, 2 usage or input error "
                "([exit-codes.md](exit-codes.md)); an error is one sentence on stderr.",
            )
        ),
        "With `--json`, a command that fails before it has its document prints this instead:",
        error_rows,
        "## Commands",
        _index(tree),
        *sections,
    )
