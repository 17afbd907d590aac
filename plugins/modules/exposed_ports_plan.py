#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: exposed_ports_plan
short_description: Plan the exposed-ports remediation of a host from one read of it
version_added: 0.1.0
description:
  - Runs on the controller. Takes one result of M(portguard.hardening.exposed_ports_read) (or
    runs it on the host, when O(read) is left out) and the policy, and returns the host's
    findings, notes and the operations that carry the policy out - the units to stop, disable
    and mask, and the firewall operations of the backend that closes ports on this host.
  - Who reaches each listener is judged from the netfilter ruleset the kernel holds (nftables,
    firewalld, ufw, iptables-nft, iptables-legacy and Docker rules alike), not from one firewall's
    configuration. Where firewalld's configuration and the kernel disagree, a note says so.
  - "The backend: the host's running firewalld (rules in every zone that admits the port), or the
    collection's own nftables table C(inet portguard) beside ufw, nftables.service,
    iptables-persistent or Docker (M(portguard.hardening.exposed_ports_nftables)). firewalld is
    started or installed only on a host with no firewall at all. See docs/firewalls.md."
  - With O(findings), verifies instead - the findings of an earlier plan are checked against this
    read (taken after the operations ran) and each open change becomes C(remediated) or C(failed).
  - Used by the P(portguard.hardening.exposed_ports#role) role; apart from its own read, it never
    contacts the host. changed
    is whether remediation would change anything; with C(--diff) it shows the exposure before and
    after.
  - Fails naming the host and every problem with the policy or the read, changing nothing.
options:
  read:
    description:
      - The registered result of M(portguard.hardening.exposed_ports_read).
      - Left out, the action runs M(portguard.hardening.exposed_ports_read) on the host itself -
        one round trip, in check mode as well, after the policy and the probe settings are
        checked - and plans from its answer (the role does so). A read that fails is the task's
        failure, with the module's message.
    type: dict
  rules:
    description: The policy's rules, C(exposed_ports_rules) of the role.
    type: list
    elements: raw
    default: []
  default_action:
    description: What happens to an exposed listener no rule matches.
    type: str
    default: report
  builtin_rules_enabled:
    description: Whether the built-in rules apply after the user's.
    type: bool
    default: true
  management_ports:
    description: Ports that also count as management ports (V(22), V("53/udp")).
    type: list
    elements: raw
    default: []
  management_units:
    description: System units that serve the management connection and are never disabled.
    type: list
    elements: str
    default: []
  firewall_backend:
    description:
      - V(auto), V(firewalld) or V(nftables); see C(exposed_ports_firewall_backend) of the role.
    type: str
    default: auto
  firewall_zone:
    description: The only firewalld zone to write to; empty means every zone that admits the port.
    type: str
    default: ""
  firewall_install:
    description: Install firewalld on a host with no firewall at all.
    type: bool
    default: false
  firewall_enable:
    description: Start an installed, stopped firewalld on a host with no other firewall.
    type: bool
    default: true
  baseline_dir:
    description:
      - The directory of approved baselines (C(<dir>/<inventory_hostname>.yml)); empty for none.
    type: str
    default: ""
  baseline_max_bytes:
    description: The largest baseline file read, in bytes.
    type: int
    default: 1048576
  findings:
    description: The findings of an earlier plan of this host, to verify against O(read).
    type: list
    elements: dict
  probe:
    description:
      - Whether the host is probed from outside after the plan (the role's C(exposed_ports_probe)).
        This and the other probe options are checked here, before anything changes, and carried
        in RV(plan.probe) for M(portguard.hardening.exposed_ports_probe) and
        M(portguard.hardening.exposed_ports_scan).
    type: bool
    default: true
  probe_from:
    description:
      - Where the probe runs - V(controller), and inventory hosts (scanners); a list, or one name.
        Each name must be V(controller) or a host of the inventory.
    type: raw
    default: [controller]
  probe_address:
    description: The address to probe instead of the host's C(ansible_host); empty for that one.
    type: str
    default: ""
  probe_ports:
    description:
      - V(listeners), V(all), or a list of ports and port labels (C(8443), C(53/udp)) probed besides
        the listeners.
    type: raw
    default: listeners
  probe_addresses:
    description:
      - V(host) probes the host's address only; V(global) also the globally routable addresses the
        host read found, within O(probe_networks).
    type: str
    default: host
  probe_networks:
    description: The networks (CIDR) the host's own addresses must be in to be probed.
    type: list
    elements: str
    default: []
  probe_timeout:
    description: Seconds to wait for each answer (0.01 to 60); left out, 1.
    type: float
  probe_concurrency:
    description: Connection attempts in flight at once (1 to 65535); left out, 256.
    type: int
  probe_rate:
    description: Connection attempts and datagrams per second, V(0) for no cap; left out, 2000.
    type: float
  probe_budget:
    description: Seconds for the whole host (0.1 to 86400); left out, 120.
    type: float
  probe_tries:
    description: Datagrams sent to a silent UDP port (1 to 10); left out, 2.
    type: int
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: >-
      It reads the host (which changes nothing) and computes on the controller; the plan says
      whether the run is a check run.
  diff_mode:
    support: full
  platform:
    platforms: all
author:
  - portguard maintainers (@portguard)
"""

EXAMPLES = r"""
- name: Read the host
  portguard.hardening.exposed_ports_read:
  register: host_read

- name: Plan
  portguard.hardening.exposed_ports_plan:
    read: "{{ host_read }}"
    rules:
      - id: web
        match: {ports: [80, 443]}
        action: allow
  register: planned

- name: Show the backend and what it would close
  ansible.builtin.debug:
    msg: "{{ planned.plan.firewall.backend.name }}: {{ planned.plan.operations }}"

- name: Read and plan in one task, as the role does
  portguard.hardening.exposed_ports_plan:
    rules: []
  check_mode: true
  register: planned
"""

RETURN = r"""
plan:
  description: The plan (not with O(findings)).
  returned: without O(findings)
  type: dict
  contains:
    check_mode:
      description: Whether this is a check run (the role then applies nothing).
      type: bool
    findings:
      description:
        - Exposed listeners that break the policy, as the role reports them, each with
          C(exposed_via) (what admits it, for example the kernel rule) and C(backend) (what closes
          it, or V(null)).
      type: list
      elements: dict
    allowed:
      description: Exposed listeners the policy allows.
      type: list
      elements: dict
    compliant:
      description:
        - Listeners that are as reachable as their rule wants; C(policy_action) says what that rule
          wants (a closed port stays in the collection's table while its rule blocks it).
      type: list
      elements: dict
    summary:
      description: Counts of the findings.
      type: dict
    notes:
      description:
        - What the plan noticed - conflicts, fallbacks, where firewalld and the kernel disagree.
      type: list
      elements: str
    baseline:
      description: Whether a baseline was given and which of its listeners are missing.
      type: dict
    nfs_in_use:
      description: Whether the host serves or mounts NFS.
      type: bool
    firewall:
      description:
        - C(state) is firewalld's (V(running), V(stopped), V(absent)); C(seen) lists each firewall
          found (C(name), C(state), C(why)); C(backend) is C(name) (V(firewalld), V(nftables) or
          V(null)), C(why), C(start), C(install) and C(problem) (why nothing can close ports,
          and what to do).
      type: dict
    operations:
      description:
        - C(units) the units to stop, disable and mask; C(firewalld) (C(install), C(start), C(open),
          C(rules) as C({zone, rule, port}), C(changes)) or C(nftables) (C(rules), every rule of
          the table after this run, C(keep), C(changes)), whichever backend applies, the other
          V(null).
      type: dict
    changes:
      description: Whether remediation would change anything.
      type: bool
    host:
      description: What the firewall's tasks need of the host - C(pkg_mgr), its package manager.
      type: dict
    probe:
      description:
        - Where and how the host is probed, as checked - C(enabled), C(here) (the controller
          probes), C(scanners), C(address), C(ports), C(addresses), C(networks) and C(settings)
          (C(timeout), C(concurrency), C(rate), C(budget), C(tries), defaults filled in).
      type: dict
findings:
  description: With O(findings), the findings checked against O(read).
  returned: with O(findings)
  type: list
  elements: dict
notes:
  description: With O(findings), what the read noticed.
  returned: with O(findings)
  type: list
  elements: str
firewall:
  description:
    - With O(findings), the host's firewalls as this read found them - C(state) (firewalld's)
      and C(seen), as in RV(plan.firewall).
  returned: with O(findings)
  type: dict
"""
