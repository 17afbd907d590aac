# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The TCP connect probe: errno -> state, pacing, descriptor room, and real loopback sockets
(a listener is open, a bound port without one refused, a listener whose queue is full filtered,
a spent budget not probed). Only 127.0.0.1 and ::1 are ever connected to."""

import asyncio
import errno
import select
import socket

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._probe import tcp
from ansible_collections.portguard.hardening.plugins.module_utils._probe.pace import (
    FD_MARGIN,
    Pacer,
    socket_room,
)


def has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


EPOLL = hasattr(select, "epoll")
LOOPBACKS = [
    pytest.param(socket.AF_INET, "127.0.0.1", id="ipv4"),
    pytest.param(
        socket.AF_INET6,
        "::1",
        id="ipv6",
        marks=pytest.mark.skipif(not has_ipv6_loopback(), reason="no ::1 here"),
    ),
]


@pytest.mark.parametrize(
    "outcome,state,problem",
    [
        (0, "open", None),
        (errno.ECONNREFUSED, "refused", None),
        (errno.ECONNRESET, "refused", None),
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), "refused", None),
        # Nothing came back in time: the SYN (or its answer) was dropped.
        (TimeoutError(), "filtered", None),
        (asyncio.TimeoutError(), "filtered", None),
        (errno.ETIMEDOUT, "filtered", None),
        # ICMP host / network unreachable and administratively prohibited (Linux maps codes 9,
        # 10 and 13 of ICMP destination unreachable to these).
        (errno.EHOSTUNREACH, "filtered", None),
        (errno.ENETUNREACH, "filtered", None),
        (OSError(errno.EHOSTUNREACH, "No route to host"), "filtered", None),
        (errno.EHOSTDOWN, "filtered", None),
        (errno.ENETDOWN, "filtered", None),
        (errno.ENOPROTOOPT, "filtered", None),
        # This side's own firewall dropped the SYN.
        (errno.EPERM, "filtered", None),
        (errno.EACCES, "filtered", None),
        # This side ran out of something: says nothing about the host.
        (errno.EMFILE, "not probed", "cannot connect from here: EMFILE"),
        (errno.EADDRNOTAVAIL, "not probed", "cannot connect from here: EADDRNOTAVAIL"),
        (OSError(errno.ENOBUFS, "no buffer"), "not probed", "cannot connect from here: ENOBUFS"),
        (OSError("no errno"), "not probed", "connect failed: OSError"),
        # An errno not known here: the port did not accept, and the result says why.
        (errno.EPROTO, "filtered", "connect failed with EPROTO"),
    ],
)
def test_classify(outcome, state, problem):
    assert tcp.classify(outcome) == (state, problem)


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.mark.parametrize(
    "rate,advance,attempts,allowed",
    [
        (0, 0.0, 1000, 1000),  # no limit
        (1000, 0.0, 100, 20),  # the burst: 20 ms of the rate
        (10, 0.0, 5, 1),  # a burst is at least one attempt
        (1000, 0.0055, 100, 25),  # 20 burst, then 5 more refilled
    ],
)
def test_pacer_takes_at_most_the_rate(rate, advance, attempts, allowed):
    clock = Clock()
    pacer = Pacer(rate, clock)
    taken = 0
    for i in range(attempts):
        if i == 50:
            clock.now += advance
        taken += pacer.take()
    assert taken == allowed


def test_pacer_waits_for_the_next_token():
    clock = Clock()
    pacer = Pacer(100, clock)
    assert pacer.take()
    assert pacer.take()
    assert not pacer.take()
    assert pacer.wait_time() == pytest.approx(0.01)
    clock.now += 0.01
    assert pacer.take()


@pytest.mark.parametrize(
    "wanted,soft,hard,in_use,room,raised",
    [
        (256, 1024, 4096, 10, 256, None),  # fits
        (2000, 1024, 4096, 10, 2000, 2000 + 10 + FD_MARGIN),  # soft limit raised to what fits
        (5000, 1024, 4096, 10, 4096 - 10 - FD_MARGIN, 4096),  # raised to hard, still short
        (5000, 1024, 1024, 10, 1024 - 10 - FD_MARGIN, None),  # hard limit reached: capped
        (100, 50, 50, 10, 1, None),  # never below one
    ],
)
def test_socket_room(wanted, soft, hard, in_use, room, raised):
    calls = []
    got, note = socket_room(wanted, lambda: (soft, hard), lambda s, h: calls.append((s, h)), in_use)
    assert got == room
    assert calls == ([(raised, hard)] if raised else [])
    assert (note is None) == (room == wanted)
    if note:
        assert "concurrency lowered from %d to %d" % (wanted, room) in note


def test_socket_room_when_the_limit_cannot_be_raised():
    def refuse(_soft, _hard):
        raise ValueError("not allowed")

    got, note = socket_room(2000, lambda: (1024, 4096), refuse, 0)
    assert got == 1024 - FD_MARGIN
    assert "the descriptor limit is 1024 (hard 4096)" in note


def scan(family, address, ports, concurrency=64, timeout=1.0, rate=0, budget=30.0, epoll=None):
    async def run():
        loop = asyncio.get_running_loop()
        sockaddr = (address, 0) if family == socket.AF_INET else (address, 0, 0, 0)
        probe = tcp.TcpScan(
            loop,
            family,
            sockaddr,
            ports,
            concurrency,
            timeout,
            Pacer(rate, loop.time),
            loop.time() + budget,
            use_epoll=epoll,
        )
        started = loop.time()
        await probe.run()
        return probe, loop.time() - started

    return asyncio.run(run())


@pytest.fixture
def ports(request):
    """(family, address, an open port, a refused port): a listener, and a bound socket
    that does not listen (the kernel resets connections to it), both held for the test."""
    family, address = request.param
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.bind((address, 0))
    listener.listen(16)
    bound = socket.socket(family, socket.SOCK_STREAM)
    bound.bind((address, 0))
    yield family, address, listener.getsockname()[1], bound.getsockname()[1]
    listener.close()
    bound.close()


# Both ways of watching the connects: the scan's own epoll set, and the loop's add_writer.
WATCHERS = [
    pytest.param(True, id="epoll", marks=pytest.mark.skipif(not EPOLL, reason="no epoll")),
    pytest.param(False, id="add_writer"),
]


@pytest.mark.parametrize("epoll", WATCHERS)
@pytest.mark.parametrize("ports", [p.values for p in LOOPBACKS], indirect=True, ids=["v4", "v6"])
@pytest.mark.kernel
def test_open_and_refused_on_loopback(ports, epoll):
    family, address, open_port, refused_port = ports
    probe, _elapsed = scan(family, address, [open_port, refused_port], epoll=epoll)
    assert probe.states == {open_port: "open", refused_port: "refused"}
    assert probe.sent == 2
    assert not probe.problems
    assert not probe.inflight


@pytest.fixture
def full_listener():
    """The port of a listener whose accept queue is full: the kernel drops the SYNs of further
    connects, so they time out as they would behind a firewall that drops."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    waiting = []
    try:
        for _i in range(8):
            client = socket.socket()
            client.settimeout(0.3)
            waiting.append(client)
            try:
                client.connect(("127.0.0.1", port))
            except OSError:
                break  # this one was dropped: the queue is full
        else:
            pytest.skip("the listen queue never filled")
        yield port
    finally:
        for client in waiting:
            client.close()
        listener.close()


@pytest.mark.parametrize("epoll", WATCHERS)
@pytest.mark.kernel
def test_a_listener_whose_queue_is_full_is_filtered(full_listener, epoll):
    probe, elapsed = scan(socket.AF_INET, "127.0.0.1", [full_listener], timeout=0.3, epoll=epoll)
    assert probe.states == {full_listener: "filtered"}
    assert elapsed >= 0.3


@pytest.mark.parametrize("epoll", WATCHERS)
@pytest.mark.kernel
def test_many_ports_at_bounded_concurrency(epoll):
    """More ports than connections at once: every one gets a state, none is left in flight."""
    held = []
    for _i in range(3):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(4)
        held.append(s)
    opened = sorted(s.getsockname()[1] for s in held)
    try:
        first = max(1025, opened[0] - 200)
        wanted = sorted(set(range(first, first + 400)) | set(opened))
        probe, _elapsed = scan(socket.AF_INET, "127.0.0.1", wanted, concurrency=4, epoll=epoll)
        assert sorted(probe.states) == wanted
        # Other listeners of this machine may be in the range too: ours must be among the open.
        assert set(opened) <= {p for p, s in probe.states.items() if s == "open"}
        assert set(probe.states.values()) <= {"open", "refused"}
        assert probe.sent == len(wanted)
    finally:
        for s in held:
            s.close()


@pytest.mark.parametrize("epoll", WATCHERS)
@pytest.mark.kernel
def test_the_budget_leaves_the_rest_not_probed(epoll):
    """At 20 connects a second, a 0.25 s budget reaches only the first few of 200 ports."""
    probe, elapsed = scan(
        socket.AF_INET, "127.0.0.1", list(range(40000, 40200)), rate=20, budget=0.25, epoll=epoll
    )
    states = list(probe.states.values())
    assert len(states) == 200
    assert states.count("not probed") >= 190
    assert probe.sent == 200 - states.count("not probed")
    assert elapsed < 2.0


@pytest.mark.kernel
def test_the_rate_spaces_connects():
    """20 ports at 50 per second: the burst is one, so at least 19 gaps of 20 ms."""
    probe, elapsed = scan(socket.AF_INET, "127.0.0.1", list(range(40000, 40020)), rate=50)
    assert len(probe.states) == 20
    assert elapsed >= 0.3


@pytest.mark.kernel
def test_no_ports_is_no_connect():
    probe, _elapsed = scan(socket.AF_INET, "127.0.0.1", [])
    assert probe.states == {}
    assert probe.sent == 0


@pytest.mark.parametrize("epoll", WATCHERS)
@pytest.mark.kernel
def test_the_budget_closes_connects_in_flight(full_listener, epoll):
    """A connect still waiting when the budget ends is closed and not probed."""
    probe, elapsed = scan(
        socket.AF_INET, "127.0.0.1", [full_listener], timeout=5.0, budget=0.2, epoll=epoll
    )
    assert probe.states == {full_listener: "not probed"}
    assert not probe.inflight
    assert elapsed < 2.0
