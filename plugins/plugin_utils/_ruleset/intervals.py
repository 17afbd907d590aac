# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sets of integers as sorted, disjoint, inclusive (low, high) ranges.

Source addresses are evaluated as sets (every address a rule lets through at once, not one
address at a time), and ports index which rules can match: both are integer ranges.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import socket

EMPTY = ()
ADDRESS_BITS = {"ipv4": 32, "ipv6": 128}
PORTS = ((0, 65535),)
# Packets from outside never carry a loopback source: the kernel drops them as martians.
_LOOPBACK = {"ipv4": "127.0.0.0/8", "ipv6": "::1/128"}


def normalize(ranges):
    """Sorted, merged ranges from any iterable of (low, high) pairs."""
    out = []
    for low, high in sorted(ranges):
        if out and low <= out[-1][1] + 1:
            if high > out[-1][1]:
                out[-1] = (out[-1][0], high)
        else:
            out.append((low, high))
    return tuple(out)


def union(a, b):
    if not a or a is b:
        return b
    if not b:
        return a
    if len(a) + len(b) > _MEMO_SIZE:
        return _memo(_union, a, b)
    return _union(a, b)


def _union(a, b):
    if a == b:
        return a
    return normalize(a + b)


def intersect(a, b):
    if a is b:
        return a
    if not a or not b:
        return EMPTY
    if len(a) + len(b) > _MEMO_SIZE:
        return _memo(_intersect, a, b)
    return _intersect(a, b)


def forget():
    """Drop what the memos hold: each evaluation starts with none of another's sets."""
    _MEMO.clear()
    _SMALL_NETWORKS.clear()


def _memo(op, a, b):
    """op(a, b) for large sets, remembered: runs meet the same big sets (a ban list) again."""
    key = (op, id(a), b if isinstance(b, str) else id(b))
    found = _MEMO.get(key)
    if found is not None and found[0] is a:
        return found[2]
    result = op(a, b)
    if len(_MEMO) > 4096:
        _MEMO.clear()
    _MEMO[key] = (a, b, result)  # holding a and b keeps their ids from being reused
    return result


def _intersect(a, b):
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        low = max(a[i][0], b[j][0])
        high = min(a[i][1], b[j][1])
        if low <= high:
            out.append((low, high))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def subtract(a, b):
    if not a or not b:
        return a
    if a is b:
        return EMPTY
    if len(a) + len(b) > _MEMO_SIZE:
        return _memo(_subtract, a, b)
    return _subtract(a, b)


def _subtract(a, b):
    if a == b:
        return EMPTY
    out = []
    j = 0
    for low, high in a:
        while j < len(b) and b[j][1] < low:
            j += 1
        k = j
        while k < len(b) and b[k][0] <= high:
            if b[k][0] > low:
                out.append((low, b[k][0] - 1))
            low = max(low, b[k][1] + 1)
            k += 1
        if low <= high:
            out.append((low, high))
    return tuple(out)


def contains(ranges, value):
    for low, high in ranges:
        if low <= value <= high:
            return True
        if low > value:
            return False
    return False


def size(ranges):
    if len(ranges) > _MEMO_SIZE:
        return _memo(_size, ranges, None)
    return _size(ranges)


def _size(ranges, _unused=None):
    return sum(high - low + 1 for low, high in ranges)


def universe(family):
    return ((0, (1 << ADDRESS_BITS[family]) - 1),)


def outside(family):
    """Every source address a packet from another host can carry."""
    return _OUTSIDE[family]


def network_range(text, family=None):
    """The range of an address or CIDR ("10.0.0.0/8"); ValueError when it is neither, or of
    another family than the one given."""
    if isinstance(text, str):
        addr, slash, length = text.partition("/")
        if not slash:
            value = address_value(text, family)
            return ((value, value),)
        if length.isascii() and length.isdigit():
            found = prefix_range(addr, int(length), family)
            if found is not None:
                return found
    net = ipaddress.ip_network(text, strict=False)
    if family is not None and f"ipv{net.version}" != family:
        raise ValueError(f"{text!r} is not an {family} address")
    return ((int(net.network_address), int(net.broadcast_address)),)


def prefix_range(addr, length, family):
    """The range of addr/length, or None where this quick way does not apply (an address
    inet_pton does not read, a length that is not a plain int in range): ask network_range."""
    if addr.__class__ is not str or length.__class__ is not int or family not in _AF:
        return None
    bits = ADDRESS_BITS[family]
    if not 0 <= length <= bits:
        return None
    try:
        value = int.from_bytes(socket.inet_pton(_AF[family], addr), "big")
    except OSError:
        return None
    host = (1 << (bits - length)) - 1
    low = value & ~host
    return ((low, low | host),)


def address_value(text, family=None):
    """The integer of one address; ValueError when it is not one (of that family)."""
    if isinstance(text, str) and family is not None:
        try:  # inet_pton is strict (no "010.1" or "1") and far quicker than ipaddress
            raw = socket.inet_pton(_AF[family], text)
            return int.from_bytes(raw, "big")
        except OSError:
            pass
    addr = ipaddress.ip_address(text)
    if family is not None and f"ipv{addr.version}" != family:
        raise ValueError(f"{text!r} is not an {family} address")
    return int(addr)


def networks(ranges, family):
    """The ranges as CIDR strings, smallest cover, in address order."""
    if len(ranges) > _MEMO_SIZE:
        return list(_memo(_networks, ranges, family))
    key = (family, ranges)  # small: cheap to hash, and made anew by each subtraction
    found = _SMALL_NETWORKS.get(key)
    if found is None:
        if len(_SMALL_NETWORKS) > 4096:
            _SMALL_NETWORKS.clear()
        found = _SMALL_NETWORKS[key] = _networks(ranges, family)
    return list(found)


def _networks(ranges, family):
    cls = ipaddress.IPv4Address if family == "ipv4" else ipaddress.IPv6Address
    host = "/32" if family == "ipv4" else "/128"
    found = []
    for low, high in ranges:
        if low == high:
            found.append(str(cls(low)) + host)
            continue
        found.extend(str(n) for n in ipaddress.summarize_address_range(cls(low), cls(high)))
    return found


_AF = {"ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}
_MEMO = {}
_SMALL_NETWORKS = {}
_MEMO_SIZE = 32
_OUTSIDE = {f: subtract(universe(f), network_range(_LOOPBACK[f])) for f in ADDRESS_BITS}
