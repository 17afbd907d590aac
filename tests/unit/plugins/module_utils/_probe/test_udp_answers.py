# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The recognisers of UDP answers: on what real servers answered (probe_captures.SERVERS), and
on garbage, truncated and hostile bytes, which must never raise and never pass for an answer."""

import random
import struct

import probe_captures
import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._probe import udp

BY_SERVICE = dict((p.service, p) for p in udp.PROBES.values())
SERVICES = sorted(probe_captures.SERVERS)


@pytest.mark.parametrize(
    "service,detail",
    [
        ("dns", "version.bind dnsmasq-2.90"),
        ("rpcbind", "portmapper version 2 answered the NULL call"),
        ("ntp", "NTPv4 stratum 10"),
        ("netbios-ns", "5 names, first PGPROBELAB"),
        ("snmp", "sysDescr Linux vm 6.18.44-fc-v669 #1 SMP PREEMPT_DYNAMIC @0 x86_64"),
        ("mdns", "1 answer records"),
        ("memcached", "version 1.6.18"),
    ],
)
def test_real_answers_are_recognised(service, detail):
    ident, request, answer = probe_captures.server(service)
    probe = BY_SERVICE[service]
    assert probe.request(ident) == request  # the capture is of this very request
    assert probe.recognise(answer, ident) == detail


def test_the_table_covers_every_capture():
    assert sorted(BY_SERVICE) == SERVICES


def other_id(probe, ident):
    return (ident + 1) % (2**probe.id_bits)


@pytest.mark.parametrize("service", SERVICES)
def test_an_answer_to_another_id_is_not_ours(service):
    ident, _request, answer = probe_captures.server(service)
    probe = BY_SERVICE[service]
    # avahi echoed the id (a legacy unicast answer), so it is not 0, the id of any mDNS answer.
    assert probe.recognise(answer, other_id(probe, ident)) is None


@pytest.mark.parametrize("service", SERVICES)
def test_every_truncation_is_handled(service):
    """Each prefix of a real answer: no exception, and none shorter than the fields the
    recogniser needs is taken for an answer."""
    ident, _request, answer = probe_captures.server(service)
    probe = BY_SERVICE[service]
    needed = {
        "dns": 12,
        "rpcbind": 24,
        "ntp": 48,
        "netbios-ns": 12 + 34 + 11,
        "snmp": len(answer),  # the outer SEQUENCE's length covers the whole message
        "mdns": 12,
        "memcached": 13,
    }[service]
    for size in range(len(answer)):
        got = probe.recognise(answer[:size], ident)
        if size < needed:
            assert got is None, size
        assert got is None or isinstance(got, str)


@pytest.mark.parametrize("service", SERVICES)
def test_garbage_is_never_an_answer(service):
    """Random bytes, zeros, 0xff and the request itself (a reflector) are not answers."""
    ident, request, _answer = probe_captures.server(service)
    probe = BY_SERVICE[service]
    rng = random.Random(service)  # noqa: S311 - the same bytes on every run
    blobs = [b"", b"\x00", b"\x00" * 64, b"\xff" * 64, request]
    blobs += [bytes(rng.getrandbits(8) for _j in range(rng.randrange(1, 600))) for _i in range(300)]
    for blob in blobs:
        assert probe.recognise(blob, ident) is None, blob.hex()


@pytest.mark.parametrize("service", SERVICES)
def test_flipped_bytes_never_raise(service):
    """Every single byte of a real answer set to 0x00, 0x7f, 0x80 and 0xff in turn."""
    ident, _request, answer = probe_captures.server(service)
    probe = BY_SERVICE[service]
    for at in range(len(answer)):
        for value in (0x00, 0x7F, 0x80, 0xFF):
            mutated = answer[:at] + bytes([value]) + answer[at + 1 :]
            got = probe.recognise(mutated, ident)
            assert got is None or (isinstance(got, str) and len(got) <= udp.DETAIL_MAX)


def dns_answer_with_text(ident, text, rdlength=None, rcode=0):
    question = udp.dns_name("version.bind") + struct.pack(">2H", 16, 3)
    rdata = struct.pack(">B", min(len(text), 255)) + text
    length = len(rdata) if rdlength is None else rdlength
    record = b"\xc0\x0c" + struct.pack(">HHIH", 16, 3, 0, length) + rdata
    header = struct.pack(">6H", ident, 0x8480 | rcode, 1, 1, 0, 0)
    return header + question + record


def snmp_answer_with(request_id, sys_descr, status=0, pdu=udp.GET_RESPONSE, version=1):
    value = udp.ber(udp.BER_OCTETS, sys_descr)
    varbind = udp.ber(udp.BER_SEQ, udp.ber_oid(udp.SYS_DESCR) + value)
    body = udp.ber_int(request_id) + udp.ber_int(status) + udp.ber_int(0)
    return udp.ber(
        udp.BER_SEQ,
        udp.ber_int(version)
        + udp.ber(udp.BER_OCTETS, b"public")
        + udp.ber(pdu, body + udp.ber(udp.BER_SEQ, varbind)),
    )


@pytest.mark.parametrize(
    "service,ident,data,detail",
    [
        # DNS: an rcode is an answer too; a text that claims more than there is, is cut short.
        (
            "dns",
            7,
            dns_answer_with_text(7, b"9.18.28-1~deb12u2-Debian"),
            "version.bind 9.18.28-1~deb12u2-Debian",
        ),
        ("dns", 7, dns_answer_with_text(7, b"", rcode=5), "rcode REFUSED"),
        ("dns", 7, dns_answer_with_text(7, b"x", rcode=3), "rcode NXDOMAIN"),
        ("dns", 7, dns_answer_with_text(7, b"\x1b]0;owned\x07bell"), "version.bind ?]0;owned?bell"),
        ("dns", 7, dns_answer_with_text(7, b"x" * 300), "version.bind " + "x" * 77 + "..."),
        ("dns", 7, dns_answer_with_text(7, b"abc", rdlength=900), "rcode NOERROR"),
        # A query (QR clear) is not an answer, nor is another opcode.
        ("dns", 7, udp.dns_request(7), None),
        ("dns", 7, struct.pack(">6H", 7, 0x8000 | 0x2800, 0, 0, 0, 0), None),
        # A name whose compression pointers loop, or labels past the end.
        ("dns", 7, struct.pack(">6H", 7, 0x8400, 1, 1, 0, 0) + b"\xc0\x0c" * 4, "rcode NOERROR"),
        (
            "dns",
            7,
            struct.pack(">6H", 7, 0x8400, 1, 1, 0, 0) + b"\x3f" + b"a" * 10,
            "rcode NOERROR",
        ),
        # mDNS: id 0 is any responder's answer; a query is not.
        ("mdns", 9, struct.pack(">6H", 0, 0x8400, 0, 3, 0, 0), "3 answer records"),
        ("mdns", 9, struct.pack(">6H", 9, 0x0000, 1, 0, 0, 0), None),
        # rpcbind: denied, or accepted with another status, is not a SUCCESS reply.
        ("rpcbind", 5, struct.pack(">6I", 5, 1, 1, 0, 0, 0), None),  # MSG_DENIED
        ("rpcbind", 5, struct.pack(">6I", 5, 1, 0, 0, 0, 1), None),  # PROG_UNAVAIL
        ("rpcbind", 5, struct.pack(">6I", 5, 0, 0, 0, 0, 0), None),  # a CALL
        ("rpcbind", 5, struct.pack(">5I", 5, 1, 0, 0, 0xFFFFFFFF) + b"\x00" * 8, None),
        (
            "rpcbind",
            5,
            struct.pack(">5I", 5, 1, 0, 1, 8) + b"v" * 8 + b"\x00" * 4,
            "portmapper version 2 answered the NULL call",
        ),
        # memcached: our id, then stats; a version line that is hostile stays plain text.
        ("memcached", 3, struct.pack(">4H", 3, 0, 1, 0) + b"STAT pid 1\r\n", "stats answered"),
        ("memcached", 3, struct.pack(">4H", 3, 0, 1, 0) + b"ERROR\r\n", None),
        (
            "memcached",
            3,
            struct.pack(">4H", 3, 0, 1, 0) + b"STAT version \x1b[2J" + b"9" * 200,
            "version ?[2J" + "9" * 53 + "...",
        ),
        # NTP: a client packet (mode 3) or a reply to someone else's timestamp is not ours.
        (
            "ntp",
            42,
            b"\x24\x02" + b"\x00" * 22 + struct.pack(">Q", 42) + b"\x00" * 16,
            "NTPv4 stratum 2",
        ),
        ("ntp", 42, b"\x23\x02" + b"\x00" * 22 + struct.pack(">Q", 42) + b"\x00" * 16, None),
        ("ntp", 42, b"\x24\x02" + b"\x00" * 22 + struct.pack(">Q", 43) + b"\x00" * 16, None),
        ("ntp", 42, b"\x3c\x02" + b"\x00" * 22 + struct.pack(">Q", 42) + b"\x00" * 16, None),
        (
            "ntp",
            42,
            b"\x24\x00"
            + b"\x00" * 10
            + b"RATE"
            + b"\x00" * 8
            + struct.pack(">Q", 42)
            + b"\x00" * 16,
            "kiss code RATE",
        ),
        # NetBIOS: a request echoed back, or an answer of another type.
        ("netbios-ns", 4, udp.netbios_request(4), None),
        (
            "netbios-ns",
            4,
            struct.pack(">6H", 4, 0x8400, 0, 1, 0, 0)
            + udp.NB_WILDCARD
            + struct.pack(">HHIHB", 0x20, 1, 0, 1, 0),
            None,
        ),
        (
            "netbios-ns",
            4,
            struct.pack(">6H", 4, 0x8400, 0, 1, 0, 0)
            + udp.NB_WILDCARD
            + struct.pack(">HHIHB", 0x21, 1, 0, 19, 200)
            + b"EVIL\x1b[0m       " * 2,
            "200 names, first EVIL?[0m",
        ),
        # SNMP: the sysDescr is cut to the detail's size and kept printable; errors and other PDUs.
        ("snmp", 77, snmp_answer_with(77, b"x" * 5000), "sysDescr " + "x" * 107 + "..."),
        ("snmp", 77, snmp_answer_with(77, b"ok", status=2), "error-status 2"),
        ("snmp", 77, snmp_answer_with(77, b"ok", pdu=udp.GET_REQUEST), None),
        ("snmp", 77, snmp_answer_with(78, b"ok"), None),
        ("snmp", 77, snmp_answer_with(77, b"ok", version=3), None),
        ("snmp", 77, udp.snmp_request(77), None),
        ("snmp", 77, b"\x30\x80" + snmp_answer_with(77, b"ok")[2:], None),  # indefinite length
        ("snmp", 77, b"\x30\x84\xff\xff\xff\xff", None),  # a length of 4 GiB
        ("snmp", 77, b"\x30\x03\x02\x01", None),  # a length past the end
    ],
)
def test_built_and_hostile_answers(service, ident, data, detail):
    assert BY_SERVICE[service].recognise(data, ident) == detail


def test_deeply_nested_ber_is_refused_quickly():
    data = b""
    for _i in range(2000):
        data = udp.ber(udp.BER_SEQ, data)
    assert udp.snmp_answer(data, 1) is None


@pytest.mark.parametrize(
    "data,at,end",
    [
        (b"\x00", 0, 1),
        (b"\x05a", 0, None),  # a label past the end
        (b"\xc0", 0, None),  # half a pointer
        (b"\xc0\x00", 0, 2),  # a pointer ends the name, wherever it points
        (b"\x80abc", 0, None),  # reserved label types
        (b"\x01a" * 200 + b"\x00", 0, None),  # more labels than a name can have
    ],
)
def test_skip_name(data, at, end):
    assert udp.skip_name(data, at) == end


def test_the_wrapper_turns_a_failing_recogniser_into_not_recognised():
    def broken(_data, _ident):
        raise IndexError("a bug")

    probe = udp.Probe("broken", 16, lambda i: b"", broken)
    assert udp.recognise(probe, b"anything", 1) is None


@pytest.mark.parametrize(
    "exc,state",
    [
        (ConnectionRefusedError(111, "Connection refused"), "closed"),
        (OSError(113, "No route to host"), "filtered"),  # EHOSTUNREACH: admin prohibited too
        (OSError(101, "Network is unreachable"), "filtered"),
        (OSError(1, "Operation not permitted"), "filtered"),  # this side's firewall
        (OSError(105, "No buffer space available"), "not probed"),
        (OSError(90, "Message too long"), "not probed"),
    ],
)
def test_classify_udp_errors(exc, state):
    assert udp.classify_error(exc)[0] == state
