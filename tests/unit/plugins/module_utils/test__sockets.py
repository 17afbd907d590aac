# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsers for sock_diag replies and /proc/net tables, against bytes captured from a real kernel."""

import json
import os
import struct

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._sockets import (
    NLMSG_DONE,
    NLMSG_ERROR,
    SOCK_DIAG_BY_FAMILY,
    SockDiagError,
    address_scope,
    build_request,
    canonical_address,
    dump_finished,
    format_address,
    iter_netlink,
    parse_proc_net,
    parse_sock_diag,
)

CAPTURED = os.path.join(os.path.dirname(__file__), "fixtures", "captured")
with open(os.path.join(CAPTURED, "manifest.json")) as _f:
    MANIFEST = json.load(_f)
ORDER = MANIFEST["byteorder"]
TABLES = {
    ("tcp", "ipv4"): "tcp",
    ("tcp", "ipv6"): "tcp6",
    ("udp", "ipv4"): "udp",
    ("udp", "ipv6"): "udp6",
}


def _read(name, mode="rb"):
    with open(os.path.join(CAPTURED, name), mode) as f:
        return f.read()


def _sock(protocol, family, address, port, inode, iface=None, v6only=None, uid=0):
    return {
        "protocol": protocol,
        "family": family,
        "address": address,
        "port": port,
        "interface_index": iface,
        "v6only": v6only,
        "inode": inode,
        "uid": uid,
    }


# What the capture host had listening: the sockets capture.py opened (see
# manifest.json) plus one pre-existing TCP listener on 0.0.0.0:2024.
CAPTURED_SOCK_DIAG = {
    ("tcp", "ipv4"): [
        _sock("tcp", "ipv4", "127.0.0.1", 52265, 56713),
        _sock("tcp", "ipv4", "127.0.0.1", 33773, 56715, iface=1),  # SO_BINDTODEVICE lo
        _sock("tcp", "ipv4", "0.0.0.0", 2024, 1465),
    ],
    ("tcp", "ipv6"): [
        _sock("tcp", "ipv6", "::1", 60821, 56716, v6only=True),
        _sock("tcp", "ipv6", "::ffff:127.0.0.1", 38051, 56718, v6only=False),
        _sock("tcp", "ipv6", "::", 36421, 56717, v6only=False),
    ],
    ("udp", "ipv4"): [_sock("udp", "ipv4", "127.0.0.1", 59390, 56719)],
    ("udp", "ipv6"): [
        _sock("udp", "ipv6", "::", 41960, 56721, v6only=False),
        _sock("udp", "ipv6", "::1", 41993, 56720, v6only=True),
    ],
}


def _without(sockets, *keys):
    return [dict((k, v) for k, v in s.items() if k not in keys) for s in sockets]


@pytest.mark.parametrize("protocol,family", sorted(CAPTURED_SOCK_DIAG))
def test_parse_captured_sock_diag(protocol, family):
    data = _read(f"sockdiag_{protocol}{family[-1]}.bin")
    assert parse_sock_diag(data, protocol, ORDER) == CAPTURED_SOCK_DIAG[(protocol, family)]


@pytest.mark.parametrize("protocol,family", sorted(CAPTURED_SOCK_DIAG))
def test_parse_captured_proc_net(protocol, family):
    text = _read(f"proc_net_{TABLES[(protocol, family)]}.txt", "r")
    expected = [
        dict(s, interface_index=None, v6only=None) for s in CAPTURED_SOCK_DIAG[(protocol, family)]
    ]
    # /proc/net lists the same sockets; only sock_diag knows interface and v6only.
    assert sorted(
        parse_proc_net(text, protocol, family, ORDER), key=lambda s: s["inode"]
    ) == sorted(expected, key=lambda s: s["inode"])


def test_captured_fixtures_match_what_capture_opened():
    """The parsed captures contain every socket capture.py opened, and none it connected."""
    parsed = []
    for protocol, family in CAPTURED_SOCK_DIAG:
        parsed += parse_sock_diag(_read(f"sockdiag_{protocol}{family[-1]}.bin"), protocol, ORDER)
    for opened in MANIFEST["listening"]:
        assert opened in parsed
    excluded = set(e["inode"] for e in MANIFEST["excluded"])
    assert excluded and not excluded & set(s["inode"] for s in parsed)


def test_captured_proc_net_holds_non_listening_rows_that_are_dropped():
    text = _read("proc_net_tcp.txt", "r")
    assert " 01 " in text  # ESTABLISHED rows are present in the capture...
    inodes = [s["inode"] for s in parse_proc_net(text, "tcp", "ipv4", ORDER)]
    assert 56723 not in inodes and 56724 not in inodes  # ...and not reported
    udp = parse_proc_net(_read("proc_net_udp.txt", "r"), "udp", "ipv4", ORDER)
    assert [s["inode"] for s in udp] == [56719]  # the connected UDP socket 56722 is dropped


def test_captured_enoent_error_is_raised():
    # A dump for a protocol without a diag handler: NLMSG_DONE carrying -ENOENT.
    with pytest.raises(SockDiagError) as err:
        parse_sock_diag(_read("sockdiag_error_enoent.bin"), "udp", ORDER)
    assert err.value.errno == 2
    assert "errno 2" in str(err.value)


def _nlmsg(msg_type, payload, flags=2, seq=1):
    return struct.pack("<IHHII", 16 + len(payload), msg_type, flags, seq, 0) + payload


def _diag(family, state, sport, dport, src, ifindex=0, uid=0, inode=1, attrs=b""):
    msg = struct.pack("BBBB", family, state, 0, 0)
    msg += struct.pack("!HH", sport, dport) + src.ljust(16, b"\0") + b"\0" * 16
    msg += struct.pack("<III", ifindex, 0, 0) + struct.pack("<IIIII", 0, 0, 0, uid, inode)
    return _nlmsg(SOCK_DIAG_BY_FAMILY, msg + attrs)


def _attr(rta_type, payload):
    raw = struct.pack("<HH", 4 + len(payload), rta_type) + payload
    return raw + b"\0" * (-len(raw) % 4)


DONE = _nlmsg(NLMSG_DONE, struct.pack("<i", 0))


@pytest.mark.parametrize(
    "data,protocol,expected",
    [
        pytest.param(
            _diag(2, 10, 22, 0, b"\x0a\x00\x00\x05", ifindex=3, uid=1000, inode=77) + DONE,
            "tcp",
            [_sock("tcp", "ipv4", "10.0.0.5", 22, 77, iface=3, uid=1000)],
            id="tcp4-bound-to-device",
        ),
        pytest.param(
            _diag(2, 1, 22, 40000, b"\x0a\x00\x00\x05") + DONE,
            "tcp",
            [],
            id="established-dropped",
        ),
        pytest.param(
            _diag(2, 10, 22, 0, b"\x0a\x00\x00\x05") + DONE,
            "udp",
            [],
            id="listen-state-is-not-udp",
        ),
        pytest.param(
            _diag(2, 7, 0, 0, b"") + DONE,
            "udp",
            [],
            id="udp-port-0-dropped",
        ),
        pytest.param(
            _diag(
                10,
                7,
                53,
                0,
                bytes.fromhex("fe80000000000000505400fffe123456"),
                ifindex=2,
                attrs=_attr(8, b"\0") + _attr(11, b"\x01"),
            )
            + DONE,
            "udp",
            [_sock("udp", "ipv6", "fe80::5054:ff:fe12:3456", 53, 1, iface=2, v6only=True)],
            id="udp6-link-local-v6only-after-other-attr",
        ),
        pytest.param(
            _diag(10, 10, 80, 0, b"") + DONE,
            "tcp",
            [_sock("tcp", "ipv6", "::", 80, 1, v6only=None)],
            id="no-v6only-attribute-old-kernel",
        ),
        pytest.param(
            _diag(2, 10, 22, 0, b"\x7f\0\0\x01") + DONE + _diag(2, 10, 23, 0, b"\x7f\0\0\x01"),
            "tcp",
            [_sock("tcp", "ipv4", "127.0.0.1", 22, 1)],
            id="stops-at-done",
        ),
        pytest.param(
            _nlmsg(NLMSG_ERROR, struct.pack("<i", 0) + b"\0" * 16) + _diag(2, 10, 9, 0, b"") + DONE,
            "tcp",
            [_sock("tcp", "ipv4", "0.0.0.0", 9, 1)],
            id="ack-is-not-an-error",
        ),
    ],
)
def test_parse_sock_diag_synthetic(data, protocol, expected):
    assert parse_sock_diag(data, protocol, "little") == expected


@pytest.mark.parametrize(
    "data,errno",
    [
        pytest.param(_nlmsg(NLMSG_ERROR, struct.pack("<i", -13) + b"\0" * 16), 13, id="eacces"),
        pytest.param(_nlmsg(NLMSG_ERROR, struct.pack("<i", -22) + b"\0" * 16), 22, id="einval"),
        pytest.param(_nlmsg(NLMSG_ERROR, b"\x01"), None, id="short-error"),
        pytest.param(_nlmsg(4, b""), None, id="overrun"),
        pytest.param(_diag(2, 10, 22, 0, b"")[:-4], None, id="truncated-message"),
        pytest.param(_nlmsg(SOCK_DIAG_BY_FAMILY, b"\0" * 10), None, id="short-inet-diag-msg"),
        pytest.param(_diag(2, 10, 22, 0, b"") + b"\x01\x02", None, id="trailing-partial-header"),
    ],
)
def test_parse_sock_diag_errors(data, errno):
    with pytest.raises(SockDiagError) as err:
        parse_sock_diag(data, "tcp", "little")
    assert err.value.errno == errno


def test_parse_sock_diag_big_endian_host():
    """Netlink headers are host-endian, ports and addresses network-endian."""
    msg = (
        struct.pack("BBBB", 2, 10, 0, 0)
        + struct.pack("!HH", 443, 0)
        + b"\xc0\x00\x02\x01"
        + b"\0" * 28
    )
    msg += struct.pack(">III", 4, 0, 0) + struct.pack(">IIIII", 0, 0, 0, 33, 99)
    data = struct.pack(">IHHII", 16 + len(msg), 20, 2, 1, 0) + msg
    data += struct.pack(">IHHIIi", 20, 3, 2, 1, 0, 0)
    assert parse_sock_diag(data, "tcp", "big") == [
        _sock("tcp", "ipv4", "192.0.2.1", 443, 99, iface=4, uid=33)
    ]


def test_parse_sock_diag_rejects_bad_arguments():
    with pytest.raises(ValueError):
        parse_sock_diag(DONE, "sctp", "little")
    with pytest.raises(ValueError):
        parse_sock_diag(DONE, "tcp", "middle")


@pytest.mark.parametrize(
    "family,protocol,states",
    [(2, 6, 1 << 10), (10, 6, 1 << 10), (2, 17, 1 << 7), (10, 17, 1 << 7)],
)
def test_build_request(family, protocol, states):
    data = build_request(family, protocol, seq=9, byteorder="little")
    assert len(data) == 16 + 56
    assert struct.unpack_from("<IHHII", data) == (72, 20, 0x301, 9, 0)
    assert struct.unpack_from("<BBBBI", data, 16) == (family, protocol, 0, 0, states)
    assert data[24:] == b"\0" * 48  # wildcard socket id: every socket


def test_iter_netlink_and_dump_finished():
    data = _diag(2, 10, 22, 0, b"") + DONE
    assert [m[0] for m in iter_netlink(data, "little")] == [SOCK_DIAG_BY_FAMILY, NLMSG_DONE]
    assert dump_finished(data, "little")
    assert not dump_finished(_diag(2, 10, 22, 0, b""), "little")
    assert dump_finished(_read("sockdiag_tcp4.bin"), ORDER)


def _proc_line(local, remote, state, inode, uid=0):
    timers = "00000000:00000000 00:00000000 00000000"
    return f"   0: {local} {remote} {state} {timers} {uid:5d}        0 {inode} 1 0 100 0 0 10 0"


HEADER = (
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout"
)


@pytest.mark.parametrize(
    "lines,protocol,family,byteorder,expected",
    [
        pytest.param(
            [_proc_line("0100007F:0016", "00000000:0000", "0A", 5, uid=7)],
            "tcp",
            "ipv4",
            "little",
            [_sock("tcp", "ipv4", "127.0.0.1", 22, 5, uid=7)],
            id="tcp4-little-endian",
        ),
        pytest.param(
            [_proc_line("7F000001:0016", "00000000:0000", "0A", 5)],
            "tcp",
            "ipv4",
            "big",
            [_sock("tcp", "ipv4", "127.0.0.1", 22, 5)],
            id="tcp4-big-endian-host",
        ),
        pytest.param(
            [_proc_line("B80D01200000000000000000010000000:0050", "0" * 32 + ":0000", "0A", 6)],
            "tcp",
            "ipv6",
            "little",
            [],
            id="bad-address-length-skipped",
        ),
        pytest.param(
            [_proc_line("B80D0120000000000000000001000000:0050", "0" * 32 + ":0000", "0A", 6)],
            "tcp",
            "ipv6",
            "little",
            [_sock("tcp", "ipv6", "2001:db8::1", 80, 6)],
            id="tcp6-words-little-endian",
        ),
        pytest.param(
            [_proc_line("20010DB8000000000000000000000001:0050", "0" * 32 + ":0000", "0A", 6)],
            "tcp",
            "ipv6",
            "big",
            [_sock("tcp", "ipv6", "2001:db8::1", 80, 6)],
            id="tcp6-big-endian-host",
        ),
        pytest.param(
            [_proc_line("0000000000000000FFFF00000100007F:0050", "0" * 32 + ":0000", "0A", 6)],
            "tcp",
            "ipv6",
            "little",
            [_sock("tcp", "ipv6", "::ffff:127.0.0.1", 80, 6)],
            id="ipv4-mapped",
        ),
        pytest.param(
            [
                _proc_line("00000000:0035", "00000000:0000", "07", 8),
                _proc_line("0A01A8C0:A028", "0101A8C0:0035", "01", 9),
                _proc_line("0A01A8C0:A029", "0101A8C0:0035", "07", 10),
            ],
            "udp",
            "ipv4",
            "little",
            [_sock("udp", "ipv4", "0.0.0.0", 53, 8)],
            id="udp-only-unconnected",
        ),
        pytest.param(
            [
                _proc_line("00000000:0016", "00000000:0000", "06", 0),
                _proc_line("00000000:0016", "00000000:0000", "0A", 0),
            ],
            "tcp",
            "ipv4",
            "little",
            [_sock("tcp", "ipv4", "0.0.0.0", 22, 0)],
            id="time-wait-dropped-kernel-inode-kept",
        ),
        pytest.param(
            ["garbage", "   1: zz:zz 00000000:0000 0A 0 0 0 0 0 1", ""],
            "tcp",
            "ipv4",
            "little",
            [],
            id="malformed-lines-skipped",
        ),
    ],
)
def test_parse_proc_net(lines, protocol, family, byteorder, expected):
    text = "\n".join([HEADER] + lines) + "\n"
    assert parse_proc_net(text, protocol, family, byteorder) == expected


def test_parse_proc_net_rejects_bad_arguments():
    with pytest.raises(ValueError):
        parse_proc_net("", "icmp", "ipv4")
    with pytest.raises(ValueError):
        parse_proc_net("", "tcp", "ipx")


@pytest.mark.parametrize(
    "text,expected",
    [
        ("0.0.0.0", "0.0.0.0"),
        ("127.0.0.53", "127.0.0.53"),
        ("::", "::"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("::ffff:7f00:1", "::ffff:127.0.0.1"),
        ("::FFFF:10.1.2.3", "::ffff:10.1.2.3"),
        ("fe80:0::1", "fe80::1"),
    ],
)
def test_canonical_address(text, expected):
    assert canonical_address(text) == expected


def test_format_address_packed():
    assert format_address(b"\x7f\0\0\x01") == "127.0.0.1"
    assert format_address(b"\0" * 10 + b"\xff\xff\xc0\xa8\x01\x01") == "::ffff:192.168.1.1"


@pytest.mark.parametrize(
    "address,scope",
    [
        ("0.0.0.0", "any"),
        ("::", "any"),
        ("::ffff:0.0.0.0", "any"),
        ("127.0.0.1", "loopback"),
        ("127.0.0.53", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("169.254.1.2", "link_local"),
        ("fe80::1", "link_local"),
        ("::ffff:169.254.9.9", "link_local"),
        ("10.0.0.5", "private"),
        ("172.16.3.4", "private"),
        ("192.168.1.10", "private"),
        ("100.64.0.1", "private"),  # CGNAT: not globally routable
        ("fd12:3456::1", "private"),
        ("::ffff:192.168.1.10", "private"),
        ("8.8.8.8", "public"),
        ("2606:4700::6810:84e5", "public"),
        ("::ffff:8.8.8.8", "public"),
        ("224.0.0.251", "link_local"),
        ("239.255.255.250", "private"),
        ("233.252.0.1", "public"),
        ("ff02::fb", "link_local"),
        ("ff05::2", "private"),
        ("ff0e::1", "public"),
        ("ff01::1", "loopback"),
    ],
)
def test_address_scope(address, scope):
    assert address_scope(address) == scope
