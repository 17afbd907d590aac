# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a probe comes from: the prober's own address toward a target, a name resolved where
the probe runs, and the targets a prober must not probe because they are itself.

Shared by the controller's probe (the exposed_ports_probe action) and the scanner hosts' probe
(the exposed_ports_scan module): each sees the network from its own place.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import socket

from ansible_collections.portguard.hardening.plugins.module_utils._probe.scan import ProbeError
from ansible_collections.portguard.hardening.plugins.module_utils._values import show


def source_address(address):
    """This machine's address toward ``address`` (a UDP socket connected, nothing sent), or
    None."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((address.partition("%")[0], 9))
            return probe.getsockname()[0]
    except OSError:
        return None


def is_ip(text):
    if not isinstance(text, str):
        return False
    try:
        ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return False
    return True


def resolve(name, field):
    """(the address to probe, notes): an IP literal as it is, a name resolved here, its first
    address in the resolver's order, the others named in a note. ProbeError names ``field``."""
    if not isinstance(name, str) or not name.strip():
        raise ProbeError(
            ["%s: expected a host name or an IP address, got %s" % (field, show(name))]
        )
    name = name.strip()
    if is_ip(name):
        return name, []
    try:
        infos = socket.getaddrinfo(name, None, socket.AF_UNSPEC, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ProbeError(["%s: cannot resolve %s: %s" % (field, show(name), exc)]) from None
    found = []
    for info in infos:
        address = info[4][0]
        if address not in found:
            found.append(address)
    if not found:
        raise ProbeError(["%s: %s resolves to no address" % (field, show(name))])
    notes = []
    if len(found) > 1:
        notes.append(
            "%s resolves to %d addresses (%s); probed the first only"
            % (show(name), len(found), ", ".join(found))
        )
    return found[0], notes


def own_address(address, source, whose="the controller"):
    """Why ``address`` is the prober itself (loopback, or an address of its own: a
    port-forwarded SSH or Vagrant host), or None: a probe there sees the prober's own ports.
    ``source`` is source_address(address)."""
    if ipaddress.ip_address(address.partition("%")[0]).is_loopback:
        return "%s is a loopback address: the probe would see %s's own ports" % (address, whose)
    if source == address.partition("%")[0]:
        return "%s is an address of %s itself" % (address, whose)
    return None
