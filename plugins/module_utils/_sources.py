# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sources a `restrict` rule admits: IP addresses and networks in one canonical text.

A source ends up inside a firewalld rich rule (``source address="..."``), so only text that
is an address or a network and nothing else is accepted: no host names, no scope ids
(``fe80::1%eth0``), no quotes, spaces or line breaks, no host bits set below the prefix, and
"everyone" only when written as such.

Public: canonical_source, EVERYONE.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import ipaddress
import re

from ansible_collections.portguard.hardening.plugins.module_utils._values import show

# The spellings of "every address" a rule may use; any other one is an error.
EVERYONE = ("0.0.0.0/0", "::/0")
_SOURCE_TEXT = re.compile(r"[0-9A-Fa-f.:/]+")
# Outside what an address, a network or a (refused) host name is written with.
_FOREIGN_CHAR = re.compile(r"[^0-9A-Za-z.:/-]")


def _not_a_network(value):
    return ValueError(
        f"{show(value)} is not an IP address or CIDR network (hostnames are not accepted)"
    )


def canonical_source(value):
    """The canonical text of one source; ValueError quoting the value and saying what is wrong.

    An address is given back without a prefix length (``10.0.0.1/32`` is ``10.0.0.1``), a
    network in prefix form with its address compressed (``2001:0db8::/32`` is ``2001:db8::/32``,
    ``10.0.0.0/255.0.0.0`` is ``10.0.0.0/8``).
    """
    if not isinstance(value, str):
        raise _not_a_network(value)
    foreign = _FOREIGN_CHAR.search(value)
    if foreign:
        raise ValueError(
            f"{show(value)} is not an IP address or CIDR network: it contains "
            f"{show(foreign.group())} (interface scopes such as %eth0, spaces and quotes are "
            "not accepted)"
        )
    if not _SOURCE_TEXT.fullmatch(value):
        raise _not_a_network(value)
    try:
        net = ipaddress.ip_network(value, strict=False)
        address = ipaddress.ip_address(value.split("/", 1)[0])
    except ValueError:
        raise _not_a_network(value) from None
    if address != net.network_address:
        # 10.0.0.1/8 means either the network or the one address; taking the network would
        # admit millions of addresses nobody asked for.
        raise ValueError(
            f"{show(value)} has host bits set: write {show(str(net))} for the network or "
            f"{show(str(address))} for the one address"
        )
    if net.prefixlen == 0 and value not in EVERYONE:
        raise ValueError(
            f"{show(value)} admits every address: write {show(EVERYONE[net.version == 6])} "
            "if that is meant"
        )
    if net.prefixlen == net.max_prefixlen:
        return str(net.network_address)
    return str(net)
