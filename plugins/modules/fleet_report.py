#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: fleet_report
short_description: Write the exposed-ports reports of a whole fleet to a directory
version_added: 0.1.0
description:
  - Runs on the controller. Given the C(exposed_ports_report) of every host of a run, and the
    state of the hosts that did not produce one, writes to O(dir) a JSON document of the fleet,
    a Markdown summary, a self-contained HTML page, JUnit XML for CI systems and one JSON file
    per host.
  - C(fleet.json) holds C(version), C(run), C(summary) and C(hosts), a mapping of host names
    (sorted) to their C(state), C(error), C(findings), C(allowed), C(summary), C(firewall) and
    C(nfs_in_use). A host's C(summary) is counted again from its findings, so that every file
    agrees on every count.
  - C(fleet.md) gives a verdict, a table of hosts and a table of findings per host;
    C(fleet.html) a matrix of hosts against the ports of their findings, coloured by status,
    the reason of each rule and the details of each host, without scripts or external
    resources; C(junit.xml) one test suite C(portguard.exposed_ports) with a test case per host
    and rule+port/protocol (the IPv4 and IPv6 sockets of a port are one case), failing for
    open and failed findings, and one erroring case for each unreachable or failed host;
    C(hosts/<host>.json) the host's part of C(fleet.json) with C(host) and C(run) added.
  - Each file is written to a temporary file in the same directory and renamed over the old
    one, and only when its content changes. Files of hosts no longer in the run are left alone.
  - Hosts that are not C(ok) are reported with their error, never left out. Such a host keeps
    its findings when it has a report, as a host whose remediation failed does.
  - Names in findings come from the hosts. The JSON files keep them exact; C(fleet.md),
    C(fleet.html) and C(junit.xml) write control characters out as C(\xNN) or C(\uNNNN) (see
    P(portguard.hardening.terminal_safe#filter)), and C(fleet.md) escapes Markdown syntax in
    them, so no name becomes a link, an image, emphasis, HTML or a new table cell.
options:
  dir:
    description:
      - The directory to write the reports to, on the controller. It is created when missing.
      - A relative path is relative to the directory Ansible runs in; prefer one built from
        C(playbook_dir).
    type: path
    required: true
  hosts:
    description:
      - A mapping of inventory host names to C({state, report, error}).
      - C(state) is V(ok), V(unreachable) or V(failed).
      - C(report) is the host's C(exposed_ports_report) fact, as the
        P(portguard.hardening.exposed_ports#role) role sets it, or V(null) when the host has
        none. An V(ok) host must have one.
      - C(error) is why an V(unreachable) or V(failed) host is so, or V(null). An V(ok) host
        has none.
    type: dict
    required: true
  run:
    description: What was run.
    type: dict
    required: true
    suboptions:
      playbook:
        description: Which playbook ran.
        type: str
        choices: [audit, harden, baseline]
        required: true
      check_mode:
        description: Whether the run was in check mode.
        type: bool
        required: true
      started:
        description: When the run started, as an ISO 8601 time.
        type: str
        required: true
      policy:
        description: The policy in force.
        type: dict
        required: true
        suboptions:
          default_action:
            description: The role's C(exposed_ports_default_action).
            type: str
            required: true
          rules:
            description: The ids of the rules in force, in order.
            type: list
            elements: str
            required: true
  formats:
    description:
      - Which files to write. V(json) is C(fleet.json), V(md) C(fleet.md), V(html)
        C(fleet.html), V(junit) C(junit.xml) and V(host) C(hosts/<host>.json) for every host.
      - The host name is percent-encoded in its file name (every byte but letters, digits and
        C(_.-~); a leading dot too), so C(../x), C(a/b), C(.), C(..) and names with line breaks
        each stay one file in C(hosts/). A name whose encoded form is longer than 250 bytes is
        cut to 200 and ends with C(+) and 16 hex digits of the SHA-256 of the name (C(+) is
        always encoded otherwise). So no inventory name is refused; each has its own file, and
        each host document holds the name as it is. Bytes an INI inventory could not decode as
        UTF-8 are encoded as they came and written in the JSON files as escapes (C(\udcff)).
    type: list
    elements: str
    choices: [json, md, html, junit, host]
    default: [json, md, html, junit, host]
notes:
  - The input is checked completely before anything is written; the error names every offending
    argument, for example C(hosts.web1.state).
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
    details:
      - The reports are written in check mode too, because they are the result of an audit, a
        run with C(--check). They are files on the controller; nothing changes on the hosts.
  diff_mode:
    support: none
  platform:
    platforms: all
author:
  - portguard maintainers (@portguard)
"""

EXAMPLES = r"""
# Tasks of the last play of an audit, on localhost. An earlier play set run_started on localhost;
# the play applying the exposed_ports role ended on every host with
#   ansible.builtin.set_fact:
#     fleet_entry: {state: ok, report: "{{ exposed_ports_report }}", error: null}
# so a host without fleet_entry failed or was unreachable before the end.
- name: Write the reports
  portguard.hardening.fleet_report:
    dir: "{{ playbook_dir }}/reports"
    run:
      playbook: audit
      check_mode: "{{ ansible_check_mode }}"
      started: "{{ run_started }}"
      policy:
        default_action: report
        rules: [web, builtin-rpcbind]
    hosts: >-
      {{ dict(groups['lab'] | zip(groups['lab'] | map('extract', hostvars)
              | map(attribute='fleet_entry', default=missing))) }}
  vars:
    missing: {state: failed, report: null, error: the host did not finish the audit}
  register: fleet

- name: Show the verdict
  ansible.builtin.debug:
    msg: "{{ fleet.summary.open }} open findings; see {{ fleet.files[1] }}"
"""

RETURN = r"""
files:
  description: Absolute paths of the files the reports are in, whether rewritten or unchanged.
  returned: success
  type: list
  elements: str
  sample:
    - /srv/reports/fleet.json
    - /srv/reports/fleet.md
    - /srv/reports/fleet.html
    - /srv/reports/junit.xml
    - /srv/reports/hosts/web1.json
not_ok:
  description: The hosts that are not C(ok), sorted by name, with their state and error.
  returned: success
  type: list
  elements: dict
  contains:
    host:
      description: The inventory host name.
      type: str
    state:
      description: C(unreachable) or C(failed).
      type: str
    error:
      description: Why, as given in O(hosts).
      type: str
  sample:
    - host: db1
      state: unreachable
      error: "ssh: connect to host db1 port 22: Connection timed out"
summary:
  description: Counts over the fleet, as in C(fleet.json).
  returned: success
  type: dict
  contains:
    hosts:
      description: Hosts in the run.
      type: int
    ok:
      description: Hosts that ran to the end.
      type: int
    unreachable:
      description: Hosts Ansible could not reach.
      type: int
    failed:
      description: Hosts on which a task failed.
      type: int
    open:
      description: Findings exposed now.
      type: int
    remediated:
      description: Findings this run fixed.
      type: int
    kept:
      description: Findings a safety rule kept open.
      type: int
    failed_findings:
      description: Findings still exposed after remediation.
      type: int
    by_action:
      description: Findings by the action taken (C(disable), C(block), C(restrict), C(report)).
      type: dict
  sample:
    hosts: 3
    ok: 2
    unreachable: 1
    failed: 0
    open: 3
    remediated: 6
    kept: 1
    failed_findings: 0
    by_action: {block: 2, disable: 7, report: 1}
"""
