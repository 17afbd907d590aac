# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exposed_ports_probe action given the host's plan, as the role runs it: where, how and what
to probe come from the plan's checked settings, the findings from verify when the run applied
the plan. Only loopback is ever probed."""

import pytest
import support
from ansible.errors import AnsibleActionFail
from ansible_collections.portguard.hardening.plugins.action.exposed_ports_probe import from_plan

SETTINGS = {"concurrency": 8, "rate": 0, "timeout": 0.2, "budget": 5.0, "tries": 1}


def entry(port, status="open", action="block"):
    return {"rule": "r", "protocol": "tcp", "family": "ipv4", "address": "0.0.0.0", "port": port,
            "action": action, "status": status, "note": None, "exposure": "everyone",
            "sources": []}  # fmt: skip


def plan(findings, **probe):
    settings = {
        "enabled": True,
        "here": True,
        "scanners": [],
        "address": "127.0.0.1",
        "ports": "listeners",
        "addresses": "host",
        "networks": [],
        "settings": SETTINGS,
    }
    settings.update(probe)
    return {
        "check_mode": False,
        "changes": True,
        "findings": findings,
        "allowed": [],
        "compliant": [],
        "addresses": ["127.0.0.2"],
        "probe": settings,
    }


def run(args, **task_vars):
    task_vars.setdefault("inventory_hostname", "web1")
    return support.run_action("exposed_ports_probe", args, task_vars=task_vars)


@pytest.fixture
def listener():
    yield from support.loopback_listener()


def test_every_option_comes_from_the_plan():
    verified = {"findings": [entry(22, "remediated")]}
    args, enabled = from_plan(
        {"plan": plan([entry(22)], addresses="global", networks=["127.0.0.0/8"], here=False,
                      scanners=["scan1"]),
         "verified": verified, "scanned": {"results": []}},
        {"plan": "...", "verified": "...", "scanned": "..."},
    )  # fmt: skip
    assert enabled is True
    assert {k: args[k] for k in ("address", "ports", "findings", "addresses", "networks")} == {
        "address": "127.0.0.1",
        "ports": "listeners",
        # The run applied the plan: verify's findings are probed, not the plan's.
        "findings": verified["findings"],
        "addresses": ["127.0.0.2"],
        "networks": ["127.0.0.0/8"],
    }
    assert (args["here"], args["scanners"], args["scanned"]) == (False, ["scan1"], {"results": []})
    assert {name: args[name] for name in SETTINGS} == SETTINGS


def test_the_plans_findings_in_check_mode_and_no_scanned_without_scanners():
    checked = dict(plan([entry(22)], address="", addresses="host"), check_mode=True)
    args, _enabled = from_plan({"plan": checked, "verified": None, "scanned": {"results": []}}, {})
    assert args["findings"] == [entry(22)]
    # No address of its own: the host's ansible_host; host addresses only.
    assert (args["address"], args["addresses"], args["scanned"]) == (None, [], None)


@pytest.mark.kernel
def test_the_plan_is_probed_with_its_own_settings(listener):
    result = run({"plan": plan([entry(listener, "remediated")]),
                  "verified": {"findings": [entry(listener, "remediated")]}})  # fmt: skip
    assert [(f["port"], f["reachable"], f["status"]) for f in result["findings"]] == [
        (listener, "yes", "failed")
    ]
    assert result["probe"]["settings"] == SETTINGS
    assert result["outside"]["addresses"] == ["127.0.0.1"]


def test_a_plan_whose_probe_is_off_is_not_probed():
    result = run({"plan": plan([entry(22)], enabled=False), "verified": {"findings": []}})
    assert result["probe"] is None
    assert result["outside"]["notes"] == ["not probed from outside: exposed_ports_probe is false"]
    assert [f["reachable"] for f in result["findings"]] == []


@pytest.mark.parametrize(
    "args, message",
    [
        ({"plan": plan([]), "address": "127.0.0.1", "timeout": 1.0},
         "'web1': plan: address, timeout come from the plan; leave them out"),
        ({"plan": {"findings": []}},
         "'web1': plan: not a plan of portguard.hardening.exposed_ports_plan (no probe settings)"),
        ({"plan": plan([], settings=None)},
         "'web1': plan: not a plan of portguard.hardening.exposed_ports_plan (no probe settings)"),
        ({"plan": {"probe": {"enabled": True}}},
         "'web1': plan: not a plan of portguard.hardening.exposed_ports_plan (no probe "
         "settings: missing here, scanners, address, ports, addresses, networks, settings)"),
        ({"plan": plan([])},
         "'web1': verified (the plan changed the host, so verify must have run): expected the "
         "registered result of its task"),
        ({"verified": {"findings": []}, "address": "127.0.0.1"},
         "'web1': verified: only with plan"),
    ],
)  # fmt: skip
def test_a_plan_that_is_not_one_or_options_it_gives_twice_are_refused(args, message):
    with pytest.raises(AnsibleActionFail) as raised:
        run(args)
    assert str(raised.value) == message


def test_a_host_whose_facts_set_role_variables_is_not_probed_from_its_plan():
    result = run(
        {"plan": plan([entry(22)]), "verified": {"findings": [entry(22, "remediated")]}},
        ansible_facts={"exposed_ports_probe_address": "198.51.100.1"},
    )
    assert result["probe"] is None
    assert [(f["reachable"], f["status"]) for f in result["findings"]] == [
        ("not probed", "remediated")
    ]
