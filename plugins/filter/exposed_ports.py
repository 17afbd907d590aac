# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the exposed_ports policy; the work is in plugin_utils/_policy/.

Documentation: exposed_ports_<name>.yml next to this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

from ansible.errors import AnsibleFilterError
from ansible_collections.portguard.hardening.plugins.module_utils._values import count_problems
from ansible_collections.portguard.hardening.plugins.plugin_utils._filenames import (
    HostFileNameError,
    host_file_path,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy import (
    PolicyError,
    builtin_rules,
    evaluate,
    reconcile,
    validate_policy,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.baseline import (
    BaselineError,
    baseline_document,
    validate_baseline,
)


def _failure(name, errors):
    return AnsibleFilterError(f"{name}: {count_problems(errors)}")


def exposed_ports_validate(rules, default_action="report"):
    """True when the rules and default action are valid; raises with every problem otherwise."""
    errors = validate_policy(rules, default_action)
    if errors:
        raise _failure("exposed_ports_validate", errors)
    return True


def exposed_ports_builtin_rules(_input=None):
    """The built-in rules; the input is ignored."""
    return builtin_rules()


def exposed_ports_evaluate(
    sockets, rules=None, default_action="report", use_builtin=True, context=None, baseline=None
):
    """Findings, allowed and compliant sockets, the plan and a summary; see _policy.evaluate."""
    try:
        return evaluate(sockets, rules, default_action, use_builtin, context, baseline)
    except PolicyError as exc:
        raise _failure("exposed_ports_evaluate", exc.errors) from None


def exposed_ports_reconcile(findings, sockets_after, firewall_after=None, context=None):
    """The findings with remediation checked against the state after it."""
    try:
        return reconcile(findings, sockets_after, firewall_after, context)
    except PolicyError as exc:
        raise _failure("exposed_ports_reconcile", exc.errors) from None


def exposed_ports_baseline_document(sockets, host, recorded_at):
    """The host's approved listeners as a baseline document; see _baseline.baseline_document."""
    try:
        return baseline_document(host, sockets, recorded_at)
    except BaselineError as exc:
        raise _failure("exposed_ports_baseline_document", exc.errors) from None


def exposed_ports_baseline_path(host, directory):
    """The absolute path of the host's baseline file in ``directory``; raises naming the host."""
    try:
        return host_file_path(directory, host, ".yml")
    except HostFileNameError as exc:
        raise AnsibleFilterError(f"exposed_ports_baseline_path: {exc}") from None


def exposed_ports_baseline_validate(doc):
    """True when the baseline document is valid; raises with every problem otherwise."""
    errors = validate_baseline(doc)
    if errors:
        raise _failure("exposed_ports_baseline_validate", errors)
    return True


class FilterModule:
    """portguard.hardening exposed_ports filters."""

    def filters(self):
        return {
            "exposed_ports_baseline_document": exposed_ports_baseline_document,
            "exposed_ports_baseline_path": exposed_ports_baseline_path,
            "exposed_ports_baseline_validate": exposed_ports_baseline_validate,
            "exposed_ports_builtin_rules": exposed_ports_builtin_rules,
            "exposed_ports_evaluate": exposed_ports_evaluate,
            "exposed_ports_reconcile": exposed_ports_reconcile,
            "exposed_ports_validate": exposed_ports_validate,
        }
