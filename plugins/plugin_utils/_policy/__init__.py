# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exposed-ports policy, on the controller: validate rules, judge listening sockets, plan the
remediation, check it afterwards.

Pure functions over plain data: the sockets of the host read, the user's rules, and a context
(the firewall, the management connection, NFS, the kernel's reach). rules.py holds the
vocabulary and validation, judge.py evaluate() and the plan, reconcile.py reconcile();
firewall_model.py reads firewalld's configuration, baseline.py the approved baseline, and
hoststate.py turns a host read into the context.

Public: builtin_rules, validate_policy, evaluate, reconcile, reach_key and PolicyError.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portguard.hardening.plugins.module_utils._values import PolicyError
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.judge import (
    _disable_units,
    evaluate,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.reconcile import (
    reconcile,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.rules import (
    builtin_rules,
    reach_key,
    validate_policy,
)

__all__ = [
    "PolicyError",
    "_disable_units",
    "builtin_rules",
    "evaluate",
    "reach_key",
    "reconcile",
    "validate_policy",
]
