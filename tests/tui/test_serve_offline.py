"""`cockpit serve` works on a server with no route to the internet: its page fetches
nothing from outside the server (textual-serve's own page loads a web font from one)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import textual_serve

from cockpit.cli.serve_page import RemotePage, bundled_fonts, offline_page, offline_templates
from cockpit.engine.workspace.scaffold import init_workspace
from tests.tui.test_serve import free_port

OFF_SITE = re.compile(r"(?:\b(?:src|href)\s*=\s*[\"']?|url\(\s*[\"']?)(?:https?:)?//", re.I)


def test_the_offline_page_loads_the_bundled_fonts(tmp_path: Path) -> None:
    page = (offline_templates(tmp_path) / "app_index.html").read_text()
    assert OFF_SITE.search(page) is None
    assert "googleapis" not in page
    static = Path(textual_serve.__file__).parent / "static"
    for font in bundled_fonts():
        assert f"{{{{ config.static.url }}}}{font}" in page
        assert (static / font).read_bytes()[:4] == b"\x00\x01\x00\x00"  # TrueType


@pytest.mark.parametrize(
    "extra",
    [
        '<script src="https://cdn.example.com/x.js"></script>',
        "<img src=//cdn.example.com/x.png>",
        "<style>body { background: url('http://example.com/bg.png') }</style>",
    ],
)
def test_anything_else_fetched_off_site_is_refused(extra: str) -> None:
    template = '<html><head><link rel="stylesheet" href="https://fonts.example/css" />'
    with pytest.raises(RemotePage, match="outside the server"):
        offline_page(template + extra + "</head></html>")


def test_a_served_page_needs_nothing_from_outside_the_server(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws", tenant="demo")
    port = free_port()
    command = [sys.executable, "-m", "cockpit", "serve", "--workspace", str(ws.root)]
    proc = subprocess.Popen(
        [*command, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        page = ""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not page:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as reply:
                    page = reply.read().decode()
            except OSError:
                time.sleep(0.2)
        assert "textual" in page.lower()
        own = f"http://127.0.0.1:{port}/"
        fetched = re.findall(r"(?:\b(?:src|href)=\"|url\(\")([^\"]+)\"", page)
        assert fetched and all(url.startswith(own) for url in fetched), fetched
        fonts = [url for url in fetched if url.endswith(".ttf")]
        assert len(fonts) == 2
        for url in fonts:
            with urllib.request.urlopen(url, timeout=5) as reply:
                assert reply.status == 200
                assert reply.read(4) == b"\x00\x01\x00\x00"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
