# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Listening INET sockets from the kernel: sock_diag netlink replies and /proc/net tables.

Everything here is pure (bytes or text in, dicts out) except dump_sock_diag(),
the only function that opens a socket.  Each socket is a dict with the keys
protocol, family, address, port, interface_index, v6only, inode and uid.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import functools
import ipaddress
import os
import socket
import struct
import sys

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLMSG_NOOP = 1
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSG_OVERRUN = 4
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300  # NLM_F_ROOT | NLM_F_MATCH

TCP_LISTEN = 10
TCP_CLOSE = 7
INET_DIAG_SKV6ONLY = 11

IPPROTO_TCP = 6
IPPROTO_UDP = 17
AF_INET = 2
AF_INET6 = 10

PROTOCOLS = {"tcp": IPPROTO_TCP, "udp": IPPROTO_UDP}
FAMILIES = {"ipv4": AF_INET, "ipv6": AF_INET6}
_FAMILY_NAMES = {AF_INET: "ipv4", AF_INET6: "ipv6"}
# The state a listening socket is in: LISTEN for TCP, CLOSE (unconnected) for UDP.
LISTEN_STATE = {"tcp": TCP_LISTEN, "udp": TCP_CLOSE}

_NLMSGHDR_LEN = 16
# struct inet_diag_msg: u8 family, state, timer, retrans; inet_diag_sockid
# {__be16 sport, dport; __be32 src[4], dst[4]; u32 if; u32 cookie[2]};
# u32 expires, rqueue, wqueue, uid, inode.
_INET_DIAG_MSG_LEN = 72
_INET_DIAG_REQ_V2_LEN = 56
# Per byte order: the netlink header, and the inet_diag_msg fields read here in one call
# (family, state, sport, dport, src, if, uid, inode; the ports come out byte-swapped on
# little-endian order and are put right with _swap16).
_NLMSGHDR = dict((o, struct.Struct(o + "IHHII")) for o in "<>")
_DIAG_FIELDS = dict((o, struct.Struct(o + "BB2xHH16s16xI20xII")) for o in "<>")
_RTATTR = dict((o, struct.Struct(o + "HH")) for o in "<>")


class SockDiagError(Exception):
    """The kernel refused or garbled a sock_diag dump; callers fall back to /proc."""

    def __init__(self, message, errno=None):
        super().__init__(message)
        self.errno = errno


def _order(byteorder):
    if byteorder not in ("little", "big"):
        raise ValueError(f"byteorder must be 'little' or 'big', got {byteorder!r}")
    return "<" if byteorder == "little" else ">"


def build_request(family, protocol, seq=1, byteorder=sys.byteorder):
    """Return the netlink message asking for a dump of one family x protocol's listeners."""
    proto_name = "tcp" if protocol == IPPROTO_TCP else "udp"
    states = 1 << LISTEN_STATE[proto_name]
    o = _order(byteorder)
    # ext = 0: INET_DIAG_SKV6ONLY is sent for LISTEN/CLOSE IPv6 sockets without asking.
    body = struct.pack(o + "BBBBI", family, protocol, 0, 0, states)
    body += b"\0" * (_INET_DIAG_REQ_V2_LEN - len(body))  # wildcard inet_diag_sockid
    header = struct.pack(
        o + "IHHII",
        _NLMSGHDR_LEN + len(body),
        SOCK_DIAG_BY_FAMILY,
        NLM_F_REQUEST | NLM_F_DUMP,
        seq,
        0,
    )
    return header + body


def iter_netlink(data, byteorder=sys.byteorder):
    """Yield (type, flags, seq, payload) for each netlink message in data."""
    header = _NLMSGHDR[_order(byteorder)]
    offset = 0
    end = len(data)
    while offset + _NLMSGHDR_LEN <= end:
        length, msg_type, flags, seq, _pid = header.unpack_from(data, offset)
        if length < _NLMSGHDR_LEN or offset + length > end:
            raise SockDiagError(f"truncated netlink message at offset {offset}")
        yield msg_type, flags, seq, data[offset + _NLMSGHDR_LEN : offset + length]
        offset += (length + 3) & ~3
    if offset < end and data[offset:].strip(b"\0"):
        raise SockDiagError("trailing bytes after the last netlink message")


def _swap16(value):
    return ((value & 0xFF) << 8) | (value >> 8)


def dump_finished(data, byteorder=sys.byteorder):
    """True once data holds the NLMSG_DONE (or an NLMSG_ERROR) that ends a dump."""
    header = _NLMSGHDR[_order(byteorder)]
    offset = 0
    end = len(data)
    while offset + _NLMSGHDR_LEN <= end:
        length, msg_type = header.unpack_from(data, offset)[:2]
        if msg_type in (NLMSG_DONE, NLMSG_ERROR):
            return True
        if length < _NLMSGHDR_LEN:
            return False  # garbled: parse_sock_diag reports it
        offset += (length + 3) & ~3
    return False


def _raise_for_error(payload, o):
    if len(payload) < 4:
        raise SockDiagError("short NLMSG_ERROR message")
    (error,) = struct.unpack_from(o + "i", payload, 0)
    if error == 0:  # an ACK, not an error
        return
    errno = -error
    raise SockDiagError(f"sock_diag dump failed: errno {errno} ({_strerror(errno)})", errno)


def _strerror(errno):
    try:
        return os.strerror(errno)
    except ValueError:
        return "unknown error"


def _attribute(data, offset, end, wanted, o):
    """The payload of the first route attribute of type wanted in data[offset:end], or None."""
    header = _RTATTR[o]
    while offset + 4 <= end:
        rta_len, rta_type = header.unpack_from(data, offset)
        if rta_len < 4 or offset + rta_len > end:
            return None
        # Mask NLA_F_NESTED / NLA_F_NET_BYTEORDER.
        if rta_type & 0x3FFF == wanted:
            return data[offset + 4 : offset + rta_len]
        offset += (rta_len + 3) & ~3
    return None


def parse_sock_diag(data, protocol, byteorder=sys.byteorder):
    """Parse the replies to one dump request into listening socket dicts.

    ``protocol`` is ``'tcp'`` or ``'udp'`` because inet_diag_msg does not carry
    it. Sockets not in the listening state for that protocol are dropped, so a
    reply to a broader request parses the same. Raises SockDiagError for an
    NLMSG_ERROR, an overrun, or a dump the kernel says it aborted.
    """
    if protocol not in LISTEN_STATE:
        raise ValueError(f"protocol must be 'tcp' or 'udp', got {protocol!r}")
    o = _order(byteorder)
    header = _NLMSGHDR[o]
    fields = _DIAG_FIELDS[o]
    swap = o == "<"
    want_state = LISTEN_STATE[protocol]
    sockets = []
    # One pass over the messages in place: no payload copies for the thousands of sockets.
    offset = 0
    end = len(data)
    while offset + _NLMSGHDR_LEN <= end:
        length, msg_type = header.unpack_from(data, offset)[:2]
        if length < _NLMSGHDR_LEN or offset + length > end:
            raise SockDiagError(f"truncated netlink message at offset {offset}")
        body, body_end = offset + _NLMSGHDR_LEN, offset + length
        offset += (length + 3) & ~3
        if msg_type == SOCK_DIAG_BY_FAMILY:
            if body_end - body < _INET_DIAG_MSG_LEN:
                raise SockDiagError(f"short inet_diag_msg ({body_end - body} bytes)")
            family, state, sport, dport, src, ifindex, uid, inode = fields.unpack_from(data, body)
            if swap:
                sport, dport = _swap16(sport), _swap16(dport)
            if family not in _FAMILY_NAMES or state != want_state or dport != 0 or sport == 0:
                continue
            packed = src[:4] if family == AF_INET else src
            v6only = None
            if family == AF_INET6:
                flag = _attribute(data, body + _INET_DIAG_MSG_LEN, body_end, INET_DIAG_SKV6ONLY, o)
                if flag:
                    v6only = bool(flag[0])
            sockets.append(
                {
                    "protocol": protocol,
                    "family": _FAMILY_NAMES[family],
                    "address": format_address(packed),
                    "port": sport,
                    "interface_index": ifindex or None,
                    "v6only": v6only,
                    "inode": inode,
                    "uid": uid,
                }
            )
        elif msg_type == NLMSG_DONE:
            payload = data[body:body_end]
            if len(payload) >= 4 and struct.unpack_from(o + "i", payload, 0)[0] < 0:
                _raise_for_error(payload, o)
            return sockets
        elif msg_type == NLMSG_ERROR:
            _raise_for_error(data[body:body_end], o)
        elif msg_type == NLMSG_OVERRUN:
            raise SockDiagError("netlink overrun: the dump lost data")
    if offset < end and data[offset:].strip(b"\0"):
        raise SockDiagError("trailing bytes after the last netlink message")
    return sockets


def dump_sock_diag(family, protocol, timeout=5.0, bufsize=1 << 20):
    """Ask the kernel for the listening sockets of one family x protocol; return raw replies.

    This is the only function here that touches the host.  Raises SockDiagError
    (or OSError, e.g. when netlink is unavailable) on failure.
    """
    if not hasattr(socket, "AF_NETLINK"):
        raise SockDiagError("this Python has no AF_NETLINK support")
    sock = socket.socket(
        socket.AF_NETLINK, socket.SOCK_RAW | getattr(socket, "SOCK_CLOEXEC", 0), NETLINK_SOCK_DIAG
    )
    try:
        sock.settimeout(timeout)
        sock.bind((0, 0))
        sock.send(build_request(family, protocol))
        chunks = []
        while True:
            chunk = sock.recv(bufsize)
            if not chunk:
                raise SockDiagError("netlink socket closed before the dump ended")
            chunks.append(chunk)
            # Datagrams hold whole messages, so each chunk can be checked on its own.
            if dump_finished(chunk):
                break
    except socket.timeout as exc:
        raise SockDiagError(f"timed out after {timeout}s waiting for the sock_diag dump") from exc
    finally:
        sock.close()
    return b"".join(chunks)


def _unhex_address(text, byteorder):
    raw = bytes.fromhex(text)
    if len(raw) not in (4, 16):
        raise ValueError("bad address length")
    if byteorder == "big":
        return raw
    # The kernel prints each 32-bit word of the network-order address as a host integer.
    return b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))


def parse_proc_net(text, protocol, family, byteorder=sys.byteorder):
    """Parse /proc/net/{tcp,tcp6,udp,udp6} text into listening socket dicts.

    Only LISTEN (TCP) and unconnected bound (UDP) sockets are returned.  The
    tables carry neither the bound interface nor IPV6_V6ONLY, so those are None.
    """
    if protocol not in LISTEN_STATE:
        raise ValueError(f"protocol must be 'tcp' or 'udp', got {protocol!r}")
    if family not in FAMILIES:
        raise ValueError(f"family must be 'ipv4' or 'ipv6', got {family!r}")
    want_state = LISTEN_STATE[protocol]
    addr_len = 4 if family == "ipv4" else 16
    sockets = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 10 or not fields[0].endswith(":"):
            continue  # header or a line we do not understand
        try:
            local_hex, local_port = fields[1].split(":")
            _remote_hex, remote_port = fields[2].split(":")
            state = int(fields[3], 16)
            port = int(local_port, 16)
            packed = _unhex_address(local_hex, byteorder)
            uid = int(fields[7])
            inode = int(fields[9])
            dport = int(remote_port, 16)
        except ValueError:
            continue
        if state != want_state or dport != 0 or port == 0 or len(packed) != addr_len:
            continue
        sockets.append(
            {
                "protocol": protocol,
                "family": family,
                "address": format_address(packed),
                "port": port,
                "interface_index": None,
                "v6only": None,
                "inode": inode,
                "uid": uid,
            }
        )
    return sockets


# Hosts bind thousands of sockets to a handful of addresses: parse each distinct one once.
@functools.lru_cache(maxsize=4096)
def format_address(packed):
    """Canonical text for a packed address.

    IPv4-mapped IPv6 addresses are always written ``::ffff:a.b.c.d`` (RFC 5952
    section 5), whatever the Python version's ipaddress prints for them.
    """
    if len(packed) == 4:
        return str(ipaddress.IPv4Address(bytes(packed)))
    ip = ipaddress.IPv6Address(bytes(packed))
    if ip.ipv4_mapped is not None:
        return f"::ffff:{ip.ipv4_mapped}"
    return ip.compressed


def canonical_address(text):
    """Canonical form of an address given as text (same rules as format_address)."""
    return format_address(ipaddress.ip_address(text).packed)


def _multicast_scope(ip):
    if ip.version == 4:
        if ip in ipaddress.IPv4Network("224.0.0.0/24"):
            return "link_local"
        if ip in ipaddress.IPv4Network("239.0.0.0/8"):
            return "private"  # administratively scoped
        return "public"
    scope = ip.packed[1] & 0x0F
    if scope == 1:
        return "loopback"  # interface-local
    if scope == 2:
        return "link_local"
    if scope in (3, 4, 5, 8):
        return "private"  # realm-, admin-, site- and organization-local
    return "public"


@functools.lru_cache(maxsize=4096)
def address_scope(address):
    """Classify a bound address: any, loopback, link_local, private or public.

    IPv4-mapped IPv6 addresses are judged by their IPv4 part.  Multicast groups
    by their scope (224.0.0.0/24 and ff02::/16 are link_local, 239/8 and
    ff03-ff08 private).  Anything not globally routable is private.
    """
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified:
        return "any"
    if ip.is_loopback:
        return "loopback"
    if ip.is_multicast:
        return _multicast_scope(ip)
    if ip.is_link_local:
        return "link_local"
    if ip.is_global:
        return "public"
    return "private"
