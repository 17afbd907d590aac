# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsing systemctl output about .socket units and matching them to kernel sockets."""

import os

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._systemd_sockets import (
    SystemdQueryError,
    activated_by,
    listen_matches,
    parse_list_units,
    parse_listen,
    parse_show,
    query_socket_units,
    summarize_units,
    triggered_service,
    units_by_port,
)

SYSTEMD = os.path.join(os.path.dirname(__file__), "fixtures", "systemd")


def _read(name):
    with open(os.path.join(SYSTEMD, name)) as f:
        return f.read()


def _listen(type_, address, protocol=None, family=None, ip=None, port=None, interface=None):
    return {
        "type": type_,
        "address": address,
        "protocol": protocol,
        "family": family,
        "ip": ip,
        "port": port,
        "interface": interface,
    }


def test_parse_list_units_fixture():
    assert parse_list_units(_read("rpcbind_list_units.txt")) == [
        "cockpit.socket",
        "dbus.socket",
        "rpcbind.socket",
        "systemd-journald.socket",
        "systemd-networkd.socket",
        "web-proxy.socket",
        "syslog.socket",  # listed with a status bullet
    ]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("", []),
        ("sshd.service loaded active running OpenSSH\n", []),
        (
            "* a.socket loaded failed failed A\nb.socket loaded active listening B\n",
            ["a.socket", "b.socket"],
        ),
        ("junk a.socket\n", []),  # the name must come first
    ],
)
def test_parse_list_units(text, expected):
    assert parse_list_units(text) == expected


@pytest.mark.parametrize(
    "value,expected",
    [
        ("[::]:111 (Stream)", _listen("Stream", "[::]:111", "tcp", "ipv6", "::", 111)),
        ("[::]:111 (Datagram)", _listen("Datagram", "[::]:111", "udp", "ipv6", "::", 111)),
        ("0.0.0.0:111 (Stream)", _listen("Stream", "0.0.0.0:111", "tcp", "ipv4", "0.0.0.0", 111)),
        (
            "127.0.0.53:53 (Datagram)",
            _listen("Datagram", "127.0.0.53:53", "udp", "ipv4", "127.0.0.53", 53),
        ),
        ("111 (Stream)", _listen("Stream", "111", "tcp", None, None, 111)),
        (
            "[fe80::1]:80%eth0 (Stream)",
            _listen("Stream", "[fe80::1]:80%eth0", "tcp", "ipv6", "fe80::1", 80, "eth0"),
        ),
        (
            "[fe80::1%2]:80 (Stream)",
            _listen("Stream", "[fe80::1%2]:80", "tcp", "ipv6", "fe80::1", 80, "2"),
        ),
        (
            "[::ffff:7f00:1]:8080 (Stream)",
            _listen("Stream", "[::ffff:7f00:1]:8080", "tcp", "ipv6", "::ffff:127.0.0.1", 8080),
        ),
        ("[0:0::1]:22 (Stream)", _listen("Stream", "[0:0::1]:22", "tcp", "ipv6", "::1", 22)),
        ("/run/rpcbind.sock (Stream)", _listen("Stream", "/run/rpcbind.sock")),
        ("/run/with space.sock (Stream)", _listen("Stream", "/run/with space.sock")),
        ("@/org/example/abstract (Stream)", _listen("Stream", "@/org/example/abstract")),
        ("route 1361 (Netlink)", _listen("Netlink", "route 1361")),
        ("vsock::1234 (Stream)", _listen("Stream", "vsock::1234")),
        ("[::]:5000 (SequentialPacket)", _listen("SequentialPacket", "[::]:5000")),
        ("/dev/kmsg (Special)", _listen("Special", "/dev/kmsg")),
        ("999.1.1.1:80 (Stream)", _listen("Stream", "999.1.1.1:80")),
        ("no type at all", _listen(None, "no type at all")),
    ],
)
def test_parse_listen(value, expected):
    assert parse_listen(value) == expected


def test_parse_show_fixture():
    units = parse_show(_read("rpcbind_show.txt"))
    assert [u["unit"] for u in units] == [
        "cockpit.socket",
        "dbus.socket",
        "rpcbind.socket",
        "systemd-journald.socket",
        "systemd-networkd.socket",
        "web-proxy.socket",
        "syslog.socket",
    ]
    assert units[2] == {
        "unit": "rpcbind.socket",
        "listen": [
            _listen("Stream", "/run/rpcbind.sock"),
            _listen("Stream", "0.0.0.0:111", "tcp", "ipv4", "0.0.0.0", 111),
            _listen("Datagram", "0.0.0.0:111", "udp", "ipv4", "0.0.0.0", 111),
            _listen("Stream", "[::]:111", "tcp", "ipv6", "::", 111),
            _listen("Datagram", "[::]:111", "udp", "ipv6", "::", 111),
        ],
        "triggers": ["rpcbind.service"],
        "active_state": "active",
        "unit_file_state": "enabled",
    }
    assert units[6] == {
        "unit": "syslog.socket",
        "listen": [],
        "triggers": [],
        "active_state": "inactive",
        "unit_file_state": None,
    }


def test_parse_show_tolerates_blank_lines_and_odd_lines():
    text = (
        "\n\nId=a.socket\nnot a property\nTriggers=a.service b.service\n"
        "\n\n\nListen=1 (Stream)\nId=b.socket\n\n"
    )
    assert parse_show(text) == [
        {
            "unit": "a.socket",
            "listen": [],
            "triggers": ["a.service", "b.service"],
            "active_state": None,
            "unit_file_state": None,
        },
        {
            "unit": "b.socket",
            "listen": [_listen("Stream", "1", "tcp", None, None, 1)],
            "triggers": [],
            "active_state": None,
            "unit_file_state": None,
        },
    ]


def _sock(protocol, family, address, port, interface=None, interface_index=None):
    return {
        "protocol": protocol,
        "family": family,
        "address": address,
        "port": port,
        "interface": interface,
        "interface_index": interface_index,
    }


@pytest.mark.parametrize(
    "listen,sock,expected",
    [
        ("[::]:111 (Stream)", _sock("tcp", "ipv6", "::", 111), True),
        ("[::]:111 (Stream)", _sock("udp", "ipv6", "::", 111), False),
        ("[::]:111 (Stream)", _sock("tcp", "ipv4", "0.0.0.0", 111), False),
        ("[::]:111 (Stream)", _sock("tcp", "ipv6", "::", 112), False),
        ("0.0.0.0:111 (Datagram)", _sock("udp", "ipv4", "0.0.0.0", 111), True),
        ("0.0.0.0:111 (Datagram)", _sock("udp", "ipv4", "127.0.0.1", 111), False),
        ("111 (Stream)", _sock("tcp", "ipv6", "::", 111), True),
        ("111 (Stream)", _sock("tcp", "ipv4", "0.0.0.0", 111), True),
        ("111 (Stream)", _sock("tcp", "ipv4", "127.0.0.1", 111), False),
        ("127.0.0.53:53 (Datagram)", _sock("udp", "ipv4", "127.0.0.53", 53), True),
        ("[::ffff:7f00:1]:8080 (Stream)", _sock("tcp", "ipv6", "::ffff:127.0.0.1", 8080), True),
        ("[fe80::1]:80%eth0 (Stream)", _sock("tcp", "ipv6", "fe80::1", 80, "eth0", 2), True),
        ("[fe80::1]:80%eth0 (Stream)", _sock("tcp", "ipv6", "fe80::1", 80, "eth1", 3), False),
        ("[fe80::1%2]:80 (Stream)", _sock("tcp", "ipv6", "fe80::1", 80, "eth0", 2), True),
        (
            "[fe80::1]:80%eth0 (Stream)",
            _sock("tcp", "ipv6", "fe80::1", 80),
            True,
        ),  # /proc: unknown interface
        ("/run/rpcbind.sock (Stream)", _sock("tcp", "ipv4", "0.0.0.0", 111), False),
        ("[::]:5000 (SequentialPacket)", _sock("tcp", "ipv6", "::", 5000), False),
    ],
)
def test_listen_matches(listen, sock, expected):
    assert listen_matches(parse_listen(listen), sock) is expected


UNITS = parse_show(_read("rpcbind_show.txt"))


@pytest.mark.parametrize(
    "sock,unit_name,expected",
    [
        pytest.param(
            _sock("tcp", "ipv4", "0.0.0.0", 111), None, ["rpcbind.socket"], id="rpcbind-tcp4"
        ),
        pytest.param(
            _sock("udp", "ipv6", "::", 111),
            "rpcbind.service",
            ["rpcbind.socket"],
            id="rpcbind-udp6",
        ),
        pytest.param(
            _sock("udp", "ipv4", "0.0.0.0", 784), "rpcbind.service", [], id="rpcbind-own-port"
        ),
        pytest.param(_sock("tcp", "ipv6", "::", 9090), None, ["cockpit.socket"], id="cockpit"),
        pytest.param(
            _sock("tcp", "ipv4", "127.0.0.1", 9090),
            "cockpit.service",
            ["cockpit.socket"],
            id="triggers-and-same-port",
        ),
        pytest.param(
            _sock("udp", "ipv4", "127.0.0.1", 9090),
            "cockpit.service",
            [],
            id="triggers-but-other-protocol",
        ),
        pytest.param(
            _sock("tcp", "ipv4", "127.0.0.1", 9090),
            "nginx.service",
            [],
            id="same-port-not-triggering",
        ),
        pytest.param(
            _sock("tcp", "ipv4", "0.0.0.0", 80), "nginx.service", [], id="inactive-unit-ignored"
        ),
        pytest.param(
            _sock("tcp", "ipv4", "0.0.0.0", 80),
            "web-proxy.service",
            [],
            id="inactive-even-if-triggering",
        ),
    ],
)
def test_activated_by(sock, unit_name, expected):
    assert activated_by(sock, UNITS, unit_name) == expected
    # Only the units listening on the socket's protocol and port can match: the index agrees.
    candidates = units_by_port(UNITS).get((sock["protocol"], sock["port"]), [])
    assert activated_by(sock, candidates, unit_name) == expected


def test_units_by_port():
    index = units_by_port(UNITS)
    names = dict((key, [u["unit"] for u in units]) for key, units in index.items())
    # rpcbind.socket once per protocol, though it listens on 111 for IPv4 and IPv6;
    # Unix sockets and netlink entries have no port and are not indexed.
    assert names == {
        ("tcp", 80): ["web-proxy.socket"],
        ("tcp", 111): ["rpcbind.socket"],
        ("udp", 111): ["rpcbind.socket"],
        ("tcp", 9090): ["cockpit.socket"],
    }
    assert units_by_port([]) == {}


def test_activated_by_sorted_and_unknown_state_counts_as_active():
    units = parse_show(
        "Listen=22 (Stream)\nId=z.socket\n\n"
        "Listen=[::]:22 (Stream)\nId=a.socket\nActiveState=active\n"
    )
    assert activated_by(_sock("tcp", "ipv6", "::", 22), units) == ["a.socket", "z.socket"]
    assert activated_by(_sock("tcp", "ipv6", "::", 22), []) == []


@pytest.mark.parametrize(
    "names,expected",
    [
        (["rpcbind.socket"], "rpcbind.service"),
        (["cockpit.socket", "rpcbind.socket"], "cockpit.service"),
        (["syslog.socket"], None),
        ([], None),
        (["unknown.socket"], None),
    ],
)
def test_triggered_service(names, expected):
    assert triggered_service(names, UNITS) == expected


def test_triggered_service_prefers_services():
    units = parse_show(
        "Id=a.socket\nTriggers=a.target a.service\n\nId=b.socket\nTriggers=b.target\n"
    )
    assert triggered_service(["a.socket"], units) == "a.service"
    assert triggered_service(["b.socket"], units) == "b.target"


class FakeSystemctl:
    def __init__(self, replies):
        self.replies = list(replies)
        self.calls = []

    def __call__(self, args):
        self.calls.append(list(args))
        return self.replies.pop(0)


def test_query_socket_units_two_calls():
    run = FakeSystemctl(
        [(0, _read("rpcbind_list_units.txt"), ""), (0, _read("rpcbind_show.txt"), "")]
    )
    units = query_socket_units(run)
    assert units == UNITS
    assert run.calls == [
        ["list-units", "--type=socket", "--all", "--plain", "--no-legend", "--no-pager"],
        [
            "show",
            "--no-pager",
            "-p",
            "Id",
            "-p",
            "Listen",
            "-p",
            "Triggers",
            "-p",
            "ActiveState",
            "-p",
            "UnitFileState",
            "--",
            "cockpit.socket",
            "dbus.socket",
            "rpcbind.socket",
            "systemd-journald.socket",
            "systemd-networkd.socket",
            "web-proxy.socket",
            "syslog.socket",
        ],
    ]


def test_query_socket_units_none_loaded_is_one_call():
    run = FakeSystemctl([(0, "", "")])
    assert query_socket_units(run) == []
    assert len(run.calls) == 1


@pytest.mark.parametrize(
    "replies,message",
    [
        (
            [(1, "", "Failed to connect to bus: No such file or directory\n")],
            "systemctl list-units failed (rc=1): "
            "Failed to connect to bus: No such file or directory",
        ),
        (
            [(0, "a.socket loaded active listening A\n", ""), (4, "", "Access denied\n")],
            "systemctl show failed (rc=4): Access denied",
        ),
    ],
)
def test_query_socket_units_errors(replies, message):
    with pytest.raises(SystemdQueryError) as err:
        query_socket_units(FakeSystemctl(replies))
    assert str(err.value) == message


def test_summarize_units():
    assert summarize_units(UNITS)[2] == {
        "unit": "rpcbind.socket",
        "active_state": "active",
        "unit_file_state": "enabled",
        "listen": [
            "/run/rpcbind.sock (Stream)",
            "0.0.0.0:111 (Stream)",
            "0.0.0.0:111 (Datagram)",
            "[::]:111 (Stream)",
            "[::]:111 (Datagram)",
        ],
        "triggers": ["rpcbind.service"],
    }


@pytest.mark.parametrize("capture", ["lab_bookworm_show.txt", "lab_trixie_show.txt"])
def test_real_lab_capture_rpcbind_socket(capture):
    # `systemctl show` as captured from the lab's Debian 12 and 13 hosts.
    units = {u["unit"]: u for u in parse_show(_read(capture))}
    rpcbind = units["rpcbind.socket"]
    assert rpcbind["triggers"] == ["rpcbind.service"]
    assert rpcbind["active_state"] == "active"
    assert rpcbind["unit_file_state"] == "enabled"
    inet = [
        (e["protocol"], e["family"], e["ip"], e["port"]) for e in rpcbind["listen"] if e["port"]
    ]
    assert sorted(inet) == [
        ("tcp", "ipv4", "0.0.0.0", 111),
        ("tcp", "ipv6", "::", 111),
        ("udp", "ipv4", "0.0.0.0", 111),
        ("udp", "ipv6", "::", 111),
    ]
    sock = {"protocol": "udp", "family": "ipv6", "address": "::", "port": 111, "interface": None}
    assert activated_by(sock, list(units.values()), "rpcbind.service") == ["rpcbind.socket"]
    # Units listening on paths, FIFOs or netlink never match an inet socket.
    assert activated_by(sock, [units["dbus.socket"], units["systemd-initctl.socket"]]) == []
