"""A template workspace (the bundled demo in a checkout: it holds `.cockpit-template`) is
never written by the engine, and a read-only store of a workspace creates nothing in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.engine.workspace.layout import TEMPLATE_MARKER, Workspace
from cockpit.engine.workspace.scaffold import demo_source, init_workspace
from cockpit.errors import InputError


def test_the_engine_refuses_to_write_a_template(tmp_path: Path) -> None:
    root = tmp_path / "template"
    init_workspace(root)
    (root / ".cockpit").rmdir()
    (root / TEMPLATE_MARKER).write_text("a template\n")
    ws = Workspace.load(root)
    assert ws.is_template
    with pytest.raises(InputError, match="template"):
        ws.open_store()
    with ws.read_store() as store:  # reading is fine, and makes nothing
        assert store.work_packages() == []
    assert not (root / ".cockpit").exists()


def test_the_bundled_demo_is_a_template_and_its_copies_are_not(tmp_path: Path) -> None:
    assert Workspace.load(demo_source()).is_template
    copy = init_workspace(tmp_path / "d", demo=True)
    assert not copy.is_template
    with copy.open_store() as store:
        assert store.work_packages() == []
