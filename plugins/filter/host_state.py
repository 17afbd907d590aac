# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that summarize the role's findings."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portguard.hardening.plugins.module_utils._report import (
    finding_lines,
    summarize,
    unremediated,
)


class FilterModule:
    def filters(self):
        return {
            "exposed_ports_summary": summarize,
            "exposed_ports_lines": finding_lines,
            "exposed_ports_unremediated": unremediated,
        }
