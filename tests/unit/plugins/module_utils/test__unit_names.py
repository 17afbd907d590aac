# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd's unit-name grammar, and what a system unit's name says about its processes."""

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._unit_names import (
    container_name,
    is_unit_name,
    is_user_manager,
    unit_name_problem,
    user_manager_uid,
)

BAD_CHARS = (
    "has characters systemd does not allow in a unit name (only ASCII letters, digits and "
    ": - _ . \\ @)"
)


@pytest.mark.parametrize(
    "name",
    [
        "ssh.service",
        "rpcbind.socket",
        "getty@tty1.service",
        "user@1000.service",
        "systemd-fsck@dev-disk-by\\x2duuid-0a1b.service",  # systemd's own escapes
        "dbus-org.freedesktop.login1.service",
        "a@b@c.service",  # an instance may hold "@"
        "session-3.scope",
        "init.scope",
        "home.mount",
        "dev-vda1.swap",
        "_x.service",
        "x:y.target",
        "a" * 247 + ".service",  # 255 bytes
    ],
)
def test_valid_unit_names(name):
    assert unit_name_problem(name) is None
    assert is_unit_name(name) is True


@pytest.mark.parametrize(
    "name,problem",
    [
        # The names of the issue: each would have become something else on a command line.
        ("x' 'sshd.service", BAD_CHARS),
        ("![t](http:x).service", BAD_CHARS),
        ("\x1b]0;title\x07x.service", BAD_CHARS),
        ("\x1b[2J.service", BAD_CHARS),
        ("\u202eecivres.x", "ends in 'x', which is not a unit type"),
        ("[a](//evil.io)", "ends in 'io)', which is not a unit type"),
        ("ssh", "has no unit type suffix (such as .service or .socket)"),
        ("a b.service", BAD_CHARS),
        ("a\nb.service", BAD_CHARS),
        ("a;reboot.service", BAD_CHARS),
        ("$(id).service", BAD_CHARS),
        ("*.service", BAD_CHARS),
        ("ss?.service", BAD_CHARS),
        ("caf\u00e9.service", BAD_CHARS),
        ("\ufffd.service", BAD_CHARS),
        ("a/b.service", BAD_CHARS),
        ("-Hevil.service", "starts with '-', which systemctl would read as an option"),
        ("--now.service", "starts with '-', which systemctl would read as an option"),
        ("-.mount", "starts with '-', which systemctl would read as an option"),
        ("@x.service", "starts with '@'"),
        ("getty@.service", "is a template, not a unit"),
        (".service", "has no unit type suffix (such as .service or .socket)"),
        ("ssh.service.", "ends in '', which is not a unit type"),
        ("ssh.Service", "ends in 'Service', which is not a unit type"),
        ("ssh.service ", "ends in 'service ', which is not a unit type"),
        ("a" * 248 + ".service", "is longer than 255 bytes"),
        ("", "is empty"),
        (None, "is not a string"),
        (5, "is not a string"),
    ],
)
def test_invalid_unit_names(name, problem):
    assert unit_name_problem(name) == problem
    assert is_unit_name(name) is False


@pytest.mark.parametrize(
    "unit,manager,uid",
    [
        ("user@1000.service", True, 1000),
        ("user@0.service", True, 0),
        ("user@x.service", True, None),
        ("user-runtime-dir@1000.service", False, None),
        ("user@1000.socket", False, None),
        ("ssh.service", False, None),
    ],
)
def test_user_manager(unit, manager, uid):
    assert is_user_manager(unit) is manager
    assert user_manager_uid(unit) == uid


CID = "4f9c2e6b1a0d" + "7e" * 26


@pytest.mark.parametrize(
    "unit,slices,container",
    [
        (f"libpod-{CID}.scope", ("machine.slice",), CID),
        (f"libpod-conmon-{CID}.scope", ("machine.slice",), CID),
        (f"docker-{CID}.scope", ("system.slice",), CID),
        (f"crio-{CID}.scope", ("kubepods.slice",), CID),
        (f"cri-containerd-{CID}.scope", ("kubepods.slice",), CID),
        ("machine-web.scope", ("machine.slice",), "web"),
        ("qemu-vm.scope", ("machine.slice",), "qemu-vm"),
        ("systemd-nspawn@web.service", ("machine.slice",), "web"),
        ("libpod-xyz.scope", ("system.slice",), None),  # not an id, not in machine.slice
        ("session-3.scope", ("user.slice", "user-1000.slice"), None),
        ("nginx.service", ("system.slice",), None),
    ],
)
def test_container_name(unit, slices, container):
    assert container_name(unit, slices) == container
