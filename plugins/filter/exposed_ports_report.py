# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the findings of an exposed_ports report; the work is in
plugin_utils/_report/findings.py.

Documentation: exposed_ports_<name>.yml next to this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

from ansible.errors import AnsibleFilterError
from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    count_problems,
    show,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.findings import (
    finding_lines,
    findings_errors,
    summarize,
    unremediated,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.host import (
    ReportError,
    fleet_entry,
    host_report,
)


def _checked(name, findings):
    errors = findings_errors(findings)
    if errors:
        raise AnsibleFilterError(f"{name}: {count_problems(errors)}")
    return findings


def exposed_ports_summary(findings):
    """Counts of the findings by status and by action."""
    return summarize(_checked("exposed_ports_summary", findings))


def exposed_ports_lines(findings):
    """One line a person reads per finding."""
    return finding_lines(_checked("exposed_ports_lines", findings))


def exposed_ports_unremediated(findings):
    """The findings that should have been fixed and were not, one line each."""
    return unremediated(_checked("exposed_ports_unremediated", findings))


def exposed_ports_host_report(plan, host, verified=None, probed=None):
    """The role's exposed_ports_report of one host, from the results of its run."""
    try:
        return host_report(plan, host, verified, probed)
    except ReportError as exc:
        raise AnsibleFilterError(f"exposed_ports_host_report: {show(host)}: {exc}") from None


def exposed_ports_fleet_entry(values):
    """One host's record for the fleet reports, from its variables (hostvars[host])."""
    try:
        return fleet_entry(values)
    except ReportError as exc:
        host = values.get("inventory_hostname", "?") if hasattr(values, "get") else "?"
        raise AnsibleFilterError(f"exposed_ports_fleet_entry: {show(host)}: {exc}") from None


class FilterModule:
    """portguard.hardening filters over exposed_ports findings."""

    def filters(self):
        return {
            "exposed_ports_fleet_entry": exposed_ports_fleet_entry,
            "exposed_ports_host_report": exposed_ports_host_report,
            "exposed_ports_lines": exposed_ports_lines,
            "exposed_ports_summary": exposed_ports_summary,
            "exposed_ports_unremediated": exposed_ports_unremediated,
        }
