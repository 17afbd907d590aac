# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ansible-playbook prints of hostile host names: the role's own tasks, run on localhost.

The tasks that print host data (loop labels, the findings, the --diff, the failure message and
the playbooks' report of it) are copied from the role and playbook files, so a change there is
tested here. They run through the real callback, once per result format.
"""

import json
import os
import subprocess
import sys

import pytest
import yaml
from ansible.module_utils.ansible_release import __version__ as core_version

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE_TASKS = os.path.join(REPO, "roles", "exposed_ports", "tasks")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
# From 2.19 on the default callback prints a task's failure message as text ("[ERROR]: Task
# failed: ..."); before, inside the JSON or YAML of the result, where controls are escaped.
FAILURES_AS_TEXT = tuple(int(p) for p in core_version.split(".")[:2]) >= (2, 19)

UNITS = [
    "\x1b]0;title\x07x.service",
    "\x1b[2J.service",
    "\x9b2J.service",
    "\u202eecivres.x",
    "x' 'sshd.service",
    "[a](//evil.io)",
    "![t](http:x).service",
]
# Characters a terminal acts on: C0 (newline, carriage return and tab are the callback's own),
# DEL, C1 and the bidi overrides and isolates.
RAW = set(chr(c) for c in range(0x20) if chr(c) not in "\n\r\t")
RAW |= set(chr(c) for c in range(0x7F, 0xA0))
RAW |= set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _finding(unit, index):
    return {
        "rule": "builtin-admin",
        "reason": "Admin consoles are not for the internet.",
        "protocol": "tcp",
        "family": "ipv4",
        "address": "0.0.0.0",
        "port": 8080 + index,
        "scope": "any",
        "interface": None,
        "processes": ["py\x1b[31m" + str(index)],
        "pids": [100 + index],
        "unit": unit,
        "activated_by": [],
        "policy_action": "disable",
        "action": "disable",
        "status": "open",
        "note": "still listening: " + unit,
        "sources": [],
        "exposure": "everyone",
        "exposed_to": [],
    }


def _flatten(tasks):
    for task in tasks:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _flatten(task.get(key) or [])


def _load(path):
    with open(path) as f:
        return list(_flatten(yaml.safe_load(f)))


def _tasks(path, *names):
    tasks = dict((t["name"], t) for t in _load(path))
    return [tasks[name] for name in names]


def _play_tasks(path, *names):
    with open(path) as f:
        tasks = dict((t["name"], t) for play in yaml.safe_load(f) for t in play.get("tasks", []))
    return [tasks[name] for name in names]


def _label_tasks():
    """A debug task per loop over host names in services.yml and firewalld.yml, with its
    loop_control: a loop over unit names would get the hostile names, the rich rules get hostile
    zone names."""
    looped = [
        (task, "{{ hostile_units }}" if "{{ item }}" in json.dumps(task) else "{{ hostile_zones }}")
        for name in ("services.yml", "firewalld.yml")
        for task in _load(os.path.join(ROLE_TASKS, name))
        # Loops whose items are names, passed whole to the module, or the rules of a zone.
        if "loop" in task and ("{{ item }}" in json.dumps(task) or "item.zone" in json.dumps(task))
    ]
    # The rich rules only: the units go to exposed_ports_units in one call, which returns data
    # and prints nothing of the host (no loop, no label).
    assert len(looped) == 1
    assert looped[0][1] == "{{ hostile_zones }}"
    (units_task,) = _load(os.path.join(ROLE_TASKS, "services.yml"))
    assert "loop" not in units_task
    assert units_task["portguard.hardening.exposed_ports_units"] == {
        "units": "{{ __exposed_ports_ops.units }}",
        "keep": "{{ exposed_ports_management_units }}",
    }
    return [
        {
            "name": "label of: " + task["name"],
            "ansible.builtin.debug": {"msg": "looped"},
            "loop": items,
            "loop_control": task.get("loop_control", {}),
        }
        for task, items in looped
    ]


def _hostile_read():
    """An exposed_ports_read result whose listeners are held by units with hostile names."""
    sockets = [
        {
            "protocol": "tcp",
            "family": "ipv4",
            "address": "0.0.0.0",
            "port": 8080 + index,
            "interface": None,
            "scope": "global",
            "v6only": None,
            "holders": "process",
            "processes": [{"pid": 100 + index, "name": "py\x1b[31m" + str(index)}],
            "unit": unit,
            "unit_verified": False,
            "activated_by": [],
        }
        for index, unit in enumerate(UNITS)
    ]
    host = {
        "version": 1,
        "units": {},
        "tools": {"nft": "/usr/sbin/nft"},
        "ruleset": {"nft": json.dumps({"nftables": []})},
        "interfaces": [{"ifname": "eth0", "addr_info": [{"local": "10.0.0.5", "prefixlen": 24}]}],
        "errors": [],
    }
    meta = {"systemd": {"socket_units": []}}
    return {"listening_sockets": sockets, "listening_sockets_meta": meta, "host": host}


def _playbook():
    (diff_task,) = _tasks(
        os.path.join(ROLE_TASKS, "evaluate.yml"),
        "Judge every exposed listener and plan what remediation does",
    )
    # The hostile read stands in for the one the task makes on a host.
    diff_task["portguard.hardening.exposed_ports_plan"]["read"] = "{{ __exposed_ports_read }}"
    # The findings shown and, when harden left some, shown again and failed on (a block).
    (shown,) = _tasks(
        os.path.join(ROLE_TASKS, "report.yml"),
        "Show the findings and check that harden fixed them",
    )
    (record,) = _tasks(
        os.path.join(REPO, "playbooks", "tasks", "host.yml"),
        "Record the failure with whatever report the host has",
    )
    (final,) = _play_tasks(
        os.path.join(REPO, "playbooks", "report.yml"),
        "Fail when a host could not be reached or its run failed"
        " (unless exposed_ports_report_only)",
    )
    # The report play's failure, given what the fleet report returns for this one host.
    fleet = {
        "summary": {"unreachable": 0, "failed": 1},
        "not_ok": [
            {
                "host": "{{ inventory_hostname }}",
                "state": "failed",
                "error": "{{ portguard_fleet_entry.error }}",
            }
        ],
    }
    reported = dict(final, vars=dict(final["vars"], __portguard_fleet=fleet))
    control = {
        # Printed raw on purpose: shows that this run would catch a raw byte.
        "name": "control",
        "ansible.builtin.debug": {"msg": "looped"},
        "loop": ["CONTROL\x1b[0m"],
    }
    # A module failing with a message that quotes host data (Ansible prints that one raw), then
    # the playbooks' record of it and the report play's failure naming the host and the error.
    module_failure = {
        "block": [
            {
                "name": "module failure",
                "ansible.builtin.fail": {"msg": "CONTROL no unit {{ hostile_units[1] }}"},
            }
        ],
        "rescue": [record, dict(reported, ignore_errors=True)],
    }
    return [
        {
            "name": "Terminal output of hostile names",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars": {
                "__exposed_ports_check_mode": False,
                "exposed_ports_fail_on_unremediated": True,
                "exposed_ports_firewall_enable": False,
                "exposed_ports_firewall_install": False,
                "exposed_ports_firewall_zone": "",
                "exposed_ports_firewall_backend": "auto",
                # Every hostile listener is closed, so each shows in the --diff's after lines.
                "exposed_ports_rules": [
                    {"id": "admin", "match": {"ports": ["8080-8086"]}, "action": "block"}
                ],
                "exposed_ports_default_action": "report",
                "exposed_ports_builtin_rules_enabled": True,
                "exposed_ports_management_ports": [],
                "exposed_ports_management_units": [],
                "exposed_ports_baseline_dir": "",
                "exposed_ports_baseline_max_bytes": 1048576,
                "exposed_ports_probe": True,
                "exposed_ports_probe_from": ["controller"],
                "exposed_ports_probe_address": "",
                "exposed_ports_probe_ports": "listeners",
                "exposed_ports_probe_addresses": "host",
                "exposed_ports_probe_networks": [],
                "exposed_ports_probe_timeout": 1.0,
                "exposed_ports_probe_concurrency": 256,
                "exposed_ports_probe_rate": 2000,
                "exposed_ports_probe_budget": 120,
                "exposed_ports_probe_tries": 2,
            },
            "tasks": [control, module_failure]
            + _label_tasks()
            + [
                diff_task,
                {"block": [shown], "rescue": [record, reported]},
            ],
        }
    ]


FORMATS = ("json", "yaml")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """{result format: (exit status, stdout)} of the playbook, both runs started at once."""
    base = tmp_path_factory.mktemp("terminal")
    namespace = base / "ansible_collections" / "portguard"
    namespace.mkdir(parents=True)
    (namespace / "hardening").symlink_to(REPO)
    findings = [_finding(unit, i) for i, unit in enumerate(UNITS)]
    (base / "play.yml").write_text(yaml.safe_dump(_playbook()))
    (base / "vars.json").write_text(
        json.dumps(
            {
                "hostile_units": UNITS,
                "hostile_zones": [{"zone": unit, "rule": "rule"} for unit in UNITS],
                "__exposed_ports_read": _hostile_read(),
                "__exposed_ports_result": {
                    "findings": findings,
                    "firewall": {"backend": {"problem": None}},
                },
                "exposed_ports_report": {"findings": findings},
            }
        )
    )
    (base / "ansible.cfg").write_text("[defaults]\n")
    runs = {}
    for result_format in FORMATS:
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith("ANSIBLE_"))
        env.update(
            ANSIBLE_COLLECTIONS_PATH=str(base),
            ANSIBLE_CONFIG=str(base / "ansible.cfg"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
            ANSIBLE_CALLBACK_RESULT_FORMAT=result_format,
            ANSIBLE_LOCALHOST_WARNING="0",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
            ANSIBLE_LOCAL_TEMP=str(base / ("tmp-" + result_format)),
        )
        runs[result_format] = subprocess.Popen(
            [ANSIBLE_PLAYBOOK, "-i", "localhost,", "--diff", "-e", "@vars.json", "play.yml"],
            cwd=str(base),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    outputs = {}
    for result_format, run in runs.items():
        out = run.communicate(timeout=120)[0].decode("utf-8")
        outputs[result_format] = (run.returncode, out)
    return outputs


@pytest.mark.parametrize("result_format", FORMATS)
def test_no_raw_control_character_reaches_the_terminal(outputs, result_format):
    returncode, out = outputs[result_format]
    assert returncode == 2, out
    lines = out.splitlines()
    raw = [line for line in lines if set(line) & RAW]
    assert raw[0].startswith("ok: [localhost] => (item=CONTROL\x1b[0m)")
    if not FAILURES_AS_TEXT:
        assert len(raw) == 1
        for shown in ("\\x1b]0;title\\x07x.service", "\\x9b2J.service", "\\u202eecivres.x"):
            assert sum("(item=%s" % shown in line for line in lines) == 1
        return
    assert len(raw) == 2
    assert raw[1] == "[ERROR]: Task failed: Action failed: CONTROL no unit \x1b[2J.service"
    reported = "[ERROR]: Task failed: Action failed: 0 unreachable and 1 failed hosts, listed in "
    reported += "the reports: localhost (failed: "
    assert lines.count(reported + "CONTROL no unit \\x1b[2J.service)") == 1
    # Every unit was printed, escaped: as a zone in the rich rules' labels, in the --diff, in the
    # findings shown and in the failure message, raised by the role's check, again by the role
    # once it has shown the findings, and by the report play.
    failures = [line for line in lines if line.startswith("[ERROR]: Task failed: Action failed: n")]
    assert len(failures) == 2 and failures[0] == failures[1]
    failures += [line for line in lines if line.startswith(reported + "not remediated: ")]
    assert len(failures) == 3
    for shown in ("\\x1b]0;title\\x07x.service", "\\x9b2J.service", "\\u202eecivres.x"):
        assert sum("(item=%s" % shown in line for line in lines) == 1
        assert sum(line.startswith("+tcp ") and shown in line for line in lines) == 1
        assert all("(still listening: %s)" % shown in line for line in failures)
        # The findings shown are a JSON or YAML result: wrapped, their backslashes maybe doubled.
        assert "[still listening: %s]" % shown in " ".join(out.split()).replace("\\\\", "\\")
