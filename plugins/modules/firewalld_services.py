#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: firewalld_services
short_description: Resolve firewalld services to the ports they open, includes followed
version_added: 0.1.0
description:
  - Asks the running firewalld (C(firewall-cmd --info-service)) for the ports of each named
    service and of every service it includes, to any depth, so that a zone admitting
    C(samba) is known to admit the ports of C(samba-client) and of C(netbios-ns), which
    C(samba-client) includes, too.
  - Only reads; never changes the firewall.
options:
  names:
    description: The services to resolve, for example the services of every zone.
    type: list
    elements: str
    required: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
requirements:
  - firewalld running on the host (C(firewall-cmd) talks to it over D-Bus).
author:
  - portguard maintainers (@portguard)
"""

EXAMPLES = r"""
- name: Resolve the services of firewalld's zones
  portguard.hardening.firewalld_services:
    names: [ssh, samba, dhcpv6-client]
  register: services

- name: Every port the samba service opens, those of the services it includes too
  ansible.builtin.debug:
    msg: "{{ services.services.samba.all_ports }}"
"""

RETURN = r"""
services:
  description: Each service read, those asked for and those they include.
  returned: always
  type: dict
  sample:
    samba:
      ports: [137/udp, 138/udp, 139/tcp, 445/tcp]
      includes: [samba-client]
      all_ports: [137/udp, 138/udp, 139/tcp, 445/tcp]
    samba-client:
      ports: [138/udp]
      includes: [netbios-ns]
      all_ports: [137/udp, 138/udp]
    netbios-ns:
      ports: [137/udp]
      includes: []
      all_ports: [137/udp]
  contains:
    ports:
      description: The ports the service lists itself, as C(port/protocol) or C(from-to/protocol).
      type: list
      elements: str
    includes:
      description: The services it includes.
      type: list
      elements: str
    all_ports:
      description: Its own ports and those of every service it includes, at any depth.
      type: list
      elements: str
unknown:
  description: Names firewalld does not know, as asked for or included.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.portguard.hardening.plugins.module_utils._firewalld import (
    resolve_services,
)

# firewall-cmd's exit code for a service it does not know (INVALID_SERVICE).
INVALID_SERVICE = 101


def main():
    module = AnsibleModule(
        argument_spec=dict(names=dict(type="list", elements="str", required=True)),
        supports_check_mode=True,
    )
    firewall_cmd = module.get_bin_path("firewall-cmd")
    if not firewall_cmd:
        module.fail_json(msg="firewall-cmd not found: firewalld_services needs firewalld running")

    def read(name):
        rc, out, err = module.run_command(
            [firewall_cmd, "--info-service=%s" % name], environ_update={"LC_ALL": "C"}
        )
        if rc == INVALID_SERVICE:
            return None
        if rc != 0:
            module.fail_json(
                msg="firewall-cmd --info-service=%s failed (rc %d): %s"
                % (name, rc, (err or out).strip()),
                rc=rc,
            )
        return out

    services, unknown = resolve_services(module.params["names"], read)
    module.exit_json(changed=False, services=services, unknown=unknown)


if __name__ == "__main__":
    main()
