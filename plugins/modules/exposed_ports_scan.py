#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: exposed_ports_scan
short_description: Probe other hosts' ports from this host, a scanner on another network
version_added: 0.4.0
description:
  - Runs on the task's host - a scanner host, usually reached by C(delegate_to) - and probes the
    O(targets) from there, the way M(portguard.hardening.exposed_ports_probe) probes from the
    controller - the same TCP connects and UDP requests, the same states, the same pacing.
    docs/probe.md lists every byte sent.
  - A target's name is resolved on the scanner. A target that is the scanner itself (a loopback
    address, or an address of its own) is not probed and is listed in RV(unprobed) with why.
  - O(concurrency) and O(rate) are the scanner's totals, shared among the O(parallel) targets
    probed at once; O(budget) is per target.
  - Changes nothing; check mode probes all the same. Fails naming the field of any bad option
    before anything is sent.
  - The role runs it once per scanner host named in C(exposed_ports_probe_from), through its
    action plugin, which builds O(targets) from each host's plan (its listeners and published
    ports, or C(exposed_ports_probe_ports)) when O(hosts) is given instead.
options:
  targets:
    description:
      - The hosts to probe, each C(host) (its inventory name, returned as it is), C(address) (an
        IP address or a name) and C(tcp_ports) and C(udp_ports) (numbers and V(FIRST-LAST)
        ranges; V([]) for none).
      - One of O(targets) and O(hosts) is required.
    type: list
    elements: dict
  hosts:
    description:
      - Inventory hosts whose plan (registered by the role as C(__exposed_ports_planned)) gives
        the ports to probe; the action plugin turns them into O(targets) on the controller.
        Hosts without a plan, with C(exposed_ports_probe=false), or whose own
        C(exposed_ports_probe_from) leaves out O(scanner) are left out, and so is a host whose
        facts set any C(exposed_ports_*) variable (a module on it returned them; its own probe
        task says so). Each host's address, ports and scanners are those its plan checked and
        carries (the role's C(exposed_ports_probe_address), C(exposed_ports_probe_ports) and
        C(exposed_ports_probe_from), wherever they are set), else its C(ansible_host).
    type: list
    elements: str
  ports:
    description:
      - With O(hosts), which ports to probe where a host does not set C(exposed_ports_probe_ports)
        itself - V(listeners), V(all) or a list of ports besides the listeners.
    type: raw
    default: listeners
  scanner:
    description:
      - With O(hosts), the name of the scanner host the task runs on, as the hosts'
        C(exposed_ports_probe_from) names it.
    type: str
  parallel:
    description: Targets probed at once, 1 to 64.
    type: int
    default: 4
  concurrency:
    description: TCP connections (and as many UDP sockets) open at once, all targets together.
    type: int
    default: 256
  rate:
    description:
      - Connection attempts and datagrams per second, all targets together; V(0) for no limit.
    type: float
    default: 2000.0
  timeout:
    description: Seconds to wait for a connect or an answer, 0.01 to 60.
    type: float
    default: 1.0
  budget:
    description: Seconds for each target; ports not probed by then are V(not probed).
    type: float
    default: 120.0
  tries:
    description: Datagrams sent to a silent UDP port, 1 to 10.
    type: int
    default: 2
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
    details: Probing changes nothing, so a check run probes as well.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: portguard.hardening.exposed_ports_probe
author:
  - portguard maintainers (@portguard)
"""

EXAMPLES = r"""
- name: What the scanner host sees of two web servers
  portguard.hardening.exposed_ports_scan:
    targets:
      - host: web1
        address: 192.0.2.10
        tcp_ports: [22, 80, 443]
        udp_ports: [111]
      - host: web2
        address: web2.example.net
        tcp_ports: ["1-1024"]
        udp_ports: []
  delegate_to: scan1
  register: scanned

- name: Every planned host of the batch, from each scanner (as the role does)
  portguard.hardening.exposed_ports_scan:
    hosts: "{{ ansible_play_batch }}"
  delegate_to: "{{ item }}"
  loop: "{{ groups['portguard_scanners'] }}"
  run_once: true
"""

RETURN = r"""
probes:
  description:
    - One per target probed, as M(portguard.hardening.exposed_ports_probe) returns its C(probe)
      (C(address), C(tcp), C(udp), C(counts), C(elapsed), C(sent), C(settings), C(notes),
      C(errors)), with C(host) (the target's C(host)) and C(source) (the scanner's own address
      toward it, or null).
  returned: always
  type: list
  elements: dict
unprobed:
  description: The targets not probed, each C(host), C(address) and C(why).
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.portguard.hardening.plugins.module_utils._probe.scan import (
    DEFAULTS,
    ProbeError,
)
from ansible_collections.portguard.hardening.plugins.module_utils._probe.scanner import scan

ARGUMENT_SPEC = dict(
    targets=dict(type="list", elements="dict"),
    hosts=dict(type="list", elements="str"),
    ports=dict(type="raw", default="listeners"),
    scanner=dict(type="str"),
    parallel=dict(type="int", default=4),
    concurrency=dict(type="int", default=DEFAULTS["concurrency"]),
    rate=dict(type="float", default=float(DEFAULTS["rate"])),
    timeout=dict(type="float", default=float(DEFAULTS["timeout"])),
    budget=dict(type="float", default=float(DEFAULTS["budget"])),
    tries=dict(type="int", default=DEFAULTS["tries"]),
)
SETTINGS = ("concurrency", "rate", "timeout", "budget", "tries")


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        required_one_of=[("targets", "hosts")],
        supports_check_mode=True,
    )
    if module.params["targets"] is None:
        module.fail_json(
            msg="hosts: the plans are read on the controller; run this module through its "
            "action plugin (portguard.hardening.exposed_ports_scan), or give targets; "
            "nothing was sent"
        )
    settings = dict((name, module.params[name]) for name in SETTINGS)
    try:
        probes, unprobed = scan(
            module.params["targets"], settings, parallel=module.params["parallel"]
        )
    except ProbeError as exc:
        module.fail_json(msg="; ".join(exc.errors) + "; nothing was sent", errors=exc.errors)
    module.exit_json(changed=False, probes=probes, unprobed=unprobed)


if __name__ == "__main__":
    main()
