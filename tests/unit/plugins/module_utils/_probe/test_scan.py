# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""probe_host(): every bad argument named in one ProbeError before anything is sent, and the
result's shape on real loopback sockets (127.0.0.1 and ::1 only)."""

import ipaddress
import socket

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._probe import scan
from ansible_collections.portguard.hardening.plugins.module_utils._probe.scan import (
    DEFAULTS,
    ProbeError,
    check_settings,
    expand_ports,
    parse_address,
    probe_host,
)


@pytest.fixture
def nothing_sent(monkeypatch):
    """Fails the test if the probe gets as far as its event loop."""

    def refuse():
        raise AssertionError("the probe started")

    monkeypatch.setattr(scan.asyncio, "new_event_loop", refuse)


@pytest.mark.parametrize(
    "address,family,shown",
    [
        ("127.0.0.1", socket.AF_INET, "127.0.0.1"),
        (" 127.0.0.1 ", socket.AF_INET, "127.0.0.1"),
        ("::1", socket.AF_INET6, "::1"),
        ("0:0:0:0:0:0:0:1", socket.AF_INET6, "::1"),
        # Written as ipaddress writes it (which changed in Python 3.13).
        ("::ffff:127.0.0.1", socket.AF_INET6, str(ipaddress.ip_address("::ffff:127.0.0.1"))),
        ("fe80::1%lo", socket.AF_INET6, "fe80::1%lo"),
    ],
)
def test_ip_literals(address, family, shown):
    got_family, sockaddr, got_shown = parse_address(address)
    assert (got_family, got_shown) == (family, shown)
    assert sockaddr[1] == 0
    if address.endswith("%lo"):
        assert sockaddr[3] == socket.if_nametoindex("lo")


@pytest.mark.parametrize(
    "address,message",
    [
        (
            "localhost",
            "address: 'localhost' is not an IP address (names are resolved by the caller)",
        ),
        ("127.1", "address: '127.1' is not an IP address (names are resolved by the caller)"),
        ("0x7f.0.0.1", "address: '0x7f.0.0.1' is not an IP address"),
        ("[::1]", "address: '[::1]' is not an IP address"),
        ("127.0.0.1:22", "address: '127.0.0.1:22' is not an IP address"),
        ("10.0.0.0/8", "address: '10.0.0.0/8' is not an IP address"),
        ("", "address: expected an IP address, got ''"),
        (None, "address: expected an IP address, got None"),
        (2130706433, "address: expected an IP address, got 2130706433"),
        ("0.0.0.0", "address: '0.0.0.0' is not the address of one host"),
        ("::", "address: '::' is not the address of one host"),
        ("224.0.0.251", "address: '224.0.0.251' is not the address of one host"),
        ("ff02::fb", "address: 'ff02::fb' is not the address of one host"),
        ("255.255.255.255", "address: '255.255.255.255' is not the address of one host"),
        ("127.0.0.1%lo", "address: '127.0.0.1%lo' has a zone that is not an interface"),
        ("fe80::1%a b", "address: 'fe80::1%a b' has a zone that is not an interface"),
        ("fe80::1%no-such-if0", "address: 'fe80::1%no-such-if0' cannot be used"),
    ],
)
def test_anything_but_one_ip_literal_is_refused(address, message):
    with pytest.raises(ProbeError) as caught:
        parse_address(address)
    assert caught.value.errors[0].startswith(message)


@pytest.mark.parametrize(
    "settings,errors",
    [
        ({"concurrency": 0}, ["concurrency: expected an integer from 1 to 65535"]),
        ({"concurrency": 2.5}, ["concurrency: expected an integer from 1 to 65535"]),
        ({"concurrency": True}, ["concurrency: expected an integer"]),
        ({"concurrency": "10"}, ["concurrency: expected an integer"]),
        ({"rate": -1}, ["rate: expected a number from 0 to 1000000"]),
        ({"rate": float("nan")}, ["rate: expected a number"]),
        ({"rate": float("inf")}, ["rate: expected a number"]),
        ({"timeout": 0}, ["timeout: expected a number from 0.01 to 60"]),
        ({"timeout": 61}, ["timeout: expected a number from 0.01 to 60"]),
        ({"budget": 0}, ["budget: expected a number from 0.1 to 86400"]),
        ({"tries": 0}, ["tries: expected an integer from 1 to 10"]),
        ({"tries": 11}, ["tries: expected an integer from 1 to 10"]),
        ({"retries": 2}, ["settings: unknown field 'retries'"]),
        (
            {"concurrency": -1, "tries": "x", "timeout": None},
            ["concurrency: expected", "tries: expected"],
        ),
        ([], ["settings: expected a mapping, got a list"]),
    ],
)
def test_bad_settings_name_their_field(settings, errors):
    with pytest.raises(ProbeError) as caught:
        check_settings(settings)
    assert len(caught.value.errors) == len(errors)
    for got, want in zip(caught.value.errors, errors):
        assert got.startswith(want)


@pytest.mark.parametrize(
    "settings,want",
    [
        (None, DEFAULTS),
        ({}, DEFAULTS),
        ({"rate": 0}, dict(DEFAULTS, rate=0)),
        ({"timeout": 0.25, "tries": 1}, dict(DEFAULTS, timeout=0.25, tries=1)),
        ({"budget": None}, DEFAULTS),  # None is "not given"
    ],
)
def test_settings_defaults(settings, want):
    assert check_settings(settings) == want


@pytest.mark.parametrize(
    "values,ports",
    [
        ([22, 80], [22, 80]),
        ([80, 22, 80], [22, 80]),
        (["22", "8000-8002"], [22, 8000, 8001, 8002]),
        ("22,80, 100-101", [22, 80, 100, 101]),
        (443, [443]),
        (["1-65535"], list(range(1, 65536))),
        ([], []),
    ],
)
def test_expand_ports(values, ports):
    assert expand_ports(values, "tcp_ports") == ports


@pytest.mark.parametrize(
    "values,errors",
    [
        ([0], ["tcp_ports[0]: 0 is not within 1-65535"]),
        (["65536"], ["tcp_ports[0]: '65536' is not within 1-65535"]),
        (["90-80"], ["tcp_ports[0]: '90-80' is not within 1-65535, first to last"]),
        (
            [22, "ssh", True],
            [
                "tcp_ports[1]: expected a port or FIRST-LAST, got 'ssh'",
                "tcp_ports[2]: expected a port or FIRST-LAST, got True",
            ],
        ),  # fmt: skip
        (["1-2-3"], ["tcp_ports[0]: expected a port or FIRST-LAST"]),
        ({"a": 1}, ["tcp_ports: expected a list of ports or ranges, got a mapping"]),
    ],
)
def test_bad_port_specs(values, errors):
    with pytest.raises(ProbeError) as caught:
        expand_ports(values, "tcp_ports")
    assert [e[: len(w)] for e, w in zip(caught.value.errors, errors)] == errors
    assert len(caught.value.errors) == len(errors)


def test_every_problem_at_once_and_nothing_sent(nothing_sent):
    with pytest.raises(ProbeError) as caught:
        probe_host("example.org", [22, 0, "80"], "111", {"rate": -5, "budget": "soon"})
    assert caught.value.errors == [
        "address: 'example.org' is not an IP address (names are resolved by the caller)",
        "tcp_ports[1]: expected a port from 1 to 65535, got 0",
        "tcp_ports[2]: expected a port from 1 to 65535, got '80'",
        "udp_ports: expected a list of ports, got '111'",
        "rate: expected a number from 0 to 1000000 (attempts per second, 0 for no limit), got -5",
        "budget: expected a number from 0.1 to 86400 (seconds for the whole host), got 'soon'",
    ]


def test_a_long_list_of_bad_ports_is_cut(nothing_sent):
    with pytest.raises(ProbeError) as caught:
        probe_host("127.0.0.1", [0] * 1000, [], {})
    assert len(caught.value.errors) == scan.MAX_ERRORS


@pytest.fixture
def loopback():
    """An open TCP port, a refused one, a silent UDP socket and a closed UDP port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    bound = socket.socket()
    bound.bind(("127.0.0.1", 0))
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    yield listener.getsockname()[1], bound.getsockname()[1], silent.getsockname()[1], closed
    for s in (listener, bound, silent):
        s.close()


@pytest.mark.kernel
def test_probe_host_on_loopback(loopback):
    open_port, refused, silent, closed = loopback
    settings = {"timeout": 0.2, "tries": 1}
    got = probe_host("127.0.0.1", [refused, open_port], [silent, closed], settings)
    assert got["address"] == "127.0.0.1"
    assert got["tcp"] == dict(
        sorted([(str(open_port), "open"), (str(refused), "refused")], key=lambda kv: int(kv[0]))
    )
    assert list(got["tcp"]) == sorted(got["tcp"], key=int)
    assert got["udp"][str(silent)]["state"] == "open|filtered"
    assert got["udp"][str(closed)]["state"] == "closed"
    assert got["counts"] == {
        "tcp": {"open": 1, "refused": 1, "filtered": 0, "not probed": 0},
        "udp": {"open": 0, "closed": 1, "open|filtered": 1, "filtered": 0, "not probed": 0},
    }
    assert got["sent"] == {"tcp": 2, "udp": 2}
    assert got["settings"] == dict(DEFAULTS, **settings)
    assert got["notes"] == [] and got["errors"] == []
    assert 0 < got["elapsed"] < 5


@pytest.mark.kernel
def test_probe_host_ipv6_loopback():
    try:
        listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        listener.bind(("::1", 0))
    except OSError:
        pytest.skip("no ::1 here")
    listener.listen(4)
    try:
        port = listener.getsockname()[1]
        got = probe_host("::1", [port], [], {})
        assert got["address"] == "::1"
        assert got["tcp"] == {str(port): "open"}
        assert got["udp"] == {}
        assert got["sent"] == {"tcp": 1, "udp": 0}
    finally:
        listener.close()


@pytest.mark.kernel
def test_a_lowered_concurrency_is_noted(monkeypatch, loopback):
    monkeypatch.setattr(scan, "socket_room", lambda wanted: (3, "concurrency lowered to 3"))
    got = probe_host("127.0.0.1", [loopback[0]], [loopback[2]], {"timeout": 0.1, "tries": 1})
    assert got["notes"] == ["concurrency lowered to 3"]
    assert got["tcp"] == {str(loopback[0]): "open"}


@pytest.mark.kernel
def test_nothing_to_probe():
    got = probe_host("127.0.0.1", [], [], None)
    assert (got["tcp"], got["udp"], got["sent"]) == ({}, {}, {"tcp": 0, "udp": 0})
