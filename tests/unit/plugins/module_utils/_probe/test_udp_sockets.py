# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The UDP probe on real loopback sockets: a socket that answers with a captured reply is open,
a port nobody holds is closed (Linux sends ICMP port unreachable on loopback too), a socket that
never answers is open|filtered. Only 127.0.0.1 and ::1 are ever sent to."""

import asyncio
import socket
import threading

import probe_captures
import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._probe import udp
from ansible_collections.portguard.hardening.plugins.module_utils._probe.pace import Pacer

# Every test here opens real sockets: the kernel stage (tests/unit/conftest.py).
pytestmark = pytest.mark.kernel

BY_SERVICE = dict((p.service, p) for p in udp.PROBES.values())


class Responder:
    """A UDP socket on loopback that answers each datagram with ``reply(request)``, a list of
    datagrams (none: it stays silent); ``requests`` records what came."""

    def __init__(self, reply, family=socket.AF_INET, address="127.0.0.1"):
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((address, 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.requests = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopped.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except OSError:
                continue
            self.requests.append(data)
            for answer in self.reply(data):
                self.sock.sendto(answer, peer)

    def close(self):
        self.stopped.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture
def responders():
    made = []

    def make(reply, **kwargs):
        made.append(Responder(reply, **kwargs))
        return made[-1]

    yield make
    for responder in made:
        responder.close()


def free_port(family=socket.AF_INET, address="127.0.0.1"):
    """A UDP port nobody holds (bound, then released)."""
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def scan(ports, probes=None, tries=2, timeout=0.3, concurrency=64, budget=30.0, v6=False):
    family = socket.AF_INET6 if v6 else socket.AF_INET
    sockaddr = ("::1", 0, 0, 0) if v6 else ("127.0.0.1", 0)

    async def run():
        loop = asyncio.get_running_loop()
        started = loop.time()
        out = await udp.scan(
            loop,
            family,
            sockaddr,
            ports,
            concurrency,
            tries,
            timeout,
            Pacer(0, loop.time),
            loop.time() + budget,
            probes,
        )
        return out + (loop.time() - started,)

    return asyncio.run(run())


@pytest.mark.parametrize("service", sorted(probe_captures.SERVERS))
def test_a_socket_answering_the_captured_reply_is_open(service, responders, monkeypatch):
    ident, request, answer = probe_captures.server(service)
    # The request carries the capture's id, so the captured answer matches it.
    monkeypatch.setattr(udp, "random_id", lambda bits: ident)
    server = responders(lambda data: [answer])
    probe = BY_SERVICE[service]
    states, sent, problems, _elapsed = scan([server.port], {server.port: probe})
    assert states[server.port] == {
        "state": "open",
        "service": service,
        "detail": probe.recognise(answer, ident),
        "probe": service,
    }
    assert server.requests == [request]
    assert sent == 1
    assert not problems


def test_a_port_nobody_holds_is_closed():
    port = free_port()
    states, sent, _problems, _elapsed = scan([port], {port: BY_SERVICE["rpcbind"]})
    assert states[port] == {
        "state": "closed",
        "service": None,
        "detail": "ICMP port unreachable",
        "probe": "rpcbind",
    }
    assert sent == 1


def test_a_socket_that_never_answers_is_open_filtered(responders):
    server = responders(lambda data: [])
    states, sent, _problems, elapsed = scan([server.port], tries=3, timeout=0.2)
    assert states[server.port] == {
        "state": "open|filtered",
        "service": None,
        "detail": "no answer to 3 tries",
        "probe": "empty datagram",
    }
    assert sent == 3
    assert len(server.requests) == 3
    assert server.requests[0] == b""  # no known request for the port: an empty datagram
    assert elapsed >= 0.6


def test_an_answer_to_an_empty_datagram_is_open(responders):
    server = responders(lambda data: [b"hello"])
    states, _sent, _problems, _elapsed = scan([server.port])
    assert states[server.port]["state"] == "open"
    assert states[server.port]["service"] is None
    assert states[server.port]["detail"] == "answered an empty datagram (5 bytes)"


def test_an_answer_not_recognised_is_open_without_a_service(responders):
    """Something answered from the port, so it is open, but not as rpcbind: no service."""
    server = responders(lambda data: [b"\x00garbage\xff"])
    states, sent, _problems, _elapsed = scan([server.port], {server.port: BY_SERVICE["rpcbind"]})
    assert states[server.port] == {
        "state": "open",
        "service": None,
        "detail": "1 datagrams, none a rpcbind answer",
        "probe": "rpcbind",
    }
    assert sent == 1  # an answer ends the tries


def test_a_flood_is_looked_at_only_so_far(responders, monkeypatch):
    """A host that sends many datagrams before the real answer: only the first MAX_ANSWERS
    are looked at."""
    ident, _request, answer = probe_captures.server("ntp")
    monkeypatch.setattr(udp, "random_id", lambda bits: ident)
    server = responders(lambda data: [b"junk"] * (udp.MAX_ANSWERS + 4) + [answer])
    states, _sent, _problems, _elapsed = scan([server.port], {server.port: BY_SERVICE["ntp"]})
    assert states[server.port]["state"] == "open"
    assert states[server.port]["service"] is None


def test_the_right_answer_after_junk_is_recognised(responders, monkeypatch):
    ident, _request, answer = probe_captures.server("ntp")
    monkeypatch.setattr(udp, "random_id", lambda bits: ident)
    server = responders(lambda data: [b"junk", answer])
    states, _sent, _problems, _elapsed = scan([server.port], {server.port: BY_SERVICE["ntp"]})
    assert states[server.port]["service"] == "ntp"


def test_a_retry_reaches_a_socket_that_missed_the_first(responders, monkeypatch):
    ident, _request, answer = probe_captures.server("dns")
    monkeypatch.setattr(udp, "random_id", lambda bits: ident)
    seen = []

    def second_only(data):
        seen.append(data)
        return [answer] if len(seen) == 2 else []

    server = responders(second_only)
    states, sent, _problems, _elapsed = scan(
        [server.port], {server.port: BY_SERVICE["dns"]}, tries=2, timeout=0.2
    )
    assert states[server.port]["state"] == "open"
    assert sent == 2


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6")
def test_ipv6_loopback(responders):
    try:
        server = responders(lambda data: [b"v6"], family=socket.AF_INET6, address="::1")
    except OSError:
        pytest.skip("no ::1 here")
    closed = free_port(socket.AF_INET6, "::1")
    states, _sent, _problems, _elapsed = scan([server.port, closed], v6=True)
    assert states[server.port]["state"] == "open"
    assert states[closed]["state"] == "closed"


def test_concurrency_bounds_the_sockets_at_once(responders):
    """20 silent ports, 4 at a time, 0.1 s each: five rounds at least."""
    servers = [responders(lambda data: []) for _i in range(20)]
    ports = sorted(s.port for s in servers)
    states, sent, _problems, elapsed = scan(ports, tries=1, timeout=0.1, concurrency=4)
    assert [states[p]["state"] for p in ports] == ["open|filtered"] * 20
    assert sent == 20
    assert elapsed >= 0.5


def test_the_budget_leaves_the_rest_not_probed(responders):
    servers = [responders(lambda data: []) for _i in range(6)]
    ports = sorted(s.port for s in servers)
    states, _sent, _problems, elapsed = scan(ports, tries=2, timeout=1.0, concurrency=2, budget=0.3)
    assert [states[p]["state"] for p in ports] == ["not probed"] * 6
    assert states[ports[0]]["detail"] == "the time budget ran out"
    assert elapsed < 1.0
