"""Key files are read without waiting (found by a reviewer of `cockpit doctor`): a FIFO, a
directory or a huge file named as a key is refused at once, with the file named, where a
FIFO used to block the runner (and the doctor) forever."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers.process import time_bound

from cockpit.engine.trust import keys
from cockpit.errors import ConfigError


def test_a_fifo_named_as_a_key_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "runner_ed25519"
    os.mkfifo(fifo)
    with time_bound(10, "loading a FIFO as a key"), pytest.raises(ConfigError) as caught:
        keys.load_key(fifo)
    assert str(fifo) in str(caught.value) and "not a regular file" in str(caught.value)
    with time_bound(10, "a FIFO as a public key"), pytest.raises(ConfigError):
        keys.public_key_file(fifo)


def test_a_directory_or_a_huge_file_is_no_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a regular file"):
        keys.load_key(tmp_path)
    huge = tmp_path / "huge"
    huge.write_bytes(b"x" * (keys.KEY_FILE_LIMIT + 1))
    with pytest.raises(ConfigError, match="too large for a key"):
        keys.load_key(huge)


def test_a_real_key_still_loads(tmp_path: Path) -> None:
    public, made = keys.init_runner_key(tmp_path / "runner_ed25519")
    assert made
    assert keys.load_key(tmp_path / "runner_ed25519").public.blob == public.blob
    assert keys.public_key_file(tmp_path / "runner_ed25519").blob == public.blob
