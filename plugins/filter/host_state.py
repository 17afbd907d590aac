# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn what the role read from a host into the policy engine's context."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.portguard.hardening.plugins.module_utils._firewalld import firewall_view
from ansible_collections.portguard.hardening.plugins.module_utils._hoststate import (
    management_ports,
    nfs_usage,
)
from ansible_collections.portguard.hardening.plugins.module_utils._report import (
    finding_lines,
    summarize,
    unremediated,
)


def _management_ports(connection, ssh_connection=None, ansible_port=None, extra=None):
    try:
        return management_ports(connection, ssh_connection, ansible_port, extra)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


def _service_ports(services):
    """{service: [every port it opens]} from firewalld_services' `services`."""
    return dict((name, list(s["all_ports"])) for name, s in (services or {}).items())


class FilterModule:
    def filters(self):
        return {
            "exposed_ports_firewall_view": firewall_view,
            "exposed_ports_service_ports": _service_ports,
            "exposed_ports_management_ports": _management_ports,
            "exposed_ports_nfs_usage": nfs_usage,
            "exposed_ports_summary": summarize,
            "exposed_ports_lines": finding_lines,
            "exposed_ports_unremediated": unremediated,
        }
