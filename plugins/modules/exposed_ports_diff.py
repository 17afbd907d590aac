#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: exposed_ports_diff
short_description: Show what the exposed_ports role's remediation changes, as a diff
version_added: 0.1.0
description:
  - Runs on the controller. Given the findings of the P(portguard.hardening.exposed_ports#role)
    role, reports C(changed) when remediation changes the host on this run (in check mode, would
    change it) and, in diff mode, shows each finding's exposure now and after remediation.
  - A finding that is not open (kept, remediated) or only reported is no change. Given
    O(firewall), neither is a C(block) or C(restrict) the run cannot carry out, with firewalld
    absent and O(firewall_install=false), firewalld stopped and O(firewall_enable=false), or
    every rule of the port already in the zone the role writes to. The diff then shows the
    exposure as it stays, with the reason.
  - Used by the role; it changes nothing itself.
options:
  findings:
    description: The role's findings.
    type: list
    elements: dict
    required: true
  firewall:
    description:
      - The host's firewall as the policy reads it (the C(firewall) of the
        M(portguard.hardening.exposed_ports_context) action's context), with C(state),
        C(default_zone) and C(zones), each with its C(name) and C(rich_rules).
      - Without it, every open C(block) and C(restrict) counts as a change.
    type: dict
  rich_rules:
    description: The plan's rich rules (C(plan.rich_rules) of the role's evaluation).
    type: list
    elements: str
    default: []
  firewall_zone:
    description: The zone the role writes to; empty means firewalld's default zone.
    type: str
    default: ""
  firewall_install:
    description: Whether the role may install firewalld (C(exposed_ports_firewall_install)).
    type: bool
    default: false
  firewall_enable:
    description: Whether the role may start firewalld (C(exposed_ports_firewall_enable)).
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: all
author:
  - portguard maintainers (@portguard)
"""

EXAMPLES = r"""
- name: Show what remediation changes
  portguard.hardening.exposed_ports_diff:
    findings: "{{ __exposed_ports_result.findings }}"
    firewall: "{{ __exposed_ports_context.firewall }}"
    rich_rules: "{{ __exposed_ports_result.plan.rich_rules }}"
  diff: true
"""

RETURN = r"""
diff:
  description: Exposure of each finding now and after remediation, one line each.
  returned: in diff mode
  type: dict
"""
