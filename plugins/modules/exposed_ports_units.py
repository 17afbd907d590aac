#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

DOCUMENTATION = r"""
---
module: exposed_ports_units
short_description: Stop, disable and mask the systemd units that open forbidden ports
version_added: 0.1.0
description:
  - Takes down the services the policy disables, and the socket units that would start them
    again, in one module call - usually the controller's plan, the role's
    C(plan.operations.units) (the policy's C(disable_units)).
  - Reads every unit's C(Id), C(ActiveState), C(UnitFileState) and C(LoadState) with one
    C(systemctl show), then changes only what differs, in this order - socket units are
    stopped and disabled first (one C(systemctl disable --now)), so that no packet can start
    their service again; then the services (another); then all of them are masked (one
    C(systemctl mask)), so that neither a dependency nor a reboot brings them back. It reads
    them once more afterwards and fails unless each is inactive (or failed) and masked.
  - A unit is stopped unless its C(ActiveState) is C(inactive) or C(failed), disabled when
    its C(UnitFileState) is C(enabled), and masked unless its C(UnitFileState) is C(masked), as
    M(ansible.builtin.systemd_service) does with C(state=stopped), C(enabled=false) and
    C(masked=true). A unit systemd does not know
    (C(LoadState=not-found)) is only masked, which keeps it from coming back with a package.
  - systemd masks a unit with a link to C(/dev/null) in C(/etc/systemd/system) and refuses when
    the unit's own file is there (C(File ... already exists)). Such a unit is stopped and
    disabled, every other unit masked, and then the module fails naming it, as
    M(ansible.builtin.systemd_service) with C(masked=true) fails on it.
  - Every name is checked before anything runs, and the module fails naming the field
    (C(units[1].socket_units[0])), every problem at once, changing nothing, for a name that
    is not a valid unit name, not a system C(.service) or C(.socket) unit (a user's service
    manager C(user@UID.service) included), listed in O(keep), or an alias of another unit.
  - Commands run from argument lists with C(--) before the unit names, never through a shell,
    with C(LC_ALL=C).
options:
  units:
    description:
      - The units to take down, as the plan lists them. Each is a mapping with these keys.
      - C(unit) (str, required), a system service (or socket) unit, such as C(rpcbind.service).
      - C(socket_units) (list of str), the socket units that start it, such as
        C(rpcbind.socket); default V([]).
      - Any other key (the plan's C(rules) and C(ports)) is ignored.
      - A unit named in several entries, or as a C(unit) and a socket unit, is taken down once.
        Names ending in C(.socket) go first, whichever key lists them.
      - V([]) changes nothing and runs nothing.
    type: list
    elements: dict
    default: []
  keep:
    description:
      - Units that must never be stopped, usually those of the management connection. The
        module fails, changing nothing, if O(units) names one of them.
    type: list
    elements: str
    default: [ssh.service, sshd.service, ssh.socket, sshd.socket]
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the units' states and reports what would change, and fails where systemd
      would refuse a mask; changes nothing.
  diff_mode:
    support: full
    details: One line per unit with its C(ActiveState), C(UnitFileState) and C(LoadState),
      before and after.
  platform:
    platforms: linux
requirements:
  - systemd as the init system (PID 1).
  - root (C(become=true)).
notes:
  - Stopping a unit stops the units that require it, as C(systemctl stop) always does.
  - Disabling a service that also has a SysV init script disables that too (systemd's
    C(systemd-sysv-install)), as C(systemctl disable) always does.
seealso:
  - module: ansible.builtin.systemd_service
  - name: systemctl(1)
    description: The C(disable), C(stop) and C(mask) commands.
    link: https://www.freedesktop.org/software/systemd/man/latest/systemctl.html
author:
  - portguard maintainers (@portguard)
"""

EXAMPLES = r"""
- name: Take down rpcbind, its socket unit and an admin console, never sshd
  portguard.hardening.exposed_ports_units:
    units:
      - unit: rpcbind.service
        socket_units: [rpcbind.socket]
      - unit: lab-admin.service
    keep: [ssh.service, sshd.service, ssh.socket, sshd.socket]
  become: true

- name: Disable what the plan lists
  portguard.hardening.exposed_ports_units:
    units: "{{ planned.plan.operations.units }}"
  become: true
"""

RETURN = r"""
changed:
  description: Whether any unit was stopped, disabled or masked (in check mode, would be).
  returned: always
  type: bool
units:
  description:
    - Every unit named, once, socket units first, each sorted by name.
    - Empty when the module fails midway (RV(commands) says how far it came).
  returned: always
  type: list
  elements: dict
  contains:
    unit:
      description: The unit's name.
      type: str
      sample: rpcbind.socket
    actions:
      description: What was done to it (in check mode, would be), in this order; V([]) when it
        was down already. A mask systemd refuses is not listed.
      type: list
      elements: str
      sample: [stop, disable, mask]
    before:
      description: Its states when the module started, as C(systemctl show) gave them.
      type: dict
      contains:
        active_state:
          description: C(ActiveState).
          type: str
          sample: active
        unit_file_state:
          description: C(UnitFileState); empty for a unit systemd does not know.
          type: str
          sample: enabled
        load_state:
          description: C(LoadState).
          type: str
          sample: loaded
    after:
      description: Its states when the module ended, read again from systemd; in check mode
        the states it would have. The same keys as RV(units[].before).
      type: dict
      sample:
        active_state: inactive
        unit_file_state: masked
        load_state: masked
commands:
  description: Every systemctl command run, as argument lists, in order, the reads
    (C(systemctl show)) included.
  returned: always
  type: list
  elements: list
  sample:
    - [/usr/bin/systemctl, show, --no-pager, -p, Id, -p, ActiveState, -p, UnitFileState, -p,
       LoadState, --, rpcbind.socket, rpcbind.service]
    - [/usr/bin/systemctl, disable, --no-reload, --now, --, rpcbind.socket]
    - [/usr/bin/systemctl, disable, --no-reload, --now, --, rpcbind.service]
    - [/usr/bin/systemctl, mask, --, rpcbind.socket, rpcbind.service]
    - [/usr/bin/systemctl, show, --no-pager, -p, Id, -p, ActiveState, -p, UnitFileState, -p,
       LoadState, --, rpcbind.socket, rpcbind.service]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.portguard.hardening.plugins.module_utils._apply.host import ModuleHost
from ansible_collections.portguard.hardening.plugins.module_utils._apply.units import (
    ApplyError,
    apply,
)
from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    PolicyError,
    count_problems,
)

# Where the host's files are; unit tests point it at a temporary tree.
ROOT = "/"
MANAGEMENT_UNITS = ["ssh.service", "sshd.service", "ssh.socket", "sshd.socket"]


def main():
    # Entries are checked by the module_utils, which name the field (units[1].unit) and
    # report every problem at once.
    module = AnsibleModule(
        argument_spec=dict(
            units=dict(type="list", elements="dict", default=[]),
            keep=dict(type="list", elements="str", default=MANAGEMENT_UNITS),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        result = apply(ModuleHost(module, ROOT), params["units"], params["keep"], module.check_mode)
    except PolicyError as e:
        module.fail_json(msg=count_problems(e.errors) + "; nothing was changed")
    except ApplyError as e:
        found = e.result or {"changed": False, "units": [], "commands": []}
        found.pop("diff", None)
        module.fail_json(msg=str(e), **found)
    diff = result.pop("diff")
    if module._diff and result["changed"]:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
