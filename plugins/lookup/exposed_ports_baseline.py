# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lookup: a host's approved baseline, read safely from the baseline directory."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: exposed_ports_baseline
author: portguard maintainers (@portguard)
version_added: 0.1.0
short_description: Read and check the approved baseline of a host
description:
  - Reads C(<dir>/<host>.yml), the file the C(portguard.hardening.baseline) playbook
    wrote for an inventory host, checks it as
    P(portguard.hardening.exposed_ports_baseline_validate#filter) does and returns the document.
  - The host name must be usable as a file name in O(dir) as it is. A name with C(/) or C(\),
    a control or invisible character (NUL, ESC, a line break, a bidirectional override), a
    leading C(.) (so C(.) and C(..) too), or over 255 bytes with C(.yml) is an error naming the
    host. FQDNs and IPv4 and IPv6 addresses (C(2001:db8::1)) are used as they are.
  - The file is read as untrusted text. It must be a regular file of at most O(max_bytes)
    bytes, UTF-8, one YAML document of plain mappings, lists and scalars nested at most 8 deep.
    YAML anchors and aliases are refused before anything is built from the file, so an alias
    bomb (a few hundred bytes that expand to millions of entries) fails at once.
  - Each error names the file or the host and says what is wrong.
options:
  _terms:
    description: The inventory host name, one; usually C(inventory_hostname).
    type: list
    elements: str
    required: true
  dir:
    description:
      - The baseline directory. A relative path is taken from the directory ansible-playbook is
        run in.
    type: str
    required: true
  max_bytes:
    description: The largest baseline file accepted, in bytes. 1 MiB holds about 15,000 listeners.
    type: int
    default: 1048576
seealso:
  - plugin: portguard.hardening.exposed_ports_baseline_validate
    plugin_type: filter
  - plugin: portguard.hardening.exposed_ports_baseline_path
    plugin_type: filter
  - plugin: portguard.hardening.exposed_ports_evaluate
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Read the approved baseline of the host
  ansible.builtin.set_fact:
    approved: >-
      {{ lookup('portguard.hardening.exposed_ports_baseline', inventory_hostname,
                dir='baselines') }}

- name: Judge the listeners against it
  ansible.builtin.set_fact:
    judged: >-
      {{ ansible_facts.listening_sockets | portguard.hardening.exposed_ports_evaluate(
           [], 'report', true, none, approved.listeners) }}

# A host named "../web" fails with:
# exposed_ports_baseline: inventory host '../web' cannot name a file: the name contains '/', a
# path separator
# An alias bomb fails with:
# exposed_ports_baseline: '/srv/baselines/web.yml' defines the YAML anchor &a at line 1, column 4
"""

RETURN = r"""
_raw:
  description:
    - The baseline document, one element.
    - V(version) is V(1); V(host) the host the file was recorded for; V(recorded_at) a time stamp
      or V(null); V(listeners) a list of C({protocol, port, scope, unit}) entries.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible_collections.portguard.hardening.plugins.module_utils._values import show
from ansible_collections.portguard.hardening.plugins.plugin_utils._baseline_file import (
    BaselineFileError,
    read_baseline,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._filenames import (
    HostFileNameError,
    host_file_path,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.baseline import (
    validate_baseline,
)


def _failure(message):
    return AnsibleLookupError(f"exposed_ports_baseline: {message}")


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if len(terms) != 1:
            raise _failure(f"expected one host name, got {len(terms)}")
        try:
            path = host_file_path(self.get_option("dir"), terms[0], ".yml")
            doc = read_baseline(path, self.get_option("max_bytes"))
        except (HostFileNameError, BaselineFileError) as exc:
            raise _failure(str(exc)) from None
        problems = validate_baseline(doc)
        if problems:
            count = "1 problem" if len(problems) == 1 else f"{len(problems)} problems"
            raise _failure(f"{show(path)}: {count}: " + "; ".join(problems))
        return [doc]
