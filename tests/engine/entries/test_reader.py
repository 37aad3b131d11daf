"""One hardened reader of entry files: the queue sweep and `cockpit submit` read through the
same function, so a file the sweep refuses at once (a FIFO, a symlink, a device, an oversize
file) is refused by submit at once too, with the same code, never waited on."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from helpers.process import clean_env, cockpit_cmd
from helpers.workspace import Env, rejection_reason, work_package

from cockpit.engine.entries import reader
from cockpit.engine.entries.models import MAX_ENTRY_BYTES, EntryRejected
from cockpit.engine.queue import submit, sweep

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


def test_the_sweep_and_submit_read_through_one_function() -> None:
    assert submit.read_entry_file is reader.read_entry_file
    assert sweep.read_and_parse is reader.read_and_parse
    # read_and_parse reads with read_entry_file: one reader, not two that agree today.
    assert "read_entry_file" in reader.read_and_parse.__code__.co_names
    assert not hasattr(sweep, "read_entry_file")


def hostile_files(root: Path) -> dict[str, Path]:
    root.mkdir(parents=True, exist_ok=True)
    fifo = root / "pipe.yaml"
    os.mkfifo(fifo)
    target = root / "real.txt"
    target.write_text("schema: cockpit.entry/v1\n")
    link = root / "link.yaml"
    link.symlink_to(target)
    big = root / "big.yaml"
    big.write_bytes(b"#" * (MAX_ENTRY_BYTES + 1))
    return {"pipe.yaml": fifo, "link.yaml": link, "big.yaml": big}


def reader_code(path: Path) -> str:
    with pytest.raises(EntryRejected) as caught:
        reader.read_entry_file(path)
    return caught.value.code.value


def test_submit_and_the_sweep_refuse_each_hostile_file_with_the_same_code(
    env: Env, tmp_path: Path
) -> None:
    expected = {"pipe.yaml": "parse_error", "link.yaml": "symlink", "big.yaml": "too_large"}
    outside = hostile_files(tmp_path / "outside")
    assert {name: reader_code(path) for name, path in outside.items()} == expected
    submitted = {}
    for name, path in outside.items():
        result = env.cli("submit", str(path), "--json")
        assert result.code == 2, (name, result.out, result.err)
        [error] = result.json()["errors"]
        submitted[name] = error["code"]
    assert submitted == expected
    in_queue = hostile_files(env.new)
    past = time.time() - 60
    for path in in_queue.values():
        os.utime(path, (past, past), follow_symlinks=False)
    env.sweep()
    assert {name: rejection_reason(env, name)["code"] for name in in_queue} == expected


def test_cockpit_submit_of_a_fifo_exits_2_at_once_naming_it(env: Env, tmp_path: Path) -> None:
    fifo = tmp_path / "entry.yaml"
    os.mkfifo(fifo)
    good = tmp_path / "wp.yaml"
    good.write_text(work_package("WP-1"))
    # A reader that opened the FIFO would wait for a writer for ever: the timeout fails it.
    result = subprocess.run(
        cockpit_cmd("submit", "--workspace", str(env.root), str(good), str(fifo)),
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2, result.stderr
    assert str(fifo) in result.stderr and "not a regular file" in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stdout == ""
    assert list(env.new.iterdir()) == []  # nothing of the batch was queued
