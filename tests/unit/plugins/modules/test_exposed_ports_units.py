# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""exposed_ports_units end to end: AnsibleModule, the host adapter over a temporary root, and a
systemctl on PATH that is units_fake.FakeSystemd keeping its state in a JSON file."""

import json
import os
import sys

import pytest
import yaml
from ansible_collections.portguard.hardening.plugins.module_utils._apply import units
from ansible_collections.portguard.hardening.plugins.modules import exposed_ports_units
from module_args import patch_module_args

try:  # ansible-core 2.19 and later
    from ansible.module_utils import _internal as core_internal
except ImportError:
    core_internal = None

HELPERS = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils", "_apply"
)
# Logs "<args> LC_ALL=<value>", and keeps the masks as links to /dev/null under ROOT, where
# the module's host adapter looks for them.
FAKE = """#!{python}
import json, os, sys
sys.path.insert(0, {helpers!r})
from units_fake import FakeSystemd
STATE, ROOT = {state!r}, {root!r}
with open({log!r}, "a") as log:
    log.write(" ".join(sys.argv[1:]) + " LC_ALL=" + os.environ.get("LC_ALL", "") + "\\n")
systemd = FakeSystemd.load(STATE)
rc, out, err = systemd.systemctl(sys.argv[1:])
systemd.save(STATE)
for name in systemd.state["masked"]:
    link = os.path.join(ROOT, "etc/systemd/system", name)
    if not os.path.lexists(link):
        os.symlink("/dev/null", link)
sys.stdout.write(out)
sys.stderr.write(err)
sys.exit(rc)
"""
sys.path.insert(0, HELPERS)
from units_fake import FakeSystemd, unit  # noqa: E402

RPCBIND = {"unit": "rpcbind.service", "socket_units": ["rpcbind.socket"], "rules": ["rpcbind"]}
ADMIN = {"unit": "lab-admin.service", "socket_units": [], "ports": ["8080/tcp"]}
UNITS = {
    "rpcbind.socket": unit(),
    "rpcbind.service": unit(),
    "lab-admin.service": unit(file=units.MASK_DIR),
    "ssh.service": unit(),
}
NAMES = ["rpcbind.socket", "rpcbind.service"]


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """A root tree booted with systemd, the fake on PATH; yields (root, log, state file)."""
    root = tmp_path / "root"
    (root / "run" / "systemd" / "system").mkdir(parents=True)
    (root / "etc" / "systemd" / "system").mkdir(parents=True)
    (root / "etc" / "systemd" / "system" / "lab-admin.service").write_text("[Service]\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log, state = tmp_path / "calls.txt", tmp_path / "state.json"
    FakeSystemd(UNITS).save(str(state))
    script = bin_dir / "systemctl"
    script.write_text(
        FAKE.format(
            python=sys.executable, helpers=HELPERS, state=str(state), root=str(root), log=str(log)
        )
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.setattr(exposed_ports_units, "ROOT", str(root))
    if getattr(core_internal, "is_controller", False):
        # Another suite in this process loaded controller code; on a host the module runs alone.
        monkeypatch.setattr(core_internal, "is_controller", False)
    return root, log, state


def run(args, capsys):
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        exposed_ports_units.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def calls(log):
    return log.read_text().splitlines() if log.exists() else []


def verbs(log):
    return [line.split()[0] for line in calls(log)]


def states(state):
    systemd = FakeSystemd.load(str(state))
    return dict(
        (n, (systemd.active(n), systemd.state["view"][n][1])) for n in systemd.state["view"]
    )


def test_first_run_then_nothing_to_do(lab, capsys):
    _root, log, state = lab
    code, result = run({"units": [RPCBIND], "_ansible_diff": True}, capsys)
    assert code == 0, result
    assert result["changed"] is True
    assert [(u["unit"], u["actions"], u["after"]) for u in result["units"]] == [
        (n, ["stop", "disable", "mask"], {"active_state": "inactive", "unit_file_state": "masked",
                                          "load_state": "masked"})
        for n in NAMES
    ]  # fmt: skip
    assert all(line.endswith(" LC_ALL=C") for line in calls(log))
    assert [c[1:] for c in result["commands"]] == [
        line[: -len(" LC_ALL=C")].split() for line in calls(log)
    ]
    assert verbs(log) == ["show", "disable", "disable", "mask", "show"]
    assert result["commands"][3][1:] == ["mask", "--"] + NAMES
    assert result["diff"] == {
        "before": "".join(
            f"{n}: ActiveState=active UnitFileState=enabled LoadState=loaded\n" for n in NAMES
        ),
        "after": "".join(
            f"{n}: ActiveState=inactive UnitFileState=masked LoadState=masked\n" for n in NAMES
        ),
    }
    assert states(state)["rpcbind.service"] == ("inactive", "masked")

    log.unlink()
    code, again = run({"units": [RPCBIND], "_ansible_diff": True}, capsys)
    assert (code, again["changed"], verbs(log)) == (0, False, ["show"])
    assert "diff" not in again


def test_check_mode_changes_nothing(lab, capsys):
    _root, log, state = lab
    code, result = run({"units": [RPCBIND], "_ansible_check_mode": True}, capsys)
    assert (code, result["changed"], verbs(log)) == (0, True, ["show"])
    assert result["units"][0]["after"]["unit_file_state"] == "masked"
    assert states(state)["rpcbind.service"] == ("active", "enabled")
    assert "diff" not in result


def test_the_admins_own_unit_file_fails_the_run_after_the_rest(lab, capsys):
    root, log, state = lab
    code, result = run({"units": [RPCBIND, ADMIN]}, capsys)
    assert (code, result["failed"], result["changed"]) == (1, True, True)
    assert result["msg"].startswith(
        "systemd refuses to mask 'lab-admin.service' (units[1].unit): its own unit file is in "
        "/etc/systemd/system"
    )
    assert [(u["unit"], u["actions"]) for u in result["units"]] == [
        ("rpcbind.socket", ["stop", "disable", "mask"]),
        ("lab-admin.service", ["stop", "disable"]),
        ("rpcbind.service", ["stop", "disable", "mask"]),
    ]
    assert result["commands"][3][1:] == ["mask", "--"] + NAMES
    assert "diff" not in result
    assert states(state)["lab-admin.service"] == ("inactive", "disabled")
    assert os.path.isfile(os.path.join(str(root), "etc/systemd/system/lab-admin.service"))
    assert os.readlink(os.path.join(str(root), "etc/systemd/system/rpcbind.socket")) == "/dev/null"


@pytest.mark.parametrize(
    "args, message",
    [
        (
            {"units": [{"unit": "x' 'sshd.service"}, {"unit": "a.service", "socket_units": [3]}]},
            "2 problems: units[0].unit: refusing \"x' 'sshd.service\": it has characters systemd "
            "does not allow in a unit name (only ASCII letters, digits and : - _ . \\ @); "
            "units[1].socket_units[0]: refusing 3: it is not a string; nothing was changed",
        ),
        # The management units are kept when keep is not given.
        (
            {"units": [{"unit": "a.service", "socket_units": ["sshd.socket"]}]},
            "1 problem: units[0].socket_units[0]: 'sshd.socket' is in keep (the units of the "
            "management connection), which are never stopped; nothing was changed",
        ),
        (
            {"units": [{"unit": "rpcbind.service"}], "keep": ["rpcbind.service"]},
            "1 problem: units[0].unit: 'rpcbind.service' is in keep (the units of the "
            "management connection), which are never stopped; nothing was changed",
        ),
    ],
)
def test_bad_input_fails_before_anything_runs(lab, capsys, args, message):
    _root, log, _state = lab
    code, result = run(args, capsys)
    assert (code, result["failed"], result["msg"]) == (1, True, message)
    assert calls(log) == []


def test_without_systemd(lab, capsys):
    root, log, _state = lab
    os.rmdir(os.path.join(str(root), "run/systemd/system"))
    code, result = run({"units": [RPCBIND]}, capsys)
    assert (code, result["msg"], result["changed"], result["commands"]) == (
        1,
        units.NO_SYSTEMD,
        False,
        [],
    )
    assert calls(log) == []


def test_documentation_matches_the_module():
    doc = yaml.safe_load(exposed_ports_units.DOCUMENTATION)
    assert sorted(doc["options"]) == ["keep", "units"]
    assert doc["options"]["keep"]["default"] == exposed_ports_units.MANAGEMENT_UNITS
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert doc["attributes"]["diff_mode"]["support"] == "full"
    returned = yaml.safe_load(exposed_ports_units.RETURN)
    assert sorted(returned) == ["changed", "commands", "units"]
    contained = returned["units"]["contains"]
    assert sorted(contained) == ["actions", "after", "before", "unit"]
    assert sorted(contained["before"]["contains"]) == sorted(units.STATE_KEYS)
    assert sorted(contained["after"]["sample"]) == sorted(units.STATE_KEYS)
    examples = yaml.safe_load(exposed_ports_units.EXAMPLES)
    given = examples[0]["portguard.hardening.exposed_ports_units"]
    assert units.validate(given["units"], given["keep"])[0] == [
        "rpcbind.socket",
        "lab-admin.service",
        "rpcbind.service",
    ]


def test_role_default_keeps_the_same_management_units():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.abspath(os.path.join(here, os.pardir, os.pardir, os.pardir, os.pardir))
    defaults = os.path.join(repo, "roles", "exposed_ports", "defaults", "main.yml")
    with open(defaults) as f:
        role = yaml.safe_load(f)
    assert role["exposed_ports_management_units"] == exposed_ports_units.MANAGEMENT_UNITS
