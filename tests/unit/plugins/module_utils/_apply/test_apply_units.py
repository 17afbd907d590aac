# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Taking down the units the policy disables: validation, what each state calls for, the
commands, and apply() on a fake systemd (units_fake.py).

fixtures/units/before.bookworm.txt is `systemctl show --no-pager -p Id -p LoadState -p
ActiveState -p UnitFileState -- rpcbind.socket rpcbind.service lab-admin.service
memcached.service sshd.service nosuch.service` on a fresh lab host (Debian 12, systemd 252);
after.bookworm.txt the same once the role's three loops of ansible.builtin.systemd_service had
disabled rpcbind.service with rpcbind.socket and lab-admin.service (whose mask failed).
"""

import os

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._apply import units
from ansible_collections.portguard.hardening.plugins.module_utils._apply.units import (
    ApplyError,
    apply,
    commands,
    needs,
    predicted,
    state_lines,
    validate,
)
from ansible_collections.portguard.hardening.plugins.module_utils._systemd_units import (
    query_units,
)
from ansible_collections.portguard.hardening.plugins.module_utils._values import PolicyError
from units_fake import FakeHost, FakeSystemd, unit

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "units")
SYSTEMCTL = FakeHost.SYSTEMCTL
SHOW = [SYSTEMCTL, "show", "--no-pager"]
for _prop in units.PROPERTIES:
    SHOW += ["-p", _prop]
SHOW.append("--")
SHOWN = [
    "rpcbind.socket",
    "rpcbind.service",
    "lab-admin.service",
    "memcached.service",
    "sshd.service",
    "nosuch.service",
]
KEEP = ["ssh.service", "sshd.service", "ssh.socket", "sshd.socket"]
RPCBIND = {"unit": "rpcbind.service", "socket_units": ["rpcbind.socket"], "rules": ["r"]}
ADMIN = {"unit": "lab-admin.service", "socket_units": [], "ports": ["8080/tcp"]}
MEMCACHED = {"unit": "memcached.service", "socket_units": []}


def lab(**changes):
    """The lab host's units as the image boots them, with ``changes`` (name: unit(...))."""
    found = {
        "rpcbind.socket": unit(),
        "rpcbind.service": unit(),
        "memcached.service": unit(),
        "lab-admin.service": unit(file=units.MASK_DIR),
        "ssh.service": unit(),
        "sshd.service": unit(alias="ssh.service"),
    }
    found.update(changes)
    return found


def fixture_states(name, names=tuple(SHOWN)):
    with open(os.path.join(FIXTURES, name)) as f:
        text = f.read()

    def run(args):
        assert args == SHOW[1:-1] + ["--"] + list(names)
        return 0, text, ""

    return query_units(run, names, units.PROPERTIES)


# ---------------------------------------------------------------------------
# What a real systemd said, and what it calls for


@pytest.mark.parametrize(
    "fixture, expected",
    [
        (
            "before.bookworm.txt",
            {
                "rpcbind.socket": ["stop", "disable", "mask"],
                "rpcbind.service": ["stop", "disable", "mask"],
                "lab-admin.service": ["stop", "disable", "mask"],
                "memcached.service": ["stop", "disable", "mask"],
                "sshd.service": ["stop", "disable", "mask"],
                "nosuch.service": ["mask"],
            },
        ),
        (
            "after.bookworm.txt",
            {
                "rpcbind.socket": [],
                "rpcbind.service": [],
                "lab-admin.service": ["mask"],
                "memcached.service": ["stop", "disable", "mask"],
                "sshd.service": ["stop", "disable", "mask"],
                "nosuch.service": ["mask"],
            },
        ),
    ],
)
def test_needs_of_states_systemd_printed(fixture, expected):
    states = fixture_states(fixture)
    assert dict((n, needs(states[n])) for n in SHOWN) == expected


def test_show_fixture_reports_alias_and_unknown_unit():
    states = fixture_states("before.bookworm.txt")
    assert states["sshd.service"]["id"] == "ssh.service"
    assert states["nosuch.service"] == {
        "id": "nosuch.service",
        "active_state": "inactive",
        "unit_file_state": "",
        "load_state": "not-found",
    }
    assert fixture_states("after.bookworm.txt")["rpcbind.socket"] == {
        "id": "rpcbind.socket",
        "active_state": "inactive",
        "unit_file_state": "masked",
        "load_state": "masked",
    }


def state(active="active", unit_file="enabled", load="loaded"):
    return {"active_state": active, "unit_file_state": unit_file, "load_state": load}


@pytest.mark.parametrize(
    "given, expected",
    [
        (state(), ["stop", "disable", "mask"]),
        (state(active="activating"), ["stop", "disable", "mask"]),
        (state(active="deactivating"), ["stop", "disable", "mask"]),
        (state(active="reloading"), ["stop", "disable", "mask"]),
        (state(active="failed"), ["disable", "mask"]),
        (state(active="inactive", unit_file="disabled"), ["mask"]),
        # systemd_service disabled nothing in these states, and neither does `disable`.
        (state(active="inactive", unit_file="static"), ["mask"]),
        (state(active="inactive", unit_file="indirect"), ["mask"]),
        (state(active="inactive", unit_file="enabled-runtime"), ["mask"]),
        (state(active="inactive", unit_file="linked"), ["mask"]),
        (state(active="inactive", unit_file="masked-runtime"), ["mask"]),
        # Masked by hand but still running: stopped only.
        (state(unit_file="masked", load="masked"), ["stop"]),
        (state(active="inactive", unit_file="masked", load="masked"), []),
        (state(active="inactive", unit_file="", load="not-found"), ["mask"]),
    ],
)
def test_needs(given, expected):
    assert needs(given) == expected


# ---------------------------------------------------------------------------
# The plan's entries


@pytest.mark.parametrize(
    "entries, names",
    [
        ([], []),
        ([RPCBIND], ["rpcbind.socket", "rpcbind.service"]),
        (
            [RPCBIND, ADMIN, {"unit": "x.service", "socket_units": ["rpcbind.socket", "x.socket"]}],
            ["rpcbind.socket", "x.socket", "lab-admin.service", "rpcbind.service", "x.service"],
        ),
        # A socket unit that owns the port itself is a plan's `unit`; it still goes first.
        ([{"unit": "b.socket"}, {"unit": "a.service"}], ["b.socket", "a.service"]),
        ([{"unit": "a@x\\x2dy.service"}], ["a@x\\x2dy.service"]),
    ],
)
def test_validate_orders_socket_units_first_each_once(entries, names):
    assert validate(entries, KEEP)[0] == names


def test_validate_names_the_first_field_of_each_unit():
    _names, where = validate([RPCBIND, {"unit": "y.service", "socket_units": ["rpcbind.socket"]}])
    assert where == {
        "rpcbind.service": "units[0].unit",
        "rpcbind.socket": "units[0].socket_units[0]",
        "y.service": "units[1].unit",
    }


BAD_CHARS = (
    "has characters systemd does not allow in a unit name (only ASCII letters, digits and "
    ": - _ . \\ @)"
)


@pytest.mark.parametrize(
    "entries, keep, errors",
    [
        (
            [{"unit": "x' 'sshd.service"}],
            [],
            [f"units[0].unit: refusing \"x' 'sshd.service\": it {BAD_CHARS}"],
        ),
        (
            [{"unit": "a.service", "socket_units": ["ok.socket", "-Hx.socket", 7]}],
            [],
            [
                "units[0].socket_units[1]: refusing '-Hx.socket': it starts with '-', which "
                "systemctl would read as an option",
                "units[0].socket_units[2]: refusing 7: it is not a string",
            ],
        ),
        (
            [{"unit": "user@1000.service"}, {"unit": "libpod-abc.scope"}, {"unit": "a.timer"}],
            [],
            [
                f"units[{i}].unit: refusing {n!r}: it is not a system service or socket unit"
                for i, n in enumerate(["user@1000.service", "libpod-abc.scope", "a.timer"])
            ],
        ),
        (
            [{"unit": "getty@.service"}, {"unit": ""}],
            [],
            [
                "units[0].unit: refusing 'getty@.service': it is a template, not a unit",
                "units[1].unit: refusing '': it is empty",
            ],
        ),
        (
            [{"unit": "ssh.service"}, {"unit": "a.service", "socket_units": ["ssh.socket"]}],
            KEEP,
            [
                "units[0].unit: 'ssh.service' is in keep (the units of the management "
                "connection), which are never stopped",
                "units[1].socket_units[0]: 'ssh.socket' is in keep (the units of the "
                "management connection), which are never stopped",
            ],
        ),
        (
            ["rpcbind.service", {"socket_units": []}, {"unit": "a.service", "socket_units": "b"}],
            [],
            [
                "units[0]: expected a mapping of unit and socket_units, got 'rpcbind.service'",
                "units[1]: missing unit",
                "units[2].socket_units: expected a list of unit names, got 'b'",
            ],
        ),
        ({"unit": "a.service"}, [], ["units: expected a list, got a mapping"]),
        (
            [RPCBIND],
            "ssh.service",
            ["keep: expected a list of unit names, got 'ssh.service'"],
        ),
    ],
)
def test_validate_refuses_naming_every_field(entries, keep, errors):
    with pytest.raises(PolicyError) as info:
        validate(entries, keep)
    assert info.value.errors == errors


# ---------------------------------------------------------------------------
# Commands

ALL = ["stop", "disable", "mask"]


@pytest.mark.parametrize(
    "wanted, refused, expected",
    [
        (
            {"a.socket": ALL, "a.service": ALL, "b.service": ALL},
            [],
            [
                ["disable", "--no-reload", "--now", "--", "a.socket"],
                ["disable", "--no-reload", "--now", "--", "a.service", "b.service"],
                ["mask", "--", "a.socket", "a.service", "b.service"],
            ],
        ),
        # Only what differs: a stopped unit is not stopped, a disabled one not disabled.
        (
            {"a.socket": ["disable", "mask"], "a.service": ["stop", "mask"], "b.service": []},
            [],
            [
                ["disable", "--no-reload", "--", "a.socket"],
                ["stop", "--", "a.service"],
                ["mask", "--", "a.socket", "a.service"],
            ],
        ),
        (
            {"a.socket": ["mask"], "a.service": ["stop", "mask"], "b.service": ALL},
            [],
            [
                ["disable", "--no-reload", "--now", "--", "a.service", "b.service"],
                ["mask", "--", "a.socket", "a.service", "b.service"],
            ],
        ),
        # Masked already but running: stopped, nothing to reload.
        (
            {"a.socket": [], "a.service": ["stop"], "b.service": []},
            [],
            [["stop", "--", "a.service"]],
        ),
        ({"a.socket": [], "a.service": [], "b.service": []}, [], []),
        # A mask systemd refuses is left out; with nothing left to mask, the disable's reload.
        (
            {"a.socket": [], "a.service": [], "b.service": ALL},
            ["b.service"],
            [["disable", "--no-reload", "--now", "--", "b.service"], ["daemon-reload"]],
        ),
        (
            {"a.socket": ALL, "a.service": ALL, "b.service": ALL},
            ["b.service"],
            [
                ["disable", "--no-reload", "--now", "--", "a.socket"],
                ["disable", "--no-reload", "--now", "--", "a.service", "b.service"],
                ["mask", "--", "a.socket", "a.service"],
            ],
        ),
    ],
)
def test_commands(wanted, refused, expected):
    names = ["a.socket", "a.service", "b.service"]
    assert commands(SYSTEMCTL, names, wanted, refused) == [[SYSTEMCTL] + a for a in expected]


@pytest.mark.parametrize(
    "wanted, refused, expected",
    [
        (ALL, False, state("inactive", "masked", "masked")),
        (ALL, True, state("inactive", "disabled", "loaded")),
        (["mask"], False, state("active", "masked", "masked")),
        (["stop"], False, state("inactive", "enabled", "loaded")),
        ([], False, state()),
    ],
)
def test_predicted(wanted, refused, expected):
    assert predicted(state(), wanted, refused) == expected


def test_state_lines():
    states = {"a.socket": state(), "b.service": state("inactive", "masked", "masked")}
    assert state_lines(["a.socket", "b.service"], states) == (
        "a.socket: ActiveState=active UnitFileState=enabled LoadState=loaded\n"
        "b.service: ActiveState=inactive UnitFileState=masked LoadState=masked\n"
    )


# ---------------------------------------------------------------------------
# apply() on a fake systemd


def shown(names):
    return SHOW + list(names)


def summary(result):
    """{unit: (actions, after states as ActiveState/UnitFileState/LoadState)}."""
    return dict(
        (u["unit"], (u["actions"], tuple(u["after"][k] for k in units.STATE_KEYS)))
        for u in result["units"]
    )


DOWN = ("inactive", "masked", "masked")


def test_apply_takes_everything_down_then_changes_nothing():
    systemd = FakeSystemd(lab())
    host = FakeHost(systemd)
    result = apply(host, [RPCBIND, MEMCACHED], KEEP)
    names = ["rpcbind.socket", "memcached.service", "rpcbind.service"]
    expected_commands = [
        shown(names),
        [SYSTEMCTL, "disable", "--no-reload", "--now", "--", "rpcbind.socket"],
        [
            SYSTEMCTL,
            "disable",
            "--no-reload",
            "--now",
            "--",
            "memcached.service",
            "rpcbind.service",
        ],
        [SYSTEMCTL, "mask", "--"] + names,
        shown(names),
    ]
    assert result["commands"] == expected_commands == host.calls
    assert result["changed"] is True
    assert summary(result) == dict((n, (ALL, DOWN)) for n in names)
    assert result["units"][0]["before"] == state()
    assert result["diff"]["before"].splitlines()[0] == (
        "rpcbind.socket: ActiveState=active UnitFileState=enabled LoadState=loaded"
    )
    assert result["diff"]["after"].splitlines()[2] == (
        "rpcbind.service: ActiveState=inactive UnitFileState=masked LoadState=masked"
    )
    assert [systemd.active(n) for n in names] == ["inactive"] * 3

    again = FakeHost(systemd)
    second = apply(again, [RPCBIND, MEMCACHED], KEEP)
    assert second["changed"] is False
    assert again.calls == second["commands"] == [shown(names)]
    assert summary(second) == dict((n, ([], DOWN)) for n in names)
    assert second["diff"]["before"] == second["diff"]["after"]


def test_check_mode_reads_and_predicts_only():
    systemd = FakeSystemd(lab(**{"memcached.service": unit(active="inactive", enabled=False)}))
    host = FakeHost(systemd)
    result = apply(host, [RPCBIND, MEMCACHED], KEEP, check_mode=True)
    names = ["rpcbind.socket", "memcached.service", "rpcbind.service"]
    assert host.calls == result["commands"] == [shown(names)]
    assert result["changed"] is True
    assert summary(result) == {
        "rpcbind.socket": (ALL, DOWN),
        "memcached.service": (["mask"], DOWN),
        "rpcbind.service": (ALL, DOWN),
    }
    assert systemd.active("rpcbind.service") == "active"
    assert systemd.state["masked"] == []


def test_a_unit_with_its_own_file_in_etc_is_stopped_disabled_and_the_run_fails():
    systemd = FakeSystemd(lab())
    host = FakeHost(systemd)
    with pytest.raises(ApplyError) as info:
        apply(host, [RPCBIND, ADMIN], KEEP)
    assert str(info.value) == (
        "systemd refuses to mask 'lab-admin.service' (units[1].unit): its own unit file is in "
        '/etc/systemd/system, where `systemctl mask` puts the link to /dev/null ("File ... '
        'already exists"; ansible.builtin.systemd_service failed the same way). It is stopped '
        "and disabled, every other unit masked. To have it masked, move its unit file to "
        "/usr/local/lib/systemd/system"
    )
    result = info.value.result
    names = ["rpcbind.socket", "lab-admin.service", "rpcbind.service"]
    assert (
        result["commands"]
        == host.calls
        == [
            shown(names),
            [SYSTEMCTL, "disable", "--no-reload", "--now", "--", "rpcbind.socket"],
            [
                SYSTEMCTL,
                "disable",
                "--no-reload",
                "--now",
                "--",
                "lab-admin.service",
                "rpcbind.service",
            ],
            [SYSTEMCTL, "mask", "--", "rpcbind.socket", "rpcbind.service"],
            shown(names),
        ]
    )
    assert result["changed"] is True
    assert summary(result) == {
        "rpcbind.socket": (ALL, DOWN),
        "lab-admin.service": (["stop", "disable"], ("inactive", "disabled", "loaded")),
        "rpcbind.service": (ALL, DOWN),
    }
    # The next run changes nothing and fails the same way, as the mask loop did.
    again = FakeHost(systemd)
    with pytest.raises(ApplyError) as info:
        apply(again, [RPCBIND, ADMIN], KEEP)
    assert info.value.result["changed"] is False
    assert again.calls == [shown(names)]


def test_check_mode_fails_where_systemd_would_refuse_the_mask():
    host = FakeHost(FakeSystemd(lab()))
    with pytest.raises(ApplyError) as info:
        apply(host, [ADMIN, {"unit": "other.service"}], KEEP, check_mode=True)
    assert "It would be stopped and disabled" in str(info.value)
    assert host.calls == [shown(["lab-admin.service", "other.service"])]
    assert summary(info.value.result)["other.service"] == (["mask"], DOWN)


def test_two_refused_masks_are_named_together():
    found = lab(**{"other.service": unit(file=units.MASK_DIR)})
    with pytest.raises(ApplyError) as info:
        apply(FakeHost(FakeSystemd(found)), [ADMIN, {"unit": "other.service"}], KEEP)
    assert str(info.value).startswith(
        "systemd refuses to mask 'lab-admin.service' (units[0].unit), 'other.service' "
        "(units[1].unit): their own unit files are in /etc/systemd/system"
    )
    assert "They are stopped and disabled" in str(info.value)


def test_a_link_to_dev_null_left_by_an_earlier_mask_does_not_count_as_refused():
    # Linked before a reload that never came: systemd still shows it loaded and enabled.
    systemd = FakeSystemd(lab(), masked=["rpcbind.service"])
    systemd.state["view"]["rpcbind.service"] = ["loaded", "enabled"]
    result = apply(FakeHost(systemd), [{"unit": "rpcbind.service"}], KEEP)
    assert summary(result) == {"rpcbind.service": (["stop", "disable", "mask"], DOWN)}


def test_a_unit_systemd_does_not_know_is_only_masked():
    host = FakeHost(FakeSystemd(lab()))
    result = apply(host, [{"unit": "gone.service", "socket_units": ["gone.socket"]}], KEEP)
    names = ["gone.socket", "gone.service"]
    assert host.calls == [shown(names), [SYSTEMCTL, "mask", "--"] + names, shown(names)]
    assert summary(result) == dict((n, (["mask"], DOWN)) for n in names)


def test_an_alias_is_refused_before_anything_changes():
    host = FakeHost(FakeSystemd(lab()))
    with pytest.raises(PolicyError) as info:
        apply(host, [RPCBIND, {"unit": "sshd.service"}], keep=[])
    assert info.value.errors == [
        "units[1].unit: 'sshd.service' is an alias of 'ssh.service': name the unit itself"
    ]
    assert host.calls == [shown(["rpcbind.socket", "rpcbind.service", "sshd.service"])]


def test_bad_input_and_kept_units_run_nothing():
    host = FakeHost(FakeSystemd(lab()))
    with pytest.raises(PolicyError):
        apply(host, [RPCBIND, {"unit": "ssh.service"}], KEEP)
    with pytest.raises(PolicyError):
        apply(host, [{"unit": "x;reboot.service"}], KEEP)
    assert host.calls == []


def test_nothing_to_do_needs_no_systemd():
    host = FakeHost(FakeSystemd(lab()), booted=False)
    assert apply(host, [], KEEP) == {
        "changed": False,
        "units": [],
        "commands": [],
        "diff": {"before": "", "after": ""},
    }


def test_without_systemd_nothing_runs():
    host = FakeHost(FakeSystemd(lab()), booted=False)
    with pytest.raises(ApplyError) as info:
        apply(host, [RPCBIND], KEEP)
    assert str(info.value) == units.NO_SYSTEMD
    assert info.value.result is None
    assert host.calls == []


@pytest.mark.parametrize(
    "verb, answer, message, calls",
    [
        (
            "show",
            (1, "", "Failed to connect to bus: No such file or directory\n"),
            "systemctl show failed (rc=1): Failed to connect to bus: No such file or "
            "directory; nothing was changed",
            1,
        ),
        (
            "disable",
            (1, "", "Failed to disable unit: Access denied\n"),
            "systemctl disable failed (rc 1): Failed to disable unit: Access denied",
            2,
        ),
    ],
)
def test_a_failing_systemctl_stops_the_run(verb, answer, message, calls):
    host = FakeHost(FakeSystemd(lab()), fails={verb: answer})
    with pytest.raises(ApplyError) as info:
        apply(host, [RPCBIND], KEEP)
    assert str(info.value) == message
    assert len(host.calls) == calls
    if calls > 1:
        assert info.value.result["commands"] == host.calls
        assert info.value.result["changed"] is True


def test_a_mask_refused_after_the_check_still_reloads_the_links_it_made():
    # lab-admin.service's file appears after apply() looked: systemctl links the others,
    # fails, and skips its reload; apply() reloads so that PID 1 sees the links.
    systemd = FakeSystemd(lab())
    host = FakeHost(systemd, unseen=[units.MASK_DIR + "/lab-admin.service"])
    with pytest.raises(ApplyError) as info:
        apply(host, [RPCBIND, ADMIN], KEEP)
    assert str(info.value) == (
        "systemctl mask failed (rc 1): Failed to mask unit: File "
        "/etc/systemd/system/lab-admin.service already exists."
    )
    assert host.calls[-1] == [SYSTEMCTL, "daemon-reload"]
    assert systemd.state["view"]["rpcbind.service"] == ["masked", "masked"]


def test_a_unit_still_running_after_the_stop_fails_the_run():
    systemd = FakeSystemd(lab(**{"memcached.service": unit(stays=True)}))
    with pytest.raises(ApplyError) as info:
        apply(FakeHost(systemd), [RPCBIND, MEMCACHED], KEEP)
    assert str(info.value) == (
        "after systemctl stop, disable and mask, still: memcached.service is 'active'"
    )
    assert info.value.result["changed"] is True


HOSTILE = ["\x1b]0;title\x07x.service", "\x1b[2J.service", "\x9b2J.service", "\u202eecivres.x"]
# What a terminal acts on: C0 and DEL, C1, the bidi overrides and isolates.
RAW = set(chr(c) for c in list(range(0x20)) + list(range(0x7F, 0xA0)))
RAW |= set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def test_a_refused_name_is_quoted_with_every_control_character_escaped():
    with pytest.raises(PolicyError) as info:
        validate([{"unit": "a.service", "socket_units": HOSTILE}], KEEP)
    assert len(info.value.errors) == len(HOSTILE)
    assert not set(str(info.value)) & RAW
    assert "units[0].socket_units[3]: refusing '\\u202eecivres.x'" in str(info.value)
