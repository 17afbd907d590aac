# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A scanner host's probe of several targets: bad fields named before anything is sent, the
scanner itself never probed, each target's probe with its host and source, the scanner's totals
shared among the targets probed at once. Only loopback is ever probed: the refusal of the
scanner's own addresses is lifted where a test probes a real listener."""

import socket

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._probe import scanner
from ansible_collections.portguard.hardening.plugins.module_utils._probe.scan import ProbeError

REAL_GETADDRINFO = socket.getaddrinfo


def fake_getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    """Numeric addresses through the real resolver; every name fails to resolve."""
    if flags & socket.AI_NUMERICHOST or host.replace(".", "").isdigit() or ":" in host:
        return REAL_GETADDRINFO(host, port, family, type, proto, flags)
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.fixture(autouse=True)
def resolver(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)


@pytest.fixture
def listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    yield s.getsockname()[1]
    s.close()


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
        ({"concurrency": 3, "rate": 5}, 8, 1, 1.0),
        ({"concurrency": 100, "rate": 0}, 4, 25, 0),
    ],
)
def test_the_scanners_totals_are_shared(settings, workers, concurrency, rate):
    each = scanner.shares(dict(settings, timeout=1.0), workers)
    assert (each["concurrency"], each["rate"], each["timeout"]) == (concurrency, rate, 1.0)
