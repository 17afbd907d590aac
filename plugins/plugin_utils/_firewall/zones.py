# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Through which firewalld zones a port is reachable: a rule that closes it goes to each."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.firewall_model import (
    _zone_reach as zone_reach,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.firewall_model import (
    parse_firewall,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.evaluate import (
    is_inside,
)


def _guests_only(zone):
    """A zone bound only to the bridges of the host's own containers admits no other host."""
    interfaces = zone.get("interfaces") or []
    return bool(interfaces) and not zone.get("sources") and all(is_inside(i) for i in interfaces)


def outside_view(view):
    """The firewall view without the zones bound only to the bridges of the host's guests: what
    comes in there comes from this host's own containers, not from other hosts."""
    return dict(view, zones=[z for z in view.get("zones") or [] if not _guests_only(z)])


def _models(view):
    """[(name, zone model)] of the zones that take traffic from other hosts."""
    found = []
    for zone in outside_view(view)["zones"]:
        if not zone.get("active", True):
            continue
        model = parse_firewall(
            {"state": "running", "zones": [zone], "services": view.get("services") or {}}
        )
        found.extend((zone["name"], z) for z in model["zones"])
    return found


def zones_for(view, ports, zone=""):
    """{(port, protocol): [zone names]}: where each port must be closed.

    ``view`` is the firewall as describe_host() gives it (firewalld running); ``ports`` the
    (port, protocol) pairs to close; ``zone`` the user's exposed_ports_firewall_zone, which,
    when set, is the only zone written to. Otherwise a port goes to every zone that admits it
    from another host (by a port, a service, a rich rule or an ACCEPT target), and to the
    default zone when no zone's configuration admits it (the kernel's ruleset said it is
    reachable, so the default zone is where firewalld sends what no zone claims).
    """
    default = view.get("default_zone")
    if zone:
        return {key: [zone] for key in ports}
    models = _models(view)
    found = {}
    for port, protocol in ports:
        names = []
        for name, model in models:
            for family in ("ipv4", "ipv6"):
                via, sources = zone_reach(model, protocol, port, family)
                if (via or sources) and name not in names:
                    names.append(name)
        # "" is firewalld's default zone, whatever its name (the zones could not be read).
        found[(port, protocol)] = sorted(names) or [default or ""]
    return found
