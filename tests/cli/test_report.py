"""`cockpit report WP` (issue 15): the reviewer's report, built from the record alone.

On the demo (`cockpit init --demo`, `cockpit run --once`) every pointer the Markdown prints
is followed: `[seq N]` to an event of the WP in `cockpit audit log --json`, `ID@sha256:HEX`
to an ingested entry with that hash and to its file in queue/done/ whose bytes hash to it.
The Mermaid block is parsed by structure and its edges are `cockpit lineage --json`'s. The
HTML form is one file with no script and nothing fetched, and agent-written text can break
out of neither a Markdown cell, a pointer, nor HTML. Real workspaces, no mocks."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from helpers.agents import OWNER_HUMAN, drop_booking, drop_dispatch
from helpers.drivers import set_driver_lane
from helpers.git import new_repo
from helpers.workspace import Env, entry, t
from markdown_it import MarkdownIt

from cockpit.cli import main as cli_main
from cockpit.domain import EventType
from cockpit.store import NewEvent

pytestmark = pytest.mark.usefixtures("no_ambient_principal")

SEQ = re.compile(r"(?<!\\)\[seq (\d+)\]")
ENTRY = re.compile(r"`([A-Za-z0-9][A-Za-z0-9._-]{0,63})@sha256:([0-9a-f]{64})`")
NODE = re.compile(r'^    (n\d+)(?:\["([^"]*)"\]|\("([^"]*)"\))$')
EDGE = re.compile(r"^    (n\d+) -->\|([a-z0-9_]+)\| (n\d+)$")
CLASS_DEF = re.compile(r"^    classDef [a-z]+ [a-z0-9:#,.\- ]+$")
CLASS = re.compile(r"^    class (n\d+(?:,n\d+)*) [a-z]+$")
HOSTILE = 'Evil </pre><script>alert(1)</script> | "] `x` [seq 1] FAKE-1@sha256:' + "a" * 64


def cockpit(root: Path | None, *args: str) -> tuple[int, str, str]:
    """`cockpit ARGS --workspace ROOT` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    where = ["--workspace", str(root)] if root is not None else []
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            cli_main([*args, *where])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def read(root: Path, *args: str) -> Any:
    code, out, err = cockpit(root, *args, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo as `cockpit init --demo` makes it, run once."""
    root = tmp_path_factory.mktemp("report") / "demo"
    with pytest.MonkeyPatch.context() as env:
        for name in ("COCKPIT_WORKSPACE", "COCKPIT_PRINCIPAL", "COCKPIT_SIGNING_KEY"):
            env.delenv(name, raising=False)
        assert cockpit(None, "init", str(root), "--demo")[0] == 0
        assert cockpit(root, "run", "--once")[0] == 0
    return root


def markdown(root: Path, wp: str) -> str:
    code, out, err = cockpit(root, "report", wp, "--format", "md")
    assert code == 0, err
    return out


def follow_every_pointer(root: Path, wp: str, md: str) -> tuple[set[int], set[str]]:
    """Resolve each pointer of `md` against the chain and the queue; return what was seen."""
    log = {e["seq"]: e for e in read(root, "audit", "log")}
    ours = {seq for seq, e in log.items() if e["work_package"] == wp}
    ingested = {e["entry_id"]: e["payload"] for e in log.values() if "entry" in e["payload"]}
    seqs = {int(s) for s in SEQ.findall(md)}
    assert seqs, "the report points at no event"
    assert seqs <= ours, f"pointers to events that are not {wp}'s: {sorted(seqs - ours)}"
    entries = ENTRY.findall(md)
    assert entries, "the report points at no entry"
    done = root / "queue" / "done"
    for entry_id, sha in set(entries):
        assert entry_id in ingested, f"{entry_id} was never ingested"
        payload = ingested[entry_id]
        assert payload["sha256"] == sha, entry_id
        assert payload["entry"]["work_package"] == wp, entry_id
        data = (done / payload["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha, f"queue/done/{payload['file']}"
    # Nothing that looks like a hash pin is left outside a pointer (none forged in text).
    assert len(re.findall(r"(?<!\\)@sha256:(?!HEX`)", md)) == len(entries)
    # The head the report names is the chain's, and the events it cites are as stored.
    head = re.search(r"through \[seq (\d+)\] \(chain hash `([0-9a-f]{64})`", md)
    assert head is not None
    assert log[int(head.group(1))]["chain"] == head.group(2)
    assert int(head.group(1)) == max(ours)
    cited = md.split("## Events cited", 1)[1]
    for seq, event_id, leaf in re.findall(
        r"\| \[seq (\d+)\] \| [^|]+ \| [^|]+ \| (\S+) \| `(\w+)` \|", cited
    ):
        assert (log[int(seq)]["event_id"], log[int(seq)]["leaf"]) == (event_id, leaf)
    return seqs, {e for e, _ in entries}


def statements(md: str) -> list[str]:
    """Every list item and table data row outside the Mermaid block."""
    lines = md.splitlines()
    out, fenced = [], False
    for n, line in enumerate(lines):
        if line.startswith("```"):
            fenced = not fenced
            continue
        nxt = lines[n + 1] if n + 1 < len(lines) else ""
        if fenced or line.startswith("|---") or nxt.startswith("|---"):
            continue
        if line.startswith(("- ", "| ")):
            out.append(line)
    return out


def mermaid(md: str) -> list[str]:
    blocks = re.findall(r"```mermaid\n(.*?)\n```", md, re.S)
    assert len(blocks) == 1
    return str(blocks[0]).splitlines()


def parse_flowchart(lines: list[str]) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """(safe id -> real id, edges as real ids), failing on any line of another shape."""
    assert lines[0] == "flowchart TD"
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str, str]] = []
    for line in lines[1:]:
        if node := NODE.match(line):
            nid, label = node.group(1), node.group(2) or node.group(3)
            assert nid not in nodes, f"{nid} declared twice"
            plain = re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), label)
            nodes[nid] = plain.split(" · ")[0]
        elif edge := EDGE.match(line):
            start, rel, end = edge.groups()
            assert start in nodes and end in nodes, line
            edges.append((nodes[start], rel, nodes[end]))
        elif klass := CLASS.match(line):
            assert set(klass.group(1).split(",")) <= set(nodes), line
        else:
            assert CLASS_DEF.match(line), f"not a flowchart line: {line!r}"
    return nodes, edges


@pytest.mark.parametrize("wp", ["WP-0001", "WP-0002", "WP-0006"])
def test_every_pointer_in_the_markdown_resolves(demo: Path, wp: str) -> None:
    md = markdown(demo, wp)
    seqs, entries = follow_every_pointer(demo, wp, md)
    for line in statements(md):
        assert SEQ.search(line) or ENTRY.search(line), f"a statement without a pointer: {line}"
    for heading in (
        "## Status",
        "## Evidence register",
        "## What was validated",
        "## What was not validated or not touched",
        "## Non-claims",
        "## Risks",
        "## Next gate",
        "## Agents' usage and cost",
        "## Lineage",
    ):
        assert f"\n{heading}\n" in md, heading
    # The evidence register follows each packet: its entry, its command and exit code.
    for evidence in read(demo, "report", wp)["evidence"]:
        assert evidence["entry"] in entries and evidence["seq"] in seqs


def test_the_demos_accepted_wp_reads_as_a_reviewer_needs(demo: Path) -> None:
    md = markdown(demo, "WP-0001")
    assert "| State | accepted | [seq 11] |" in md
    assert "| 1 | local\\_command\\_proof" not in md  # intraword underscores stay readable
    assert (
        "| 1 | local_command_proof | checks/check_pager.py | - | python3 checks/check_pager.py"
        in md
    )
    assert "The evidence does not reach: runtime_proof, stress_abuse_proof, merge_proof." in md
    assert "its next gate is **review**" in md
    assert "scope_respected was not applicable" in md
    assert "No agent run is on record for this work package." in md
    blocked = markdown(demo, "WP-0002")
    assert "**advisory**: Advisory ADV-CLM-0002 on CLM-0002: risky (serious)" in blocked
    assert "**gate**: The gate's run was blocked on no_open_blockers" in blocked
    assert "**rejected**: Entry EVD-0003 was rejected (path_escape)" in blocked
    assert "Listed as missing: limits match the code: not_proven" in blocked
    assert "its next gate is **recovery**" in blocked
    driven = markdown(demo, "WP-0006")
    assert "| Changed files | 2: checks/check_greet.py, greet.py | [seq" in driven
    assert "| 2 | agent:scripted | scripted | in_progress | command |" in driven


@pytest.mark.parametrize("wp", ["WP-0001", "WP-0006"])
def test_the_mermaid_block_parses_and_draws_the_lineage_edges(demo: Path, wp: str) -> None:
    nodes, edges = parse_flowchart(mermaid(markdown(demo, wp)))
    assert all(re.fullmatch(r"n\d+", nid) for nid in nodes)
    assert len(set(nodes.values())) == len(nodes)  # one node per lineage id
    lineage = read(demo, "lineage", wp)
    expected = [(e["from"], e["rel"], e["to"]) for e in lineage["edges"]]
    assert Counter(edges) == Counter(expected)
    entries = {n["id"] for n in lineage["nodes"] if "sha256" in n}
    assert entries <= set(nodes.values())  # every packet is drawn


def test_unknown_work_package_and_bad_format_are_input_errors(demo: Path) -> None:
    code, out, err = cockpit(demo, "report", "WP-9999")
    assert (code, out) == (2, "")
    assert err == cockpit(demo, "lineage", "WP-9999")[2]
    assert err.startswith("cockpit: no work package WP-9999") and err.count("\n") == 1
    code, out, err = cockpit(demo, "report", "WP-0001", "--format", "pdf")
    assert (code, out) == (2, "")
    assert err.startswith("cockpit: ") and err.count("\n") == 1 and "pdf" in err
    code, out, _ = cockpit(demo, "report", "WP-9999", "--json")
    assert code == 2 and json.loads(out)["exit_code"] == 2


def test_output_writes_the_same_report_to_a_file(demo: Path, tmp_path: Path) -> None:
    target = tmp_path / "WP-0001.md"
    code, out, err = cockpit(demo, "report", "WP-0001", "--output", str(target))
    assert code == 0, err
    assert out.startswith(f"Wrote the report on WP-0001 to {target}")
    assert target.read_text(encoding="utf-8") == markdown(demo, "WP-0001")
    html = tmp_path / "WP-0001.html"
    assert cockpit(demo, "report", "WP-0001", "--format", "html", "-o", str(html))[0] == 0
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    document = read(demo, "report", "WP-0001")
    assert document["work_package"] == "WP-0001" and document["next_gate"]["gate"] == "review"
    assert [row["class"] for row in document["ladder"]][-1] == "merge_proof"


def test_the_report_reads_and_changes_nothing(demo: Path) -> None:
    before = read(demo, "audit", "verify")
    db = demo / ".cockpit" / "cockpit.db"
    stamp = db.stat().st_mtime_ns
    markdown(demo, "WP-0006")
    cockpit(demo, "report", "WP-0006", "--format", "html")
    assert read(demo, "audit", "verify") == before
    assert db.stat().st_mtime_ns == stamp


# What the Markdown report renders to, whatever the record holds (no link, image or raw
# HTML), and what the HTML report may hold besides (its page, and links to its own rows).
MARKDOWN_TAGS = {"h1", "h2", "h3", "p", "ul", "li", "code", "pre", "strong"} | {
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
SAFE_TAGS = MARKDOWN_TAGS | {"html", "head", "meta", "title", "style", "body", "a", "span"}


class Tags(HTMLParser):
    """The tags and attributes an HTML document really has (not text that looks like them)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.attributes: list[tuple[str, str]] = []

        self.open: list[str] = []  # elements not closed yet (a void element never is)
        self.misnested: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.names.add(tag)
        self.attributes += [(k, v or "") for k, v in attrs]
        if tag not in ("meta", "br"):
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.open and self.open[-1] == tag:
            self.open.pop()
        else:
            self.misnested.append(tag)


def book_hostile(env: Env) -> None:
    """A WP whose owner-written title, objective and criteria, and whose monitor flag,
    carry markup, pipes, quotes, fences and forged pointers."""
    drop_booking(
        env,
        None,
        title=HOSTILE,
        objective="```\n</code></pre><img src=http://x/y.png>\n```",
        success_criteria=[
            "a | b",
            "[link](http://evil.example)",
            "@someone #1 $x$",
            "see http://evil.example/x.png or WWW.evil.example",
            "long " + "word " * 200 + "END",
        ],
        validation_commands=["echo 'ok' | cat"],
    )
    drop_dispatch(env)
    assert env.sweep().sweep.rejected == 0
    with env.store() as store, store.transaction():
        store.append(
            NewEvent(
                EventType.MONITOR_FLAGGED,
                "WP-1",
                "cockpit:monitor",
                payload={
                    "flag": "stall@2",
                    "reason": "stall",
                    "detail": HOSTILE + "\nquiet for 10 min",
                    "basis_seq": 2,
                },
            )
        )


def test_hostile_text_breaks_out_of_neither_markdown_nor_html(env: Env, tmp_path: Path) -> None:
    book_hostile(env)
    md = env.cli("report", "WP-1").out
    follow_every_pointer(env.root, "WP-1", md)  # the forged pointers are not pointers
    title_row = next(line for line in md.splitlines() if line.startswith("| Title |"))
    assert len(re.findall(r"(?<!\\)\|", title_row)) == 4  # three cells, pipes escaped
    assert not re.search(r"(?<!\\)[<>]", md)  # no HTML: every angle bracket escaped
    assert not re.search(r"(?<!\\)\]\(", md)  # no link
    assert "\\@someone" in md and "\\$x\\$" in md
    assert md.count("```") == 2  # only the Mermaid fence; the objective's fences are escaped
    parse_flowchart(mermaid(md))
    # Rendered as CommonMark with tables: no tag, link or image comes from the record.
    rendered = Tags()
    rendered.feed(MarkdownIt("commonmark").enable("table").render(md))
    assert rendered.names <= MARKDOWN_TAGS, rendered.names
    assert not rendered.attributes or {k for k, _ in rendered.attributes} == {"class"}
    # GitHub's own reading (tables, strikethrough, bare URLs made links): still no link.
    linked = Tags()
    linked.feed(MarkdownIt("gfm-like").render(md))
    assert "a" not in linked.names and "img" not in linked.names, linked.attributes
    assert ("long " + "word " * 200 + "END") in md  # cut nowhere: the report is complete
    flag = next(line for line in md.splitlines() if line.startswith("- **monitor**"))
    assert "The progress monitor flagged stall (stall\\@2): Evil" in flag
    flagged = [e.seq for e in env.events("WP-1") if e.type == "monitor_flagged"][-1]
    assert flag.endswith(f"⏎ quiet for 10 min [seq {flagged}] [seq 2]")

    target = tmp_path / "report.html"
    assert env.cli("report", "WP-1", "--format", "html", "--output", str(target)).code == 0
    html = target.read_text(encoding="utf-8")
    tags = Tags()
    tags.feed(html)
    assert tags.names <= SAFE_TAGS, tags.names - SAFE_TAGS  # no script, img, link, iframe
    assert {name for name, _ in tags.attributes} <= {
        "lang",
        "charset",
        "name",
        "content",
        "class",
        "href",
        "id",
    }
    assert all(v.startswith("#seq-") for k, v in tags.attributes if k == "href")
    assert "<script" not in html.lower()
    assert not tags.open and not tags.misnested  # well-formed: no text closed an element
    assert "&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt; | &quot;] `x` [seq 1]" in html
    assert html.count("<pre>") == html.count("</pre>") == 1
    targets = set(re.findall(r'href="#(seq-\d+)"', html))
    assert targets and targets <= set(re.findall(r'id="(seq-\d+)"', html))


def test_a_driver_run_shows_its_tokens_and_cost(env: Env, tmp_path: Path) -> None:
    set_driver_lane(
        env, "claude-code", "--standin-edit", "src/standin.txt", "--standin-cost", "0.0069"
    )
    repo, _base = new_repo(tmp_path)
    drop_booking(env, repo, validation_commands=["grep -q 'stand-in' src/standin.txt"])
    drop_dispatch(env)
    assert env.sweep().sweep.rejected == 0
    document = env.cli("report", "WP-1", "--json").json()
    runs = document["usage"]["runs"]
    assert [r["cost_usd"] for r in runs] == ["0.0069", "0.0069"]
    assert all(r["driver"] == "claude-code" and r["input_tokens"] for r in runs)
    assert document["usage"]["total"]["cost_usd"] == "0.0138"
    measured = [e for e in document["evidence"] if e["measured_by"] == "runner"]
    assert measured and any(
        i["output"] and i["output"]["of"].startswith("full output") for i in measured[0]["items"]
    )
    md = env.cli("report", "WP-1").out
    follow_every_pointer(env.root, "WP-1", md)
    assert md.count("| \\$0.0069 |") == 2
    assert "\\$0.0138 (2 of 2 runs reported a cost)" in md
    assert "measured by the runner" in md


def test_a_hand_filed_entry_is_followed_to_its_file(env: Env) -> None:
    """An entry pointer resolves to the file's bytes in queue/done/ (sha256sum's hash)."""
    drop_booking(env, None)
    env.drop(
        "cg.yaml",
        entry(
            "common_ground",
            "CG-1",
            "WP-1",
            OWNER_HUMAN,
            "version: 1\nobjective: x\nopen_questions: ['is | it?']",
            created=t(1),
        ),
    )
    assert env.sweep().sweep.rejected == 0
    md = env.cli("report", "WP-1").out
    _seqs, entries = follow_every_pointer(env.root, "WP-1", md)
    assert entries == {"WP-1", "CG-1"}
    assert "Open question: is \\| it?" in md
