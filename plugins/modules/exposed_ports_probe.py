#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: exposed_ports_probe
short_description: Probe a host's ports from the controller, as an attacker on its network would
version_added: 0.1.0
description:
  - Runs on the controller, in the controller's process; nothing runs on the host. Connects to the
    host's own address and says what answers there - what the controller's network sees, whatever
    the host's sockets and firewall say.
  - "TCP: one connect per port; the handshake is closed at once and nothing is sent. A port is
    V(open) (connected), V(refused) (reset), V(filtered) (no answer within O(timeout), or an ICMP
    error such as administratively prohibited) or V(not probed) (O(budget) ran out first)."
  - "UDP: a real request for the services known by their port (DNS 53, rpcbind 111, NTP 123,
    NetBIOS name service 137, SNMP 161 with community C(public), mDNS 5353, memcached 11211) and an
    empty datagram to any other port. A port is V(open) only when something answered (with the
    service and a short detail when the answer is recognised), V(closed) when the host sent ICMP
    port unreachable, V(filtered) for other ICMP errors and V(open|filtered) when nothing came back
    after O(tries) datagrams."
  - Attempts are paced to O(rate) per second, at most O(concurrency) at once. docs/probe.md lists
    every byte sent, for intrusion detection.
  - Changes nothing; check mode probes all the same. Fails naming the field of any bad option
    before anything is sent.
options:
  address:
    description:
      - The IP address to probe, or a name resolved on the controller. Default the host's
        C(ansible_host) (or its inventory name). A name with several addresses is probed at the
        first, and a note says so.
    type: str
  tcp_ports:
    description:
      - TCP ports, as numbers and V(FIRST-LAST) ranges; V([]) for none.
      - Default V(["1-65535"]); ignored when O(findings) is given (O(ports) decides).
    type: list
    elements: raw
  udp_ports:
    description:
      - UDP ports, as numbers and V(FIRST-LAST) ranges.
      - Default the ports with a known request (53, 111, 123, 137, 161, 5353, 11211); ignored when
        O(findings) is given.
    type: list
    elements: raw
  findings:
    description:
      - The findings of the role's plan (after harden, as verify left them). Given, the probe
        checks the plan's verdicts, returns them in RV(findings), RV(allowed) and RV(outside), and
        a host whose address cannot be resolved, or a C(local) connection, is not probed (with a
        note) instead of failing.
    type: list
    elements: dict
  allowed:
    description: The plan's allowed listeners, probed and returned with what the probe saw.
    type: list
    elements: dict
    default: []
  compliant:
    description:
      - The plan's compliant listeners; a firewalled one that the probe reaches is a disagreement.
    type: list
    elements: dict
    default: []
  addresses:
    description:
      - More of the host's own addresses to probe besides O(address), each an IP address (the
        role passes the plan's global addresses when C(exposed_ports_probe_addresses=global)).
        Each entry then says what the address that reached it saw, or else the first that
        covered it; RV(outside) lists every address probed.
    type: list
    elements: str
    default: []
  networks:
    description:
      - The networks (CIDR) in which O(addresses) may be probed. An address outside them is not
        probed, and a note names it, since the host reports its own addresses and a hostile one
        could name anybody's.
    type: list
    elements: str
    default: []
  ports:
    description:
      - With O(findings), which ports to probe. V(listeners) the plan's listeners and published
        ports (loopback ones excepted); V(all) every TCP port as well; a list adds those ports
        (V(8443) for TCP and UDP, V(53/udp)).
    type: raw
    default: listeners
  concurrency:
    description: TCP connections (and, as many again, UDP sockets) open at once, 1 to 65535.
    type: int
    default: 256
  rate:
    description:
      - Connection attempts and datagrams per second, both protocols together; V(0) for no limit.
        The whole TCP range takes about 33 s at the default.
    type: float
    default: 2000.0
  timeout:
    description: Seconds to wait for a connect or an answer, 0.01 to 60.
    type: float
    default: 1.0
  budget:
    description: Seconds for the whole host; ports not probed by then are V(not probed).
    type: float
    default: 120.0
  tries:
    description: Datagrams sent to a silent UDP port, 1 to 10.
    type: int
    default: 2
  scanned:
    description:
      - With O(findings), the registered result of a looped, delegated
        M(portguard.hardening.exposed_ports_scan) task (one item per scanner host). Each
        scanner's view of this host is checked against the plan like the controller's own and
        combined with it; an entry is reported as the view that failed it saw it (else the one
        that reached it), and RV(outside) names every prober in C(from). A scanner that failed,
        was unreachable or did not probe the host is named in a note. Each scanner's answer is
        data - one that is not a probe's shape (an address that is no host's, a port or a state
        word the probe does not use) is left out with a note; a second answer for the same host
        is ignored.
    type: dict
  scanners:
    description:
      - With O(scanned), the scanner hosts this host names (its C(exposed_ports_probe_from)
        without C(controller)) - only their items of O(scanned) count, and one missing from it
        is named in a note. Unset, every item counts.
    type: list
    elements: str
  here:
    description:
      - With O(findings), whether the controller probes the host as well. V(false) checks the
        plan against the O(scanned) views only (the role passes V(false) when
        C(exposed_ports_probe_from) leaves out C(controller)).
    type: bool
    default: true
  plan:
    description:
      - The C(plan) of M(portguard.hardening.exposed_ports_plan), as the role passes it. Every
        option but O(scanned) then comes from the plan - the address, ports, pacing and scanners
        it checked (C(plan.probe)), its entries, the findings as O(verified) left them - and
        none of them may be given as well. A plan whose probe is off (C(exposed_ports_probe)
        false) is not probed, with a note.
    type: dict
  verified:
    description:
      - With O(plan), the registered result of verify (M(portguard.hardening.exposed_ports_plan)
        with C(findings)) when this run applied the plan; its findings are the ones checked. Read
        only when the plan was applied (not in check mode, and the plan changes something).
    type: dict
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
    platforms: all
author:
  - portguard maintainers (@portguard)
"""

EXAMPLES = r"""
- name: What the controller sees on the host
  portguard.hardening.exposed_ports_probe:
  register: seen

- name: The open TCP ports
  ansible.builtin.debug:
    msg: "{{ seen.probe.tcp | dict2items | selectattr('value', 'eq', 'open')
             | map(attribute='key') }}"

- name: Check a plan's verdicts from outside, as the role does
  portguard.hardening.exposed_ports_probe:
    plan: "{{ planned.plan }}"
  register: probed

- name: A few ports, gently
  portguard.hardening.exposed_ports_probe:
    address: 192.0.2.10
    tcp_ports: [22, 80, 443, "8000-8100"]
    udp_ports: [111, 161]
    rate: 100
    concurrency: 16
"""

RETURN = r"""
findings:
  description:
    - With O(findings), each finding with C(reachable) (V(yes), V(refused), V(filtered),
      V(open|filtered) or V(not probed)) and C(probe) (C(from), C(address), C(state), C(service)
      for UDP, or null). A finding remediated by the plan that the probe reached is V(failed),
      and its note says so.
  returned: when findings is given
  type: list
  elements: dict
allowed:
  description: With O(findings), the allowed listeners with C(reachable) and C(probe).
  returned: when findings is given
  type: list
  elements: dict
outside:
  description: With O(findings), what the probe says about the plan.
  returned: when findings is given
  type: dict
  contains:
    address:
      description: The address probed; null when none was.
      type: str
    addresses:
      description: Every address probed, O(address) first.
      type: list
      elements: str
    from:
      description:
        - Where the probe came from - V(the controller), V(scanner 'NAME') - every prober,
          comma-separated, when scanner hosts probed as well; null when nothing was probed
          (RV(outside.notes) says why).
      type: str
    source:
      description: The first prober's own address toward the host, when known.
      type: str
    elapsed:
      description: Seconds the probe took.
      type: float
    disagreements:
      description: Where the probe and the plan's model differ, one sentence each.
      type: list
      elements: str
    unexpected:
      description: Ports the probe found open that no listener of the host read explains.
      type: list
      elements: str
    notes:
      description: The probe's notes and errors, and why it did not run.
      type: list
      elements: str
probe:
  description: What the controller's probe found; null when it did not run.
  returned: always
  type: dict
  contains:
    address:
      description: The address probed.
      type: str
    tcp:
      description:
        - Each TCP port (a string) and its state, V(open), V(refused), V(filtered) or
          V(not probed), in port order.
      type: dict
    udp:
      description:
        - Each UDP port (a string) and C(state) (V(open), V(closed), V(open|filtered),
          V(filtered), V(not probed)), C(service) (the service whose answer was recognised, or
          V(null)), C(detail) (plain text from the answer or the reason, at most 120 characters)
          and C(probe) (the request sent - a service name or V(empty datagram)).
      type: dict
    counts:
      description: Ports per state, for C(tcp) and C(udp).
      type: dict
    elapsed:
      description: Seconds the probe took.
      type: float
    sent:
      description: TCP connects started and UDP datagrams sent.
      type: dict
    settings:
      description: The settings the probe ran with.
      type: dict
    notes:
      description: What the probe noticed - a name with several addresses, a lowered concurrency.
      type: list
      elements: str
    errors:
      description:
        - Problems on the controller's side (no descriptors, no source port), each with how many
          ports it hit.
      type: list
      elements: str
"""
