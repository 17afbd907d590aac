# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's facts cannot set the role's variables: the real audit playbook, run by
ansible-playbook on this machine after a module on the host returned facts that would give the
host its own rules and send the probe elsewhere (any module can: the host runs its code)."""

import json
import os
import subprocess
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
FACTS = {
    "exposed_ports_rules": [{"id": "mine", "match": {"ports": ["1-65535"]}, "action": "allow"}],
    "exposed_ports_probe_address": "198.51.100.99",
    "distribution": "Debian",
}


LIAR = """#!/usr/bin/python
from ansible.module_utils.basic import AnsibleModule

AnsibleModule(argument_spec={}).exit_json(changed=False, ansible_facts=%r)
"""
PLAYBOOK = [
    {
        "name": "A module on the host returns facts",
        "hosts": "liar",
        "gather_facts": False,
        "tasks": [{"name": "Lie", "liar": {}}],
    },
    {"import_playbook": "portguard.hardening.audit"},
]


def test_a_host_that_sets_the_role_variables_in_its_facts_is_refused(tmp_path):
    namespace = tmp_path / "ansible_collections" / "portguard"
    namespace.mkdir(parents=True)
    (namespace / "hardening").symlink_to(REPO)
    (tmp_path / "library").mkdir()
    (tmp_path / "library" / "liar.py").write_text(LIAR % (FACTS,))
    (tmp_path / "play.yml").write_text(yaml.safe_dump(PLAYBOOK))
    (tmp_path / "inventory.yml").write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {
                        "liar": {
                            "ansible_connection": "local",
                            "ansible_python_interpreter": sys.executable,
                        }
                    }
                }
            }
        )
    )
    (tmp_path / "ansible.cfg").write_text("[defaults]\nretry_files_enabled = false\n")
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("ANSIBLE_"))
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(tmp_path),
        ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LIBRARY=str(tmp_path / "library"),
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
    )
    run = subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", "inventory.yml", "play.yml",
         "-e", "exposed_ports_report_dir=" + str(tmp_path / "reports")],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert run.returncode == 2, run.stdout + run.stderr
    with open(tmp_path / "reports" / "fleet.json") as f:
        fleet = json.load(f)
    entry = fleet["hosts"]["liar"]
    assert entry["state"] == "failed"
    assert entry["error"] == (
        "'liar': the host's facts set 'exposed_ports_probe_address', 'exposed_ports_rules': "
        "the role's variables are the operator's, not the host's (a module on the host "
        "returned them, or set_fact with cacheable, or the fact cache of an earlier run holds "
        "them); set them in the inventory, the play or a plain set_fact, and clear cached "
        "facts with --flush-cache; nothing was changed"
    )
    assert entry["findings"] == []
