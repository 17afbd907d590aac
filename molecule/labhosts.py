"""Lab hosts of the running Molecule scenario, as testinfra host specs.

testinfra's ansible backend starts Ansible for every command (about two seconds each); the lab
hosts are local podman containers, so the podman backend reaches the same hosts directly.
"""

import json
import os
import socket
import subprocess
import xml.etree.ElementTree as ET

from testinfra.utils.ansible_runner import AnsibleRunner


def lab_hosts(pattern="lab"):
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    return ["podman://" + name for name in AnsibleRunner(inventory).get_hosts(pattern)]


def container_address(name):
    """The address podman gave the container now (a restart may change it)."""
    # Only addresses of the scenario's own containers are ever connected to.
    out = subprocess.check_output(["podman", "inspect", name], text=True)
    return json.loads(out)[0]["NetworkSettings"]["IPAddress"]


def tcp_answers(address, port):
    """True when a TCP connection from here to address:port completes within 3 s."""
    try:
        with socket.create_connection((address, port), timeout=3):
            return True
    except OSError:
        return False


def nmap_ports(root):
    """{(protocol, port): state} of one nmap run's XML (an ElementTree root), and the one
    address it scanned."""
    hosts = root.findall("host")
    assert len(hosts) == 1, ET.tostring(root)
    (address,) = [a.get("addr") for a in hosts[0].findall("address") if a.get("addrtype") == "ipv4"]
    states = {
        (p.get("protocol"), int(p.get("portid"))): p.find("state").get("state")
        for p in hosts[0].iter("port")
    }
    return address, states
