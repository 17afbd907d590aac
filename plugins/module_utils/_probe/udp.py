# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The UDP probe: a real request each known service answers, and a recogniser of its answer.

Silence proves nothing on UDP, so a port is only ``open`` when something answered, and
``closed`` only when the host said so (ICMP port unreachable, which a connected socket sees as
ECONNREFUSED). A port that stays silent through every try is ``open|filtered``; one behind an
ICMP error other than port unreachable is ``filtered``. A port without a known request gets an
empty datagram, so it too can only come out ``closed`` by the host's own word.

Answers are hostile data: the recognisers take bytes, check every length before reading, never
raise, and return a short plain-text detail (printable ASCII, at most DETAIL_MAX characters) or
None when the bytes are not that service's answer to this request (its id, xid or timestamp).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import asyncio
import collections
import os
import socket
import struct

from ansible_collections.portguard.hardening.plugins.module_utils._probe.tcp import (
    FILTERED_ERRNOS,
    LOCAL_ERRNOS,
)

OPEN = "open"
CLOSED = "closed"
OPEN_FILTERED = "open|filtered"
FILTERED = "filtered"
NOT_PROBED = "not probed"
STATES = (OPEN, CLOSED, OPEN_FILTERED, FILTERED, NOT_PROBED)

DETAIL_MAX = 120
# Datagrams looked at per port: a host that floods one socket does not keep the probe busy.
MAX_ANSWERS = 16
EMPTY = "empty datagram"

Probe = collections.namedtuple("Probe", "service id_bits request recognise")


def plain(data, limit=DETAIL_MAX):
    """Bytes as printable ASCII on one line, anything else a '?', at most ``limit`` chars."""
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    text = "".join(
        chr(b) if 0x20 <= b < 0x7F else "?" if b not in (9, 10, 13) else " " for b in data
    )
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _u16(data, at):
    return struct.unpack_from(">H", data, at)[0] if len(data) >= at + 2 else None


def _u32(data, at):
    return struct.unpack_from(">I", data, at)[0] if len(data) >= at + 4 else None


# -- rpcbind (RFC 5531 ONC RPC, RFC 1833 portmapper) ---------------------------------------

RPC_CALL, RPC_REPLY, MSG_ACCEPTED, ACCEPT_SUCCESS = 0, 1, 0, 0
PMAP_PROG, PMAP_VERS, PMAPPROC_NULL = 100000, 2, 0


def rpcbind_request(xid):
    """RPC v2 CALL of portmapper (100000) version 2, procedure NULL, AUTH_NULL credentials
    and verifier: the 40 bytes `rpcinfo -u HOST 100000 2` sends."""
    return struct.pack(">10I", xid, RPC_CALL, 2, PMAP_PROG, PMAP_VERS, PMAPPROC_NULL, 0, 0, 0, 0)


def rpcbind_answer(data, xid):
    """A REPLY to ``xid``, MSG_ACCEPTED, verifier skipped, accept_stat SUCCESS."""
    if len(data) < 24 or _u32(data, 0) != xid or _u32(data, 4) != RPC_REPLY:
        return None
    if _u32(data, 8) != MSG_ACCEPTED:
        return None
    verifier_length = _u32(data, 16)
    if verifier_length > 400:  # RFC 5531: opaque_auth bodies are at most 400 bytes
        return None
    at = 20 + (verifier_length + 3) // 4 * 4
    if _u32(data, at) != ACCEPT_SUCCESS:
        return None
    return "portmapper version 2 answered the NULL call"


# -- memcached (protocol.txt, "UDP protocol") ----------------------------------------------


def memcached_request(request_id):
    """The 8-byte UDP frame header (request id, sequence 0, 1 datagram, reserved) + stats."""
    return struct.pack(">4H", request_id, 0, 1, 0) + b"stats\r\n"


def memcached_answer(data, request_id):
    """A frame with our request id whose payload is stats lines (``STAT ``)."""
    if len(data) < 13 or _u16(data, 0) != request_id or data[8:13] != b"STAT ":
        return None
    for line in data[8:].split(b"\r\n"):
        if line.startswith(b"STAT version "):
            return "version " + plain(line[13:], 60)
    return "stats answered"


# -- DNS, mDNS (RFC 1035, RFC 6762) ---------------------------------------------------------

QTYPE_PTR, QTYPE_TXT, QTYPE_NS = 12, 16, 2
CLASS_IN, CLASS_CH, QU_BIT = 1, 3, 0x8000
RCODES = ("NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED")
DNS_SD_SERVICES = "_services._dns-sd._udp.local"


def dns_name(name):
    """A name in wire form (labels of at most 63 bytes)."""
    out = b""
    for label in name.strip(".").split("."):
        if label:
            raw = label.encode("ascii")
            out += struct.pack(">B", len(raw)) + raw
    return out + b"\x00"


def dns_query(ident, name, qtype, qclass, flags=0):
    """A one-question query: header (id, flags, qdcount 1), then the question."""
    return (
        struct.pack(">6H", ident, flags, 1, 0, 0, 0)
        + dns_name(name)
        + struct.pack(">2H", qtype, qclass)
    )


def skip_name(data, at):
    """The offset just past the (possibly compressed) name at ``at``, or None."""
    for _label in range(128):
        if at >= len(data):
            return None
        length = data[at]
        if length == 0:
            return at + 1
        if length & 0xC0 == 0xC0:
            return at + 2 if at + 2 <= len(data) else None
        if length & 0xC0:
            return None
        at += 1 + length
    return None


def _dns_header(data, ident):
    """(flags, qdcount, ancount) of a response to ``ident`` (None: any id), or None."""
    if len(data) < 12:
        return None
    got, flags, qdcount, ancount = struct.unpack_from(">4H", data, 0)
    if ident is not None and got != ident:
        return None
    if not flags & 0x8000 or (flags >> 11) & 0xF != 0:  # a response, opcode QUERY
        return None
    return flags, qdcount, ancount


def _first_answer(data, qdcount):
    """(type, rdata) of the first answer record, or None."""
    at = 12
    for _question in range(min(qdcount, 8)):
        at = skip_name(data, at)
        if at is None:
            return None
        at += 4
    at = skip_name(data, at)
    if at is None or len(data) < at + 10:
        return None
    rtype, _rclass, _ttl, length = struct.unpack_from(">HHIH", data, at)
    rdata = data[at + 10 : at + 10 + length]
    return (rtype, rdata) if len(rdata) == length else None


def dns_request(ident):
    """`version.bind` CH TXT, no recursion asked: what `dig CH TXT version.bind` sends
    (less its EDNS record)."""
    return dns_query(ident, "version.bind", QTYPE_TXT, CLASS_CH)


def dns_answer(data, ident):
    """A response with our id, whatever its rcode; the version text when one is given."""
    header = _dns_header(data, ident)
    if header is None:
        return None
    flags, qdcount, ancount = header
    rcode = flags & 0xF
    text = "rcode %s" % (RCODES[rcode] if rcode < len(RCODES) else rcode)
    if rcode == 0 and ancount:
        answer = _first_answer(data, qdcount)
        if answer and answer[0] == QTYPE_TXT and answer[1]:
            return "version.bind " + plain(answer[1][1 : 1 + answer[1][0]], 80)
    return text


def mdns_request(ident):
    """PTR `_services._dns-sd._udp.local` asking for a unicast answer (the QU bit): the
    DNS-SD service enumeration `avahi-browse -a` starts with, sent to the host itself."""
    return dns_query(ident, DNS_SD_SERVICES, QTYPE_PTR, CLASS_IN | QU_BIT)


def mdns_answer(data, ident):
    """A DNS response with our id, or any mDNS response (id 0, RFC 6762 18.1)."""
    header = _dns_header(data, None)
    if header is None:
        return None
    got = _u16(data, 0)
    if got not in (ident, 0):
        return None
    return "%d answer records" % header[2]


# -- NetBIOS name service (RFC 1002 4.2.17, 4.2.18) -----------------------------------------

NBSTAT, NB_IN = 0x21, 1
# "*" padded with NULs to 16 bytes, first-level encoded: 'C','K', then 'A' for each 0x00 nibble.
NB_WILDCARD = b"\x20" + b"CK" + b"A" * 30 + b"\x00"


def netbios_request(ident):
    """NODE STATUS REQUEST for `*`: the 50 bytes `nmblookup -A HOST` (and `nbtstat -A`)
    send."""
    return (
        struct.pack(">6H", ident, 0, 1, 0, 0, 0) + NB_WILDCARD + struct.pack(">2H", NBSTAT, NB_IN)
    )


def netbios_answer(data, ident):
    """A NODE STATUS RESPONSE to our id; the first name in its table."""
    if len(data) < 12 or _u16(data, 0) != ident:
        return None
    flags, _qd, ancount = struct.unpack_from(">3H", data, 2)
    if not flags & 0x8000 or (flags >> 11) & 0xF != 0 or ancount < 1:
        return None
    at = skip_name(data, 12)
    if at is None or len(data) < at + 11:
        return None
    rtype, rclass, _ttl, length, count = struct.unpack_from(">HHIHB", data, at)
    if rtype != NBSTAT or rclass != NB_IN or length < 1:
        return None
    names = data[at + 11 : at + 11 + 18 * count]
    if count and len(names) >= 15:
        return "%d names, first %s" % (count, plain(names[:15], 15))
    return "%d names" % count


# -- SNMP v2c (RFC 3416, BER of X.690) ------------------------------------------------------

SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
BER_INT, BER_OCTETS, BER_NULL, BER_OID, BER_SEQ = 0x02, 0x04, 0x05, 0x06, 0x30
GET_REQUEST, GET_RESPONSE = 0xA0, 0xA2


def ber(tag, body):
    """One TLV with a definite length (short form below 128, long form above)."""
    n = len(body)
    if n < 0x80:
        return struct.pack(">BB", tag, n) + body
    size = (n.bit_length() + 7) // 8
    return struct.pack(">BB", tag, 0x80 | size) + n.to_bytes(size, "big") + body


def ber_int(value):
    """An INTEGER in its shortest two's-complement form."""
    size = max(1, (value.bit_length() + 8) // 8)
    return ber(BER_INT, value.to_bytes(size, "big", signed=True))


def ber_oid(arcs):
    """An OBJECT IDENTIFIER: the first two arcs as one subidentifier, each in base 128."""
    body = b""
    for arc in (40 * arcs[0] + arcs[1],) + tuple(arcs[2:]):
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return ber(BER_OID, body)


def snmp_request(request_id, community=b"public"):
    """v2c GetRequest of sysDescr.0 under ``community``: what `snmpget -v2c -c public HOST
    1.3.6.1.2.1.1.1.0` sends."""
    varbind = ber(BER_SEQ, ber_oid(SYS_DESCR) + ber(BER_NULL, b""))
    pdu = ber(GET_REQUEST, ber_int(request_id) + ber_int(0) + ber_int(0) + ber(BER_SEQ, varbind))
    return ber(BER_SEQ, ber_int(1) + ber(BER_OCTETS, community) + pdu)


def ber_read(data, at, end):
    """(tag, body start, body end) of the TLV at ``at`` inside ``data[:end]``, or None."""
    if at + 2 > end:
        return None
    tag, first = data[at], data[at + 1]
    at += 2
    if first < 0x80:
        length = first
    else:
        size = first & 0x7F
        if not 1 <= size <= 3 or at + size > end:  # indefinite or absurd lengths: refused
            return None
        length = int.from_bytes(data[at : at + size], "big")
        at += size
    if at + length > end:
        return None
    return tag, at, at + length


def _ber_children(data, start, end, limit=8):
    """The TLVs inside one constructed body, at most ``limit``, or None when one is broken."""
    out, at = [], start
    while at < end and len(out) < limit:
        tlv = ber_read(data, at, end)
        if tlv is None:
            return None
        out.append(tlv)
        at = tlv[2]
    return out


def _ber_integer(data, tlv):
    tag, start, end = tlv
    if tag != BER_INT or not 1 <= end - start <= 8:
        return None
    return int.from_bytes(data[start:end], "big", signed=True)


def snmp_answer(data, request_id):
    """A GetResponse-PDU with our request-id; sysDescr's text, or the error status."""
    top = ber_read(data, 0, len(data))
    if top is None or top[0] != BER_SEQ:
        return None
    message = _ber_children(data, top[1], top[2], 3)
    if not message or len(message) != 3 or message[1][0] != BER_OCTETS:
        return None
    if _ber_integer(data, message[0]) not in (0, 1) or message[2][0] != GET_RESPONSE:
        return None
    pdu = _ber_children(data, message[2][1], message[2][2], 4)
    if not pdu or len(pdu) != 4 or _ber_integer(data, pdu[0]) != request_id:
        return None
    status = _ber_integer(data, pdu[1])
    if status is None:
        return None
    if status:
        return "error-status %d" % status
    varbinds = _ber_children(data, pdu[3][1], pdu[3][2], 1) if pdu[3][0] == BER_SEQ else None
    if varbinds and varbinds[0][0] == BER_SEQ:
        pair = _ber_children(data, varbinds[0][1], varbinds[0][2], 2)
        if pair and len(pair) == 2 and pair[1][0] == BER_OCTETS:
            return "sysDescr " + plain(data[pair[1][1] : pair[1][2]], 110)
    return "GetResponse without sysDescr"


# -- NTP (RFC 5905) -------------------------------------------------------------------------


def ntp_request(stamp):
    """48 bytes: LI 0, version 4, mode 3 (client), transmit timestamp ``stamp`` (a random
    64-bit value: the server copies it into its reply's origin timestamp, as RFC 5905 has
    clients check)."""
    return b"\x23" + b"\x00" * 39 + struct.pack(">Q", stamp)


def ntp_answer(data, stamp):
    """A mode 4 (server) reply of version 1 to 4 whose origin timestamp is our transmit."""
    if len(data) < 48:
        return None
    mode, version = data[0] & 0x7, (data[0] >> 3) & 0x7
    if mode != 4 or not 1 <= version <= 4 or struct.unpack_from(">Q", data, 24)[0] != stamp:
        return None
    stratum = data[1]
    if stratum == 0:  # a kiss-o'-death: the reference id is an ASCII code such as RATE
        return "kiss code %s" % plain(data[12:16], 4)
    return "NTPv%d stratum %d" % (version, stratum)


# -- the table ------------------------------------------------------------------------------

PROBES = {
    53: Probe("dns", 16, dns_request, dns_answer),
    111: Probe("rpcbind", 32, rpcbind_request, rpcbind_answer),
    123: Probe("ntp", 64, ntp_request, ntp_answer),
    137: Probe("netbios-ns", 16, netbios_request, netbios_answer),
    161: Probe("snmp", 31, snmp_request, snmp_answer),
    5353: Probe("mdns", 16, mdns_request, mdns_answer),
    11211: Probe("memcached", 16, memcached_request, memcached_answer),
}


def random_id(bits):
    return int.from_bytes(os.urandom((bits + 7) // 8), "big") >> (-bits % 8)


def recognise(probe, data, ident):
    """The probe's recogniser, which must never raise on what a host sends; a bug in it
    counts as not recognised."""
    try:
        detail = probe.recognise(bytes(data), ident)
    except Exception:  # pylint: disable=broad-exception-caught
        return None
    return None if detail is None else plain(detail)


def classify_error(exc):
    """(state, problem) of an error a UDP socket reported."""
    code = getattr(exc, "errno", None)
    if isinstance(exc, ConnectionRefusedError):
        return CLOSED, None
    if code in FILTERED_ERRNOS:
        return FILTERED, None
    if code in LOCAL_ERRNOS:
        return NOT_PROBED, "cannot send from here: %s" % type(exc).__name__
    return NOT_PROBED, "UDP error %s" % (code if code is not None else type(exc).__name__)


class _Listener(asyncio.DatagramProtocol):
    """What one port's socket hears: the recognised answer, other datagrams, errors."""

    def __init__(self, probe, ident, done):
        self.probe = probe
        self.ident = ident
        self.done = done
        self.heard = 0
        self.error = None

    def datagram_received(self, data, addr):
        self.heard += 1
        if self.done.done() or self.heard > MAX_ANSWERS:
            return
        if self.probe is None:
            self.done.set_result((OPEN, None, "answered an empty datagram (%d bytes)" % len(data)))
            return
        detail = recognise(self.probe, data, self.ident)
        if detail is not None:
            self.done.set_result((OPEN, self.probe.service, detail))

    def error_received(self, exc):
        if not self.done.done():
            self.error = exc
            self.done.set_result(None)


async def probe_port(loop, family, sockaddr, port, tries, timeout, pacer, counter, probes=None):
    """{state, service, detail, probe} of one UDP port; ``counter`` counts datagrams sent.
    ``probes`` is the table of requests by port (PROBES unless a test gives its own)."""
    probe = (PROBES if probes is None else probes).get(port)
    ident = random_id(probe.id_bits) if probe else None
    payload = probe.request(ident) if probe else b""
    sent_as = probe.service if probe else EMPTY
    done = loop.create_future()
    address = tuple(sockaddr[:1]) + (port,) + tuple(sockaddr[2:])
    try:
        # A socket of its own, connected: ICMP errors for it come back as errors on it, and
        # only datagrams from the probed address and port reach it. asyncio's sendto() drops
        # empty datagrams, so the socket itself sends.
        sock = socket.socket(family, socket.SOCK_DGRAM)
    except OSError as exc:
        state, problem = classify_error(exc)
        return _entry(state, None, problem or "", sent_as), problem
    try:
        sock.setblocking(False)
        sock.connect(address)
        transport, listener = await loop.create_datagram_endpoint(
            lambda: _Listener(probe, ident, done), sock=sock
        )
    except OSError as exc:
        sock.close()
        state, problem = classify_error(exc)
        return _entry(state, None, problem or "", sent_as), problem
    try:
        for _try in range(tries):
            await pacer.wait()
            try:
                sock.send(payload)
            except BlockingIOError:
                pass  # the send buffer is full: this try is lost, the next one may go
            except OSError as exc:  # an ICMP error of an earlier try, reported on send
                listener.error_received(exc)
            counter[0] += 1
            await asyncio.wait([done], timeout=timeout)
            if done.done() or listener.heard:
                break
        if done.done() and done.result() is not None:
            state, service, detail = done.result()
            return _entry(state, service, detail, sent_as), None
        if listener.error is not None:
            state, problem = classify_error(listener.error)
            detail = "ICMP port unreachable" if state == CLOSED else problem or "ICMP error"
            return _entry(state, None, detail, sent_as), problem
        if listener.heard:
            # Something answered from the port, but not as the service this port is known for.
            detail = "%d datagrams, none a %s answer" % (listener.heard, probe.service)
            return _entry(OPEN, None, detail, sent_as), None
        return _entry(OPEN_FILTERED, None, "no answer to %d tries" % tries, sent_as), None
    finally:
        transport.close()


def _entry(state, service, detail, sent_as):
    return {"state": state, "service": service, "detail": detail, "probe": sent_as}


async def scan(
    loop, family, sockaddr, ports, concurrency, tries, timeout, pacer, deadline, probes=None
):
    """({port: entry}, datagrams sent, {problem: count}) for ``ports``; ports still running at
    the deadline are ``not probed``."""
    results, problems, counter = {}, collections.Counter(), [0]
    semaphore = asyncio.Semaphore(concurrency)

    async def one(port):
        async with semaphore:
            if loop.time() >= deadline:
                return
            entry, problem = await probe_port(
                loop, family, sockaddr, port, tries, timeout, pacer, counter, probes
            )
            results[port] = entry
            if problem:
                problems[problem] += 1

    tasks = [loop.create_task(one(port)) for port in ports]
    if tasks:
        remaining = max(0.0, deadline - loop.time())
        finished, pending = await asyncio.wait(tasks, timeout=remaining)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
        for task in finished:
            task.result()  # a failure of the probe itself is not a port state
    table = PROBES if probes is None else probes
    out = {}
    for port in ports:
        out[port] = results.get(port) or _entry(
            NOT_PROBED,
            None,
            "the time budget ran out",
            table[port].service if port in table else EMPTY,
        )
    return out, counter[0], problems
