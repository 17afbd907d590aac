#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

DOCUMENTATION = r"""
---
module: exposed_ports_nftables
short_description: Close ports through an nftables table of the collection's own
version_added: 0.1.0
description:
  - Closes the ports that the policy forbids on hosts whose firewall is a native nftables
    ruleset (C(nftables.service)), iptables-persistent (C(netfilter-persistent.service)), ufw,
    or no firewall at all, beside the admin's firewall and without touching it.
  - Writes the rules file C(/etc/portguard/nftables.nft). Loading it replaces the table
    C(inet portguard) in one transaction and touches no other table; the admin's ruleset is
    never flushed or replaced, and no firewall is started or installed.
  - The table's one chain hooks C(input) at priority C(-10), before the filter chains of
    C(nftables.service), ufw and iptables-nft (C(0)) and of firewalld (C(+10)). A reject there
    ends the packet; an accept only ends this chain, so the admin's rules still decide about
    everything the table lets through.
  - The chain accepts loopback (C(iif "lo")) and packets of established and related
    connections first, so no running connection is cut, the management connection included.
    Then, per rule in order of port and protocol, a V(block) rejects every new connection
    (TCP with a reset, UDP with ICMP port unreachable), a V(restrict) accepts its sources and
    rejects everyone else. Every interface but C(lo) is treated alike, container bridges such
    as C(docker0) included.
  - Writes and enables the unit C(/etc/systemd/system/portguard-nftables.service), which loads
    the file at boot before the network (C(Before=network-pre.target),
    C(WantedBy=sysinit.target)), and drop-ins
    C(/etc/systemd/system/<unit>.d/50-portguard.conf) for C(nftables.service),
    C(netfilter-persistent.service), C(ufw.service) and C(firewalld.service) that load it
    again after the unit starts, stops or (for C(nftables.service) and C(firewalld.service),
    which have a reload of their own) reloads. They are written whether or not the unit is
    installed, so a firewall installed later is covered too.
  - Changes only what differs. The files are compared with what is on disk (text, mode
    C(0644), owner), the table with the kernel's (C(nft -j list table inet portguard)), that is
    the digest of the file in the first rule's comment, every rule's comment and verdict, and
    the chain's hook, priority and policy. C(systemctl daemon-reload) runs only when a unit file
    changed.
  - Commands run from argument lists, never through a shell, with C(LC_ALL=C).
options:
  rules:
    description:
      - The ports to close, one rule per port and protocol; usually the controller's plan.
        Each rule is a mapping with these keys.
      - C(port) (int, required), 1 to 65535.
      - C(protocol) (str, required), V(tcp) or V(udp).
      - C(action) (str, required), V(block) closes the port for every source, V(restrict) for
        every source but C(sources).
      - C(sources) (list of str), the IPv4 and IPv6 addresses and CIDR networks a V(restrict)
        rule admits; required and non-empty for V(restrict), absent or empty for V(block).
        An address is written C(192.0.2.10), a network C(192.0.2.0/24) or C(2001:db8::/32). A
        network with host bits set (C(192.0.2.1/24)) is refused, since it could mean the one
        address or the whole network; host names and interface scopes are refused.
        Overlapping networks are merged.
      - C(ids) (list of str), the ids of the policy rules behind this one, shown in the rule's
        comment in the table. Ids that are not 1 to 64 letters, digits or the characters
        C(_.:-) are left out with a warning; ids that do not fit in nft's 128 characters of
        comment are counted (C(+3 more)).
      - C(forwarded) (bool, default V(false)), the port is also forwarded (a published container
        port, or a port forward of the kernel's ruleset), so the rule is written in the table's
        C(forward) chain too, rejecting the packets DNAT'd from that port (C(ct original
        proto-dst)). DNAT'd traffic of other ports is never touched.
      - Any other key, a value of the wrong type, two rules for one port and protocol, and a
        rule on a port O(keep) names fail the module naming the field (C(rules[2].sources[0])),
        every problem at once, and nothing is changed. Values are not converted, so C("8080") is
        not a port.
      - V([]) leaves the table in place with nothing closed.
    type: list
    elements: dict
    default: []
  keep:
    description:
      - Ports that must never be closed, usually the management connection (SSH), as mappings
        of C(port) (int) and C(protocol) (V(tcp) or V(udp)). The module fails, changing
        nothing, if a rule would close one of them, V(restrict) included.
    type: list
    elements: dict
    default: []
  state:
    description:
      - V(present) writes the files, enables the unit and loads the table.
      - V(absent) removes the table from the kernel, the rules file, the unit and the
        drop-ins, and directories of them left empty. On a host where none of them exists it
        changes nothing and needs neither nft nor systemd.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the files, the unit's state and the kernel's table and reports what would
      change; also has nft check the rendered table (C(nft -c)), which changes nothing.
  diff_mode:
    support: full
    details: The rules file before and after.
  platform:
    platforms: linux
requirements:
  - nft (the nftables package); the module refuses to run without it and never installs it.
  - systemd as the init system (PID 1).
  - root (C(become=true)).
notes:
  - The table is loaded again after the admin's firewall units act through systemd. Commands
    run by hand that flush the whole ruleset (C(nft flush ruleset), C(nft -f
    /etc/nftables.conf)) remove it until the next boot, the next start, stop or reload of a
    hooked unit, or the next run of this module.
  - Only the input hook is filtered. Traffic forwarded to containers (for example ports
    published by Docker, which are rewritten to the container's address before routing)
    passes the forward hook and is not closed by this table.
  - C(systemctl stop portguard-nftables) does not remove the table; O(state=absent) does.
seealso:
  - name: nft(8)
    description: The nftables command, its ruleset syntax and hooks.
    link: https://www.netfilter.org/projects/nftables/manpage.html
author:
  - portguard maintainers (@portguard)
"""

EXAMPLES = r"""
- name: Close memcached to all but the application servers, and the admin console to everyone
  portguard.hardening.exposed_ports_nftables:
    rules:
      - port: 8080
        protocol: tcp
        action: block
        ids: [admin-console]
      - port: 11211
        protocol: tcp
        action: restrict
        sources: [192.0.2.0/24, 2001:db8::/32]
        ids: [memcached]
    keep:
      - port: 22
        protocol: tcp
  become: true

- name: Remove the collection's table, unit and drop-ins
  portguard.hardening.exposed_ports_nftables:
    state: absent
  become: true
"""

RETURN = r"""
changed:
  description: Whether anything changed (in check mode, would change).
  returned: always
  type: bool
path:
  description: The rules file.
  returned: always
  type: str
  sample: /etc/portguard/nftables.nft
rules:
  description: How many rules the table holds (V(0) for O(state=absent)).
  returned: always
  type: int
  sample: 2
loaded:
  description:
    - Whether the kernel holds the collection's table as the rules file describes it, when
      the module ends. In check mode nothing changes, so it is the state found.
    - Always V(false) after O(state=absent) (outside check mode).
  returned: always
  type: bool
unit_enabled:
  description: Whether C(portguard-nftables.service) is enabled when the module ends (in check
    mode, as found).
  returned: always
  type: bool
files_changed:
  description: The files written or removed (in check mode, that would be), sorted.
  returned: always
  type: list
  elements: str
  sample:
    - /etc/portguard/nftables.nft
    - /etc/systemd/system/firewalld.service.d/50-portguard.conf
    - /etc/systemd/system/netfilter-persistent.service.d/50-portguard.conf
    - /etc/systemd/system/nftables.service.d/50-portguard.conf
    - /etc/systemd/system/portguard-nftables.service
    - /etc/systemd/system/ufw.service.d/50-portguard.conf
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.portguard.hardening.plugins.module_utils._apply.host import ModuleHost
from ansible_collections.portguard.hardening.plugins.module_utils._apply.nftables import (
    ApplyError,
    apply,
)
from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    PolicyError,
    count_problems,
)

# Where the host's files are; unit tests point it at a temporary tree.
ROOT = "/"


def main():
    # Entries are checked by the module_utils, which name the field (rules[2].port) and
    # report every problem at once.
    module = AnsibleModule(
        argument_spec=dict(
            rules=dict(type="list", elements="dict", default=[]),
            keep=dict(type="list", elements="dict", default=[]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        result, warnings = apply(
            ModuleHost(module, ROOT),
            params["rules"],
            params["keep"],
            params["state"],
            module.check_mode,
        )
    except PolicyError as e:
        module.fail_json(msg=count_problems(e.errors) + "; nothing was changed")
    except (ApplyError, OSError) as e:
        module.fail_json(msg=str(e))
    diff = result.pop("diff")
    for warning in warnings:
        module.warn(warning)
    if module._diff and result["changed"]:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
