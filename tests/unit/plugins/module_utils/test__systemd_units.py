# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Asking PID 1 about the units sockets are attributed to, and judging each attribution."""

import os

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils import _systemd_units
from ansible_collections.portguard.hardening.plugins.module_utils._owners import (
    owner_from_cgroup,
    owner_of_trigger,
)
from ansible_collections.portguard.hardening.plugins.module_utils._systemd_sockets import (
    SystemdQueryError,
)
from ansible_collections.portguard.hardening.plugins.module_utils._systemd_units import (
    parse_unit_states,
    query_units,
    unit_verdict,
)

SYSTEMD = os.path.join(os.path.dirname(__file__), "fixtures", "systemd")
LAB = "/libpod_parent/libpod-abc123"


def _read(name):
    with open(os.path.join(SYSTEMD, name)) as f:
        return f.read()


def state(id_, load_state="loaded", control_group=""):
    return {"id": id_, "load_state": load_state, "control_group": control_group}


def test_parse_unit_states_fixture():
    names = ["cockpit.service", "nginx.service", "rpcbind.service"]
    assert parse_unit_states(_read("rpcbind_units_show.txt"), names) == {
        "cockpit.service": state("cockpit.service"),
        "nginx.service": state("nginx.service", control_group=LAB + "/system.slice/nginx.service"),
        "rpcbind.service": state(
            "rpcbind.service", control_group=LAB + "/system.slice/rpcbind.service"
        ),
    }


def test_parse_unit_states_pairs_blocks_with_names_in_order():
    # An alias prints the Id of the unit it names; a unit systemd does not know still gets a block.
    text = "Id=ssh.service\nLoadState=loaded\n\nLoadState=not-found\nId=gone.service\n"
    assert parse_unit_states(text, ["sshd.service", "gone.service"]) == {
        "sshd.service": {"id": "ssh.service", "load_state": "loaded", "control_group": None},
        "gone.service": {"id": "gone.service", "load_state": "not-found", "control_group": None},
    }


@pytest.mark.parametrize(
    "text,names",
    [
        pytest.param("Id=a.service\nLoadState=loaded\n", ["a.service", "b.service"], id="short"),
        pytest.param("Id=a.service\n\nId=b.service\n", ["a.service"], id="long"),
        pytest.param("", ["a.service"], id="empty"),
    ],
)
def test_parse_unit_states_refuses_blocks_that_do_not_pair_up(text, names):
    with pytest.raises(SystemdQueryError, match="systemctl show described"):
        parse_unit_states(text, names)


def _fake_systemctl(table, calls):
    """systemctl show as PID 1 answers it: one block per name after '--', in order."""

    def run(args):
        calls.append(list(args))
        names = args[args.index("--") + 1 :]
        blocks = []
        for name in names:
            id_, load_state, control_group = table.get(name, (name, "not-found", ""))
            blocks.append(f"ControlGroup={control_group}\nId={id_}\nLoadState={load_state}\n")
        return 0, "\n".join(blocks), ""

    return run


def test_query_units_passes_names_as_arguments_after_a_double_dash():
    calls = []
    table = {"ssh.service": ("ssh.service", "loaded", "/system.slice/ssh.service")}
    states = query_units(_fake_systemctl(table, calls), ["ssh.service", "nope.service"])
    assert calls == [
        [
            "show",
            "--no-pager",
            "-p",
            "Id",
            "-p",
            "LoadState",
            "-p",
            "ControlGroup",
            "--",
            "ssh.service",
            "nope.service",
        ]
    ]
    assert states == {
        "ssh.service": state("ssh.service", control_group="/system.slice/ssh.service"),
        "nope.service": state("nope.service", "not-found"),
    }


def test_query_units_in_chunks(monkeypatch):
    monkeypatch.setattr(_systemd_units, "CHUNK", 2)
    calls = []
    names = ["a.service", "b.service", "c.service", "d.service", "e.service"]
    states = query_units(_fake_systemctl({}, calls), names)
    assert [c[c.index("--") + 1 :] for c in calls] == [names[0:2], names[2:4], names[4:]]
    assert sorted(states) == names


@pytest.mark.parametrize(
    "name", ["x' 'sshd.service", "-Hevil.service", "![t](http:x).service", "ssh", "a b.service"]
)
def test_query_units_refuses_a_name_before_running_anything(name):
    calls = []
    with pytest.raises(ValueError, match="refusing to pass"):
        query_units(_fake_systemctl({}, calls), ["ssh.service", name])
    assert calls == []


def test_query_units_failure():
    with pytest.raises(SystemdQueryError, match=r"systemctl show failed \(rc=1\): bus down"):
        query_units(lambda args: (1, "", "bus down\n"), ["ssh.service"])


def _owner(path, root=""):
    return owner_from_cgroup(f"0::{root}{path}\n", (None, root))


SSH = _owner("/system.slice/ssh.service")
USER_SSH = _owner("/user.slice/user-1000.slice/user@1000.service/app.slice/ssh.service")
LAB_RPCBIND = _owner("/system.slice/rpcbind.service", LAB)
STATES = {
    "ssh.service": state("ssh.service", control_group="/system.slice/ssh.service"),
    "user@1000.service": state(
        "user@1000.service", control_group="/user.slice/user-1000.slice/user@1000.service"
    ),
    "rpcbind.service": state(
        "rpcbind.service", control_group=LAB + "/system.slice/rpcbind.service"
    ),
    "cockpit.service": state("cockpit.service"),
}


@pytest.mark.parametrize(
    "owner,states,expected",
    [
        pytest.param(SSH, STATES, (True, None), id="service"),
        pytest.param(USER_SSH, STATES, (True, None), id="user-manager-is-a-loaded-system-unit"),
        pytest.param(LAB_RPCBIND, STATES, (True, None), id="control-group-with-host-prefix"),
        pytest.param(
            LAB_RPCBIND,
            {
                "rpcbind.service": state(
                    "rpcbind.service", control_group="/system.slice/rpcbind.service"
                )
            },
            (True, None),
            id="control-group-below-the-root",
        ),
        pytest.param(
            owner_of_trigger("cockpit.service"), STATES, (True, None), id="trigger-has-no-cgroup"
        ),
        pytest.param(
            _owner("/system.slice/x' 'sshd.service"),
            STATES,
            (
                False,
                "not a systemd unit name: it has characters systemd does not allow in a unit name "
                "(only ASCII letters, digits and : - _ . \\ @)",
            ),
            id="grammar",
        ),
        pytest.param(
            SSH, None, (False, "systemd was not asked: no systemd here"), id="systemd-unavailable"
        ),
        pytest.param(SSH, {}, (False, "systemd was not asked about it"), id="not-asked"),
        pytest.param(
            SSH,
            {"ssh.service": state("ssh.service", "not-found")},
            (False, "systemd has not loaded it (LoadState=not-found)"),
            id="not-found",
        ),
        pytest.param(
            SSH,
            {"ssh.service": state("ssh.service", "masked", "/system.slice/ssh.service")},
            (False, "systemd has not loaded it (LoadState=masked)"),
            id="masked",
        ),
        pytest.param(
            SSH,
            {"ssh.service": state("sshd.service", control_group="/system.slice/ssh.service")},
            (False, "systemd knows it as sshd.service"),
            id="alias",
        ),
        pytest.param(
            SSH,
            {"ssh.service": state("ssh.service")},
            (False, "systemd gives it another cgroup (ControlGroup=)"),
            id="no-cgroup-yet-a-process-in-one",
        ),
        pytest.param(
            SSH,
            {"ssh.service": state("ssh.service", control_group="/system.slice/x/ssh.service")},
            (False, "systemd gives it another cgroup (ControlGroup=/system.slice/x/ssh.service)"),
            id="another-cgroup",
        ),
    ],
)
def test_unit_verdict(owner, states, expected):
    assert unit_verdict(owner, states, "no systemd here") == expected
