"""`cockpit serve` serves the TUI to a browser, on loopback by default, with a page that
needs nothing from the internet (textual-serve's own page loads a web font from one)."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import textual_serve

from cockpit.cli.serve_page import RemotePage, bundled_fonts, offline_page, offline_templates
from cockpit.engine.workspace.scaffold import init_workspace


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def browser_session(port: int) -> bytes:
    """Open the websocket a browser opens and collect what the app draws."""
    import aiohttp

    got = b""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"http://127.0.0.1:{port}/ws") as ws,
    ):
        await ws.send_json(["resize", {"width": 120, "height": 40}])
        while b"Cockpit" not in got:
            try:
                message = await asyncio.wait_for(ws.receive(), 20)
            except TimeoutError:
                break
            if message.type not in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
                break
            data = message.data
            got += data if isinstance(data, bytes) else data.encode()
    return got


def test_serve_answers_on_loopback_with_the_app_page(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws", tenant="demo")
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cockpit",
            "serve",
            "--workspace",
            str(ws.root),
            "--port",
            str(port),
        ],
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
        assert f"127.0.0.1:{port}" in page  # bound to loopback, as the default says
        # Nothing is fetched from outside the server: the font comes with the page.
        own = f"http://127.0.0.1:{port}/"
        fetched = re.findall(r"(?:\b(?:src|href)=\"|url\(\")([^\"]+)\"", page)
        assert fetched and all(url.startswith(own) for url in fetched), fetched
        fonts = [url for url in fetched if url.endswith(".ttf")]
        assert len(fonts) == 2
        for url in fonts:
            with urllib.request.urlopen(url, timeout=5) as reply:
                assert reply.status == 200
                assert reply.read(4) == b"\x00\x01\x00\x00"  # TrueType
        screen = asyncio.run(browser_session(port))
        assert b"Cockpit" in screen  # the app itself runs for the browser, not just the page
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_refuses_an_unknown_principal(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws", tenant="demo")
    result = subprocess.run(
        [sys.executable, "-m", "cockpit", "serve", "--workspace", str(ws.root), "--as", "x:y"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "'x:y' is not a principal" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# -- the page needs nothing from the internet ---------------------------------------------


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
