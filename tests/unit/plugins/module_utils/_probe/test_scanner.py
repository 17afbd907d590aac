# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A scanner host's probe of several targets: bad fields named before anything is sent, the
scanner itself never probed, each target's probe with its host and source, the scanner's totals
shared among the targets probed at once. Only loopback is ever probed: the refusal of the
scanner's own addresses is lifted where a test probes a real listener."""

import socket

import pytest
import support
from ansible_collections.portguard.hardening.plugins.module_utils._probe import scanner
from ansible_collections.portguard.hardening.plugins.module_utils._probe.scan import ProbeError


@pytest.fixture(autouse=True)
def resolver(monkeypatch):
    # Names do not resolve; numeric addresses do, through the real resolver.
    monkeypatch.setattr(socket, "getaddrinfo", support.stand_in_resolver())


@pytest.fixture
def listener():
    yield from support.loopback_listener()


@pytest.fixture
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def target(host, address, tcp=(), udp=()):
    return {"host": host, "address": address, "tcp_ports": list(tcp), "udp_ports": list(udp)}


def test_every_bad_field_is_named_and_nothing_is_sent(monkeypatch):
    sent = []
    monkeypatch.setattr(scanner, "probe_host", lambda *a, **k: sent.append(a))
    bad = [
        {"host": "web1", "address": "", "tcp_ports": ["x"], "udp_ports": [], "port": 1},
        "web2",
        target("web3", "127.0.0.1", udp=["70000"]),
    ]
    with pytest.raises(ProbeError) as raised:
        scanner.scan(bad, {"timeout": 0}, parallel=0)
    assert raised.value.errors == [
        "targets[0]: unknown fields 'port' (known: host, address, tcp_ports, udp_ports)",
        "targets[0].address: expected a non-empty string, got ''",
        "targets[0].tcp_ports[0]: expected a port or FIRST-LAST, got 'x'",
        "targets[1]: expected a mapping, got 'web2'",
        "targets[2].udp_ports[0]: '70000' is not within 1-65535, first to last",
        "timeout: expected a number from 0.01 to 60 (seconds to wait for each answer), got 0",
        "parallel: expected an integer from 1 to 64 (targets probed at once), got 0",
    ]
    assert sent == []


@pytest.mark.kernel
def test_the_scanner_itself_and_names_it_cannot_resolve_are_not_probed(monkeypatch):
    sent = []
    monkeypatch.setattr(scanner, "probe_host", lambda *a, **k: sent.append(a))
    probes, unprobed = scanner.scan(
        [target("self", "127.0.0.1", [22]), target("gone", "gone.lab", [22])]
    )
    assert probes == [] and sent == []
    assert unprobed == [
        {
            "host": "self",
            "address": "127.0.0.1",
            "why": "127.0.0.1 is a loopback address: the probe would see this scanner's own ports",
        },
        {
            "host": "gone",
            "address": "gone.lab",
            "why": "targets[1].address: cannot resolve 'gone.lab': [Errno -2] Name or service "
            "not known",
        },
    ]


@pytest.mark.kernel
def test_each_target_is_probed_with_its_host_and_the_scanners_source(
    monkeypatch, listener, free_port
):
    monkeypatch.setattr(scanner, "own_address", lambda *a: None)
    targets = [
        target("web1", "127.0.0.1", [listener, free_port]),
        target("web2", "127.0.0.2", [listener]),
        target("web3", "127.0.0.1", ["%d-%d" % (listener, listener)]),
    ]
    probes, unprobed = scanner.scan(targets, {"timeout": 0.5}, parallel=2)
    assert unprobed == []
    assert [(p["host"], p["address"], p["source"], dict(p["tcp"])) for p in probes] == [
        ("web1", "127.0.0.1", "127.0.0.1", {str(listener): "open", str(free_port): "refused"}),
        ("web2", "127.0.0.2", "127.0.0.1", {str(listener): "refused"}),
        ("web3", "127.0.0.1", "127.0.0.1", {str(listener): "open"}),
    ]
    # Two targets at once: each gets half the scanner's concurrency and rate.
    assert probes[0]["settings"]["concurrency"] == 128
    assert probes[0]["settings"]["rate"] == 1000.0


@pytest.mark.parametrize(
    "settings, workers, concurrency, rate",
    [
        ({"concurrency": 256, "rate": 2000}, 1, 256, 2000.0),
        ({"concurrency": 8, "rate": 2}, 8, 1, 0.25),
        ({"concurrency": 100, "rate": 0}, 4, 25, 0),
    ],
)
def test_the_scanners_totals_are_shared(settings, workers, concurrency, rate):
    each = scanner.shares(dict(settings, timeout=1.0), workers)
    assert (each["concurrency"], each["rate"], each["timeout"]) == (concurrency, rate, 1.0)


def test_the_totals_hold_when_they_are_small(monkeypatch):
    """Two connections and two attempts a second in all: two targets at a time, one second's
    attempt each, whatever parallel says."""
    seen = []
    monkeypatch.setattr(scanner, "own_address", lambda *a: None)
    monkeypatch.setattr(scanner, "source_address", lambda address: "198.51.100.5")

    def probe_host(address, tcp, udp, settings):
        seen.append((address, settings["concurrency"], settings["rate"]))
        return {"address": address, "tcp": {}, "udp": {}, "notes": [], "errors": []}

    monkeypatch.setattr(scanner, "probe_host", probe_host)
    targets = [target("web%d" % n, "192.0.2.%d" % n, [22]) for n in range(1, 5)]
    probes, unprobed = scanner.scan(targets, {"concurrency": 2, "rate": 2}, parallel=4)
    assert (len(probes), unprobed) == (4, [])
    assert sorted(seen) == [("192.0.2.%d" % n, 1, 1.0) for n in range(1, 5)]


def test_a_target_that_is_no_hosts_address_leaves_the_others_probed(monkeypatch):
    """A name that resolves to 0.0.0.0 (a sinkhole), or a probe that refuses its address, is
    that target's problem, named by its field; the other targets are probed and returned."""
    sent = []
    monkeypatch.setattr(scanner, "own_address", lambda *a: None)
    monkeypatch.setattr(scanner, "source_address", lambda address: "198.51.100.5")
    monkeypatch.setattr(
        scanner, "resolve", lambda name, field: ("0.0.0.0" if name == "sink.lab" else name, [])
    )

    def probe_host(address, tcp, udp, settings):
        if address == "192.0.2.13":
            raise ProbeError(["address: refused by the probe"])
        sent.append(address)
        return {"address": address, "tcp": {"22": "open"}, "udp": {}, "notes": [], "errors": []}

    monkeypatch.setattr(scanner, "probe_host", probe_host)
    targets = [
        target("web1", "192.0.2.10", [22]),
        target("web2", "sink.lab", [22]),
        target("web3", "192.0.2.12", [22]),
        target("web4", "192.0.2.13", [22]),
    ]
    probes, unprobed = scanner.scan(targets, parallel=2)
    assert sorted(sent) == ["192.0.2.10", "192.0.2.12"]
    assert [(p["host"], p["source"]) for p in probes] == [
        ("web1", "198.51.100.5"),
        ("web3", "198.51.100.5"),
    ]
    assert unprobed == [
        {
            "host": "web2",
            "address": "sink.lab",
            "why": "targets[1].address: '0.0.0.0' is not the address of one host",
        },
        {"host": "web4", "address": "192.0.2.13", "why": "address: refused by the probe"},
    ]
