# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exposed_ports_plan action's errors: the policy's problems come first, before the baseline
file and before anything the host returned, and each names its host."""

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
