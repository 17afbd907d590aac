# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exposed_ports_plan action's errors: the policy's problems come first, before the baseline
file and before anything the host returned, and each names its host."""

import os
import sys
from types import SimpleNamespace

import pytest
import support
from ansible.errors import AnsibleActionFail

BAD_RULES = [
    {"id": "db", "match": {"ports": [70000]}, "action": "block"},
    {"id": "no-action", "match": {"ports": [80]}},
]


def plan(host="web1", **args):
    return support.run_action(
        "exposed_ports_plan", dict({"read": {}}, **args), task_vars={"inventory_hostname": host}
    )


def test_the_policy_is_checked_before_the_baseline_and_the_read(tmp_path):
    # The host name cannot name a baseline file and the read is empty: the policy speaks first.
    with pytest.raises(AnsibleActionFail) as raised:
        plan("../x", rules=BAD_RULES, baseline_dir=str(tmp_path))
    assert str(raised.value) == (
        "'../x': 2 problems: rule 'db': match.ports: 70000 is not a port (1-65535); "
        "rule 'no-action': action is required (one of allow, block, disable, report, restrict)"
    )


def test_a_bad_default_action_names_the_host():
    with pytest.raises(AnsibleActionFail) as raised:
        plan(default_action="disable")
    assert str(raised.value).startswith("'web1': 1 problem: default_action 'disable' cannot be")


def test_a_baseline_problem_is_the_baselines_not_the_hosts(tmp_path):
    with pytest.raises(AnsibleActionFail) as raised:
        plan("../x", baseline_dir=str(tmp_path))
    message = str(raised.value)
    assert message.startswith("exposed_ports_baseline: inventory host '../x' cannot name a file")
    assert "cannot plan from what the host returned" not in message


INVENTORY = {"all": ["web1", "scan1", "scan2"]}


def test_the_probe_settings_are_checked_and_carried():
    from ansible_collections.portguard.hardening.plugins.action.exposed_ports_plan import (
        probe_settings,
    )

    args = {"probe": True, "probe_address": "", "probe_ports": "listeners"}
    assert probe_settings(dict(args, probe_from="scan1"), INVENTORY["all"]) == {
        "enabled": True,
        "here": False,
        "scanners": ["scan1"],
        "address": "",
        "ports": "listeners",
        "addresses": "host",
        "networks": [],
        # The probe's own defaults where the variables are left out.
        "settings": {"concurrency": 256, "rate": 2000, "timeout": 1.0, "budget": 120.0, "tries": 2},
    }
    paced = probe_settings(
        dict(
            args,
            probe_from="controller",
            probe_addresses="global",
            probe_networks=["192.0.2.0/24"],
            probe_timeout=0.5,
            probe_tries=3,
        ),
        [],
    )
    assert (paced["addresses"], paced["networks"]) == ("global", ["192.0.2.0/24"])
    assert (paced["settings"]["timeout"], paced["settings"]["tries"]) == (0.5, 3)
    both = probe_settings(dict(args, probe_from=["controller", "scan2", "scan2"]), ["scan2"])
    assert (both["here"], both["scanners"]) == (True, ["scan2"])


@pytest.mark.parametrize(
    "probe_from, message",
    [
        (
            {"controller": 1},
            "'web1': 1 problem: exposed_ports_probe_from: expected a host name or a list of "
            "them, got a mapping",
        ),
        (
            ["controler", 7, "scan1", ""],
            "'web1': 3 problems: exposed_ports_probe_from[0]: 'controler' is neither controller "
            "nor a host of the inventory; exposed_ports_probe_from[1]: expected a host name, got "
            "7; exposed_ports_probe_from[3]: expected a host name, got ''",
        ),
        (None, "exposed_ports_probe_from: expected a host name or a list of them, got None"),
    ],
)
def test_bad_probe_settings_fail_before_anything_changes(probe_from, message):
    with pytest.raises(AnsibleActionFail) as raised:
        support.run_action(
            "exposed_ports_plan",
            {"read": {}, "probe_from": probe_from},
            task_vars={"inventory_hostname": "web1", "groups": INVENTORY},
        )
    assert message in str(raised.value)


def test_bad_probe_ports_fail_before_anything_changes():
    with pytest.raises(AnsibleActionFail) as raised:
        plan(probe_ports="some")
    assert str(raised.value) == (
        "'web1': 1 problem: exposed_ports_probe_ports: 'some' is not listeners, all or a list "
        "of ports"
    )


def test_bad_pacing_addresses_and_networks_fail_together_before_anything_changes():
    with pytest.raises(AnsibleActionFail) as raised:
        plan(
            probe_timeout=0,
            probe_tries=11,
            probe_rate=-1.0,
            probe_addresses="every",
            probe_networks=["192.0.2.0/24", "lan"],
            probe_ports=[80, "x/udp"],
        )
    assert str(raised.value) == (
        "'web1': 6 problems: exposed_ports_probe_ports[1]: 'x/udp' is not a port (80) or a "
        "port label (53/udp); exposed_ports_probe_addresses: expected one of host, global, got "
        "'every'; exposed_ports_probe_networks[1]: 'lan' is not a network (CIDR); "
        "exposed_ports_probe_rate: expected a number from 0 to 1000000 (attempts per second, 0 "
        "for no limit), got -1.0; exposed_ports_probe_timeout: expected a number from 0.01 to "
        "60 (seconds to wait for each answer), got 0.0; exposed_ports_probe_tries: expected an "
        "integer from 1 to 10 (datagrams sent to a silent UDP port), got 11"
    )


@pytest.mark.parametrize("findings", [None, []])
def test_role_variables_in_the_hosts_own_facts_are_refused(findings):
    """A module on the host returned exposed_ports_* facts, which would override the role's
    defaults and the inventory: the plan refuses the host, and its verify as well."""
    facts = {"exposed_ports_rules": [], "exposed_ports_probe_address": "198.51.100.99", "x": 1}
    with pytest.raises(AnsibleActionFail) as raised:
        support.run_action(
            "exposed_ports_plan",
            {"read": {}, "findings": findings},
            task_vars={"inventory_hostname": "web1", "ansible_facts": facts},
        )
    done = "nothing was changed" if findings is None else "this run's changes are not verified"
    assert str(raised.value) == (
        "'web1': the host's facts set 'exposed_ports_probe_address', 'exposed_ports_rules': "
        "the role's variables are the operator's, not the host's (a module on the host "
        "returned them, or set_fact with cacheable, or the fact cache of an earlier run holds "
        "them); set them in the inventory, the play or a plain set_fact, and clear cached "
        f"facts with --flush-cache; {done}"
    )


def test_documentation_matches_the_argument_spec():
    from ansible_collections.portguard.hardening.plugins.action import exposed_ports_plan as action
    from ansible_collections.portguard.hardening.plugins.modules import exposed_ports_plan as module

    support.assert_documented(
        module.DOCUMENTATION,
        module.EXAMPLES,
        action.ARGUMENT_SPEC,
        "portguard.hardening.exposed_ports_plan",
    )


class Host:
    """The host as the plan action's own read finds it: what exposed_ports_read answers, and
    each module run on it."""

    def __init__(self, answer):
        self.answer = answer
        self.runs = []

    def execute(self, action, module_name, module_args, task_vars):
        self.runs.append((module_name, module_args))
        return dict(self.answer)


@pytest.fixture
def host(monkeypatch):
    from ansible_collections.portguard.hardening.plugins.action import exposed_ports_plan as action

    def install(answer):
        seen = Host(answer)

        def execute(self, module_name, module_args, task_vars):
            return seen.execute(self, module_name, module_args, task_vars)

        monkeypatch.setattr(action.ActionModule, "_execute_module", execute)
        monkeypatch.setattr(action.ActionModule, "_remove_tmp_path", lambda self, path: None)
        return seen

    return install


def test_without_a_read_the_action_reads_the_host_once(host):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "plugin_utils", "_plan"))
    from hostreads import host_read

    read = dict(host_read("ufw"), invocation={"module_args": {}})
    seen = host(read)
    result = support.run_action(
        "exposed_ports_plan",
        {"rules": [{"id": "web", "match": {"ports": [80]}, "action": "allow"}]},
        check_mode=True,
        task_vars={"inventory_hostname": "web1"},
        play_context=SimpleNamespace(check_mode=True),
    )
    assert seen.runs == [("portguard.hardening.exposed_ports_read", {})]
    plan = result["plan"]
    assert plan["check_mode"] is True
    assert plan["host"] == {"pkg_mgr": read["host"]["pkg_mgr"]}
    # The round trip shows as the module's own does.
    assert result["invocation"] == {"module_args": {}}
    assert {f["port"] for f in plan["findings"]} and 80 not in {f["port"] for f in plan["findings"]}


def test_a_failed_read_is_the_task_s_failure_as_the_module_gave_it(host):
    seen = host({"failed": True, "msg": "python3 not found", "rc": 127, "ansible_facts": {"x": 1}})
    result = support.run_action("exposed_ports_plan", {}, task_vars={"inventory_hostname": "web1"})
    assert {k: result[k] for k in ("failed", "msg", "rc")} == {
        "failed": True,
        "msg": "python3 not found",
        "rc": 127,
    }
    assert "plan" not in result and "ansible_facts" not in result
    assert len(seen.runs) == 1


def test_a_bad_policy_costs_no_round_trip(host):
    seen = host({"failed": True, "msg": "must not run"})
    with pytest.raises(AnsibleActionFail):
        support.run_action(
            "exposed_ports_plan", {"rules": BAD_RULES}, task_vars={"inventory_hostname": "web1"}
        )
    assert seen.runs == []


def test_the_role_s_variables_are_checked_against_its_argument_spec_first(host):
    """The playbooks import the role without its own check of the variables: the plan makes
    it, with the same message, before the policy and before any round trip."""
    seen = host({"failed": True, "msg": "must not run"})
    result = support.run_action(
        "exposed_ports_plan",
        # As the role passes them: the same values in the task's typed options.
        {"rules": BAD_RULES, "probe_tries": "two", "probe_addresses": "every"},
        task_vars={
            "inventory_hostname": "web1",
            "exposed_ports_probe_tries": "two",
            "exposed_ports_probe_addresses": "every",
            "exposed_ports_rules": BAD_RULES,
        },
    )
    assert result["failed"] is True
    assert result["msg"].startswith("Validation of arguments failed:\n")
    # ansible-core's own words, which vary by version for a type (2.16: "of type <class 'str'>").
    tries, addresses = result["argument_errors"]
    assert tries.startswith("argument 'exposed_ports_probe_tries' is of type ")
    assert "unable to convert to int" in tries
    assert addresses == (
        "value of exposed_ports_probe_addresses must be one of: host, global, got: every"
    )
    assert result["msg"] == "Validation of arguments failed:\n" + "\n".join(
        result["argument_errors"]
    )
    assert seen.runs == []


def test_good_role_variables_pass_the_argument_spec():
    from ansible_collections.portguard.hardening.plugins.action.exposed_ports_plan import (
        role_variable_errors,
    )

    assert role_variable_errors({"exposed_ports_probe_tries": 3, "other": object()}) == []
