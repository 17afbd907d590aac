"""Lab hosts of the running Molecule scenario, as testinfra host specs.

testinfra's ansible backend starts Ansible for every command (about two seconds each); the lab
hosts are local podman containers, so the podman backend reaches the same hosts directly.
"""

import os

from testinfra.utils.ansible_runner import AnsibleRunner


def lab_hosts(pattern="lab"):
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    return ["podman://" + name for name in AnsibleRunner(inventory).get_hosts(pattern)]
