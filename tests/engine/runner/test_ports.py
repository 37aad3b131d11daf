"""Port ranges for live work packages (SPEC 11.4), on a real workspace and the real
runner: each live WP's range in its handoff and its agent's environment, no two live WPs
sharing a port, a port something listens on never handed out, a range released when its
WP stops being live, kept across a runner restart (it is derived from the record)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from helpers.agents import drop_booking, drop_dispatch, events_of
from helpers.git import new_repo
from helpers.workspace import Env
from helpers.worktrees import configure, install_probe, runs

from cockpit.engine.repo import ports
from cockpit.engine.runner.handoff import handoff_document

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


def _held(env: Env, wp: str) -> ports.PortRange | None:
    with env.store() as store:
        return ports.held(store, wp)


def _handoff_ports(env: Env, wp: str) -> object:
    with env.store() as store:
        row = store.work_package(wp)
        assert row is not None
        return handoff_document(env.ws, store, row)["ports"]


def _listening(port: int) -> socket.socket | None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        return None
    sock.listen()
    return sock


def test_two_live_wps_never_share_a_port_and_a_range_is_released_when_the_wp_stops_being_live(
    env: Env,
) -> None:
    """WPs without a target repo, in a lane whose agents run on their own: the runner
    only writes their handoffs, with their ports."""
    configure(env, ports_per_wp=5)
    busy = _listening(ports.FIRST_PORT + 2)  # a dev server of someone else's, in block one
    try:
        for n, wp in enumerate(("WP-1", "WP-2"), start=1):
            drop_booking(env, None, wp)
            drop_dispatch(env, wp, n)
        env.sweep()
        first, second = _held(env, "WP-1"), _held(env, "WP-2")
        assert first is not None and second is not None
        assert first.last - first.first + 1 == 5 and second.last - second.first + 1 == 5
        assert not first.overlaps(second)
        if busy is not None:  # the port someone listens on is in neither range
            taken = ports.FIRST_PORT + 2
            assert not (first.first <= taken <= first.last)
            assert not (second.first <= taken <= second.last)
        assert _handoff_ports(env, "WP-1") == {
            "first": first.first,
            "last": first.last,
            "range": f"{first.first}-{first.last}",
        }
        [reserved] = events_of(env, "ports_reserved")
        assert reserved.payload == {"first": first.first, "last": first.last, "range": first.text}
        assert reserved.principal == "cockpit:runner"

        env.sweep()  # a second look reserves nothing again: the record keeps the range
        assert len(events_of(env, "ports_reserved")) == 1 and _held(env, "WP-1") == first

        cancelled = env.cli("cancel", "WP-1", "--reason", "not needed")
        assert cancelled.code == 0, cancelled.err
        assert _held(env, "WP-1") is None  # released with its liveness
        drop_booking(env, None, "WP-3")
        drop_dispatch(env, "WP-3", 3)
        env.sweep()
        third = _held(env, "WP-3")
        assert third is not None and not third.overlaps(second)
        if busy is None or not (first.first <= ports.FIRST_PORT + 2 <= first.last):
            assert third == first  # the lowest free block: the one WP-1 gave back
        assert _handoff_ports(env, "WP-1") is None
    finally:
        if busy is not None:
            busy.close()


def test_an_agent_gets_its_ports_in_its_environment_and_its_handoff(
    env: Env, tmp_path: Path
) -> None:
    repo, _ = new_repo(tmp_path)
    record = tmp_path / "record.jsonl"
    install_probe(env, record)
    drop_booking(env, repo)
    drop_dispatch(env)
    env.sweep()
    held = _held(env, "WP-1")
    assert held is not None and held.last - held.first + 1 == 10  # the default
    [run] = runs(record)
    assert run["port"] == str(held.first)
    assert run["ports"] == f"{held.first}-{held.last}"
    assert run["handoff_ports"] == held.payload()


def test_a_range_comes_back_new_when_the_wp_is_live_again(env: Env) -> None:
    """Accepted (not live) then sent back to work: the old range may be another's by
    then, so the WP takes a new reservation, and holds nothing while accepted."""
    configure(env, ports_per_wp=3)
    drop_booking(env, None)
    drop_dispatch(env)
    env.sweep()
    before = _held(env, "WP-1")
    assert before is not None
    assert env.cli("override", "WP-1", "--to", "accepted", "--reason", "t").code == 0
    assert _held(env, "WP-1") is None
    drop_booking(env, None, "WP-2")
    drop_dispatch(env, "WP-2", 2)
    env.sweep()
    assert _held(env, "WP-2") == before  # WP-1's old range, free again
    assert env.cli("override", "WP-1", "--to", "in_progress", "--reason", "t").code == 0
    env.sweep()
    again = _held(env, "WP-1")
    assert again is not None and not again.overlaps(before)
    assert len(events_of(env, "ports_reserved")) == 2


def test_ports_per_wp_zero_reserves_nothing(env: Env) -> None:
    configure(env, ports_per_wp=0)
    drop_booking(env, None)
    drop_dispatch(env)
    env.sweep()
    assert events_of(env, "ports_reserved") == [] and _handoff_ports(env, "WP-1") is None


def test_choose_skips_taken_blocks_and_says_when_none_is_left() -> None:
    taken = [ports.PortRange(ports.FIRST_PORT, ports.FIRST_PORT + 9)]
    block = ports.choose(taken, 10)
    assert block.first >= ports.FIRST_PORT + 10 and block.last == block.first + 9
    everything = [ports.PortRange(ports.FIRST_PORT, ports.LAST_PORT)]
    with pytest.raises(ports.PortsExhausted, match="no 10 free TCP ports"):
        ports.choose(everything, 10)
