# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's variables are the operator's, never the host's.

Ansible keeps what a module on a host returns under ``ansible_facts`` as the host's facts, and
makes each fact a variable of that host, above the role's defaults and the inventory's host and
group variables. A host whose modules lie (any host can: it runs their code) could so set its own
``exposed_ports_rules``, ``exposed_ports_probe: false``, or an ``exposed_ports_probe_address``
that sends the probes to somebody else. ``set_fact`` does not write ``ansible_facts``; a name
there came from a module, from ``set_fact`` with ``cacheable``, or from the fact cache of an
earlier run (which keeps what a module returned then).

Public: set_by_host, refusal.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible_collections.portguard.hardening.plugins.module_utils._values import show

PREFIX = "exposed_ports_"


def set_by_host(values):
    """The role's variables (exposed_ports_*) among the facts in ``values`` (a host's task
    variables or its hostvars), sorted; [] when none."""
    facts = values.get("ansible_facts") if isinstance(values, Mapping) else None
    if not isinstance(facts, Mapping):
        return []
    return sorted(k for k in facts if isinstance(k, str) and k.startswith(PREFIX))


def refusal(names):
    """Why a host whose facts set ``names`` is refused, as a sentence."""
    shown = ", ".join(show(name) for name in names[:5])
    if len(names) > 5:
        shown += " and %d more" % (len(names) - 5)
    return (
        "the host's facts set %s: the role's variables are the operator's, not the host's (a "
        "module on the host returned them, or set_fact with cacheable, or the fact cache of an "
        "earlier run holds them); set them in the inventory, the play or a plain set_fact, and "
        "clear cached facts with --flush-cache" % shown
    )
