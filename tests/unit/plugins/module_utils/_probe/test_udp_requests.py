# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The UDP probe's requests: byte for byte what real clients send (probe_captures.CLIENTS),
decoded back field by field where no client was captured, and the BER they are built from."""

import struct

import probe_captures
import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._probe import udp


@pytest.mark.parametrize(
    "client,build,id_at",
    [
        # dig's query id is at 0; the rest (flags 0, one question, version.bind CH TXT) is ours.
        ("dig", udp.dns_request, slice(0, 2)),
        # nmblookup -A: NODE STATUS of '*', the same 50 bytes.
        ("nmblookup", udp.netbios_request, slice(0, 2)),
        # snmpget: v2c, community public, GetRequest of sysDescr.0; its request-id is a
        # four-byte INTEGER at bytes 17-20.
        ("snmpget", udp.snmp_request, slice(17, 21)),
    ],
)
def test_requests_are_what_real_clients_send(client, build, id_at):
    captured = probe_captures.client(client)
    ident = int.from_bytes(captured[id_at], "big")
    assert build(ident) == captured


def test_ntp_request_is_a_client_packet_like_chronyd():
    """chronyd's request: 48 bytes, LI 0, version 4, mode 3, its transmit timestamp a random
    value at 40; it also fills in poll and precision, which servers ignore."""
    chrony = probe_captures.client("chronyd")
    stamp = struct.unpack_from(">Q", chrony, 40)[0]
    ours = udp.ntp_request(stamp)
    assert len(ours) == len(chrony) == 48
    assert ours[0] == chrony[0] == 0x23
    assert ours[40:] == chrony[40:]
    assert ours[1:40] == b"\x00" * 39


def test_rpcbind_request_is_a_null_call_with_rpcinfos_header():
    """RFC 5531 call: xid, CALL, RPC version 2, program, version, procedure, AUTH_NULL
    credentials and verifier. rpcinfo's captured call (to rpcbind v4) has the same header."""
    ours = udp.rpcbind_request(0x6B07A273)
    words = struct.unpack(">10I", ours)
    assert words == (0x6B07A273, 0, 2, 100000, 2, 0, 0, 0, 0, 0)
    rpcinfo = struct.unpack_from(">10I", probe_captures.client("rpcinfo"))
    # xid, CALL, RPC version 2, program 100000 alike; rpcinfo asks version 4 GETADDR (3).
    assert rpcinfo[:4] == words[:4]
    assert rpcinfo[4:6] == (4, 3)
    assert rpcinfo[6:10] == words[6:10]  # AUTH_NULL credentials and verifier


def test_memcached_request_frame():
    ours = udp.memcached_request(0xBEEF)
    assert struct.unpack_from(">4H", ours) == (0xBEEF, 0, 1, 0)
    assert ours[8:] == b"stats\r\n"


def decode_question(data):
    labels, at = [], 12
    while data[at]:
        labels.append(data[at + 1 : at + 1 + data[at]].decode())
        at += 1 + data[at]
    return ".".join(labels), struct.unpack_from(">2H", data, at + 1), at + 5


def test_mdns_request_asks_for_the_service_list_unicast():
    ours = udp.mdns_request(0x1234)
    assert struct.unpack_from(">6H", ours) == (0x1234, 0, 1, 0, 0, 0)
    name, (qtype, qclass), end = decode_question(ours)
    assert name == "_services._dns-sd._udp.local"
    assert qtype == 12  # PTR
    assert qclass == 0x8001  # IN with the QU (unicast response) bit
    assert end == len(ours)


def test_dns_request_decodes_back():
    ours = udp.dns_request(0x0102)
    assert struct.unpack_from(">6H", ours) == (0x0102, 0, 1, 0, 0, 0)
    assert decode_question(ours)[:2] == ("version.bind", (16, 3))  # TXT, CHAOS


@pytest.mark.parametrize(
    "value,encoded",
    [
        (0, "020100"),
        (1, "020101"),
        (127, "02017f"),
        (128, "02020080"),  # a leading zero keeps it positive
        (255, "020200ff"),
        (256, "02020100"),
        (-1, "0201ff"),
        (0x46759776, "020446759776"),
        (2**31 - 1, "02047fffffff"),
        (2**31, "02050080000000"),
    ],
)
def test_ber_int_is_shortest_twos_complement(value, encoded):
    assert udp.ber_int(value).hex() == encoded


@pytest.mark.parametrize(
    "length,header",
    [(0, "0400"), (127, "047f"), (128, "048180"), (255, "0481ff"), (256, "04820100")],
)
def test_ber_lengths_short_and_long_form(length, header):
    out = udp.ber(0x04, b"x" * length)
    assert out[: len(header) // 2].hex() == header
    assert len(out) == len(header) // 2 + length
    assert udp.ber_read(out, 0, len(out)) == (0x04, len(header) // 2, len(out))


@pytest.mark.parametrize(
    "arcs,encoded",
    [
        ((1, 3, 6, 1, 2, 1, 1, 1, 0), "06082b06010201010100"),
        ((1, 3, 6, 1, 4, 1, 8072), "06072b06010401bf08"),  # arcs above 127 in base 128
        ((2, 999, 3), "0603883703"),  # X.690 8.19.5's example
    ],
)
def test_ber_oid(arcs, encoded):
    assert udp.ber_oid(arcs).hex() == encoded


def test_snmp_request_decodes_back():
    ours = udp.snmp_request(12345)
    top = udp.ber_read(ours, 0, len(ours))
    assert top == (0x30, 2, len(ours))
    version, community, pdu = udp._ber_children(ours, top[1], top[2])
    assert udp._ber_integer(ours, version) == 1  # v2c
    assert ours[community[1] : community[2]] == b"public"
    assert pdu[0] == 0xA0
    request_id, status, index, varbinds = udp._ber_children(ours, pdu[1], pdu[2])
    assert [udp._ber_integer(ours, t) for t in (request_id, status, index)] == [12345, 0, 0]
    (varbind,) = udp._ber_children(ours, varbinds[1], varbinds[2])
    oid, value = udp._ber_children(ours, varbind[1], varbind[2])
    assert ours[oid[1] - 2 : oid[2]] == udp.ber_oid(udp.SYS_DESCR)
    assert value == (0x05, value[1], value[1])  # NULL


@pytest.mark.parametrize("port,probe", sorted(udp.PROBES.items()))
def test_every_probe_has_a_fresh_random_id_of_its_size(port, probe):
    ids = {udp.random_id(probe.id_bits) for _i in range(20)}
    assert len(ids) > 1
    assert all(0 <= i < 2**probe.id_bits for i in ids)
    request = probe.request(max(ids))
    assert 0 < len(request) <= 512  # one small datagram, never fragmented


def test_the_table_names_each_service_once():
    services = [p.service for p in udp.PROBES.values()]
    assert sorted(udp.PROBES) == [53, 111, 123, 137, 161, 5353, 11211]
    assert len(set(services)) == len(services)


@pytest.mark.parametrize(
    "raw,shown",
    [
        (b"Linux vm 6.1", "Linux vm 6.1"),
        (b"a\x1b[31mred\x1b[0m", "a?[31mred?[0m"),  # terminal escapes lose their ESC
        (b"tab\there\r\nnext", "tab here next"),
        (b"\xff\xfe caf\xc3\xa9", "?? caf??"),
        (b"x" * 500, "x" * 117 + "..."),
        ("text too", "text too"),
    ],
)
def test_plain_keeps_printable_ascii_only(raw, shown):
    assert udp.plain(raw) == shown
    assert len(udp.plain(raw)) <= udp.DETAIL_MAX
