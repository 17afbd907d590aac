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
    role, reports C(changed) when remediation changes the host and, in diff mode, shows each
    finding's exposure now and after remediation.
  - Used by the role; it changes nothing itself.
options:
  findings:
    description: The role's findings.
    type: list
    elements: dict
    required: true
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
  diff: true
"""

RETURN = r"""
diff:
  description: Exposure of each finding now and after remediation, one line each.
  returned: in diff mode
  type: dict
"""
