# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cgroup -> system unit: only PID 1's own tree names units; what lives below is data.

The cgroup files are written as the kernel prints them: cgroup v1 (the name=systemd hierarchy
and controllers, as captured in the lab's podman containers, which carry the host's
/libpod_parent/libpod-<id> prefix), hybrid (v1 plus the unified 0:: line) and pure v2.
"""

import os

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._owners import (
    OWNER_KEYS,
    cgroup_roots,
    choose_owner,
    owner_from_cgroup,
    owner_of_trigger,
    read_cgroup_roots,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
# The prefix the lab's containers see in front of their own tree (no cgroup namespace, v1).
LAB = "/libpod_parent/libpod-abc123"
CID = "4f9c2e6b1a0d" + "7e" * 26  # a 64-digit container id
# Controllers of the lab's v1 capture (tests/.../fixtures/proc_rpcbind/*/cgroup).
_V1_CONTROLLERS = ((11, "devices"), (10, "memory"), (9, "pids"), (8, "cpu,cpuacct"), (7, "blkio"))
_V1_ROOTED = ((6, "freezer"), (5, "net_cls,net_prio"), (4, "perf_event"), (3, "cpuset"))


def v1(path, unified=False):
    """/proc/<pid>/cgroup on cgroup v1, with the unified 0:: line too when hybrid."""
    lines = [f"12:name=systemd:{path}"]
    lines += [f"{n}:{c}:{path}" for n, c in _V1_CONTROLLERS]
    lines += [f"{n}:{c}:/" for n, c in _V1_ROOTED]
    if unified:
        lines.append(f"0::{path}")
    return "\n".join(lines) + "\n"


def hybrid(path):
    return v1(path, unified=True)


def v2(path):
    return f"0::{path}\n"


def _captured():
    with open(os.path.join(FIXTURES, "captured", "cgroup_this_host.txt")) as f:
        return f.read()


@pytest.mark.parametrize(
    "pid1,roots",
    [
        pytest.param(hybrid(LAB + "/init.scope"), (LAB, LAB), id="lab-container-v1-hybrid"),
        pytest.param(v1(LAB + "/init.scope"), (LAB, None), id="lab-container-v1-legacy"),
        pytest.param(hybrid("/init.scope"), ("", ""), id="host-hybrid"),
        pytest.param(v2("/init.scope"), (None, ""), id="host-v2"),
        pytest.param(
            v2(f"/machine.slice/libpod-{CID}.scope/container/init.scope"),
            (None, f"/machine.slice/libpod-{CID}.scope/container"),
            id="container-v2-without-cgroupns",
        ),
        pytest.param(
            "9:name=systemd:/\n0::/init.scope\n", (None, ""), id="v2-with-a-stray-v1-mount"
        ),
        pytest.param(v2("/"), (None, None), id="pid1-not-systemd"),
        pytest.param(
            v1(f"/system.slice/docker-{CID}.scope"), (None, None), id="docker-init-v1-no-systemd"
        ),
        pytest.param(_captured(), (None, None), id="captured-this-host-no-systemd"),
        pytest.param("", (None, None), id="empty"),
    ],
)
def test_cgroup_roots(pid1, roots):
    assert cgroup_roots(pid1) == roots


HOST_V2 = v2("/init.scope")
HOST_HYBRID = hybrid("/init.scope")
LAB_PID1 = hybrid(LAB + "/init.scope")
USER = "/user.slice/user-1000.slice/user@1000.service"


def owned(unit, inner=None, uid=None, user_unit=None, container=None):
    return {
        "unit": unit,
        "inner_cgroup": inner,
        "user_manager": uid,
        "user_unit": user_unit,
        "container": container,
    }


@pytest.mark.parametrize(
    "pid1,text,expected",
    [
        # System services, wherever PID 1's tree begins.
        pytest.param(
            LAB_PID1,
            hybrid(LAB + "/system.slice/rpcbind.service"),
            owned("rpcbind.service"),
            id="lab-v1-hybrid-service",
        ),
        pytest.param(
            v1(LAB + "/init.scope"),
            v1(LAB + "/system.slice/rpcbind.service"),
            owned("rpcbind.service"),
            id="lab-v1-legacy-service",
        ),
        pytest.param(HOST_V2, v2("/system.slice/nginx.service"), owned("nginx.service"), id="v2"),
        pytest.param(
            HOST_HYBRID,
            hybrid("/system.slice/system-getty.slice/getty@tty1.service"),
            owned("getty@tty1.service"),
            id="instance-in-a-nested-slice",
        ),
        pytest.param(
            HOST_V2,
            v2("/system.slice/system-systemd\\x2dfsck.slice/systemd-fsck@dev-vda1.service"),
            owned("systemd-fsck@dev-vda1.service"),
            id="slice-with-systemd-escapes",
        ),
        pytest.param(HOST_V2, v2("/init.scope"), owned("init.scope"), id="pid1-itself"),
        pytest.param(
            HOST_V2, v2("/system.slice/rpcbind.socket"), owned("rpcbind.socket"), id="socket-exec"
        ),
        pytest.param(
            HOST_V2,
            v2("/system.slice/nginx.service/x.mount"),
            owned("nginx.service", "x.mount"),
            id="first-unit-wins",
        ),
        pytest.param(
            HOST_V2,
            v2("/system.slice/_cpu.service"),
            owned("cpu.service"),
            id="cg-escape-prefix-dropped",
        ),
        pytest.param(
            HOST_V2,
            v2("/user.slice/user-1000.slice/session-3.scope"),
            owned("session-3.scope"),
            id="login-session",
        ),
        # User managers: every unit a user names is inside user@UID.service.
        pytest.param(
            LAB_PID1,
            hybrid(LAB + USER + "/app.slice/ssh.service"),
            owned("user@1000.service", "app.slice/ssh.service", 1000, "ssh.service"),
            id="lab-user-unit-named-ssh",
        ),
        pytest.param(
            HOST_V2,
            v2(USER + "/app.slice/nginx.service"),
            owned("user@1000.service", "app.slice/nginx.service", 1000, "nginx.service"),
            id="v2-user-unit-named-nginx",
        ),
        pytest.param(
            HOST_HYBRID,
            hybrid("/user.slice/user-1001.slice/user@1001.service/ssh.service"),
            owned("user@1001.service", "ssh.service", 1001, "ssh.service"),
            id="user-unit-without-app-slice",
        ),
        pytest.param(
            HOST_V2,
            v2(USER + "/init.scope"),
            owned("user@1000.service", "init.scope", 1000, "init.scope"),
            id="the-user-manager-itself",
        ),
        pytest.param(
            HOST_V2,
            v2(USER + "/system.slice/sshd.service"),
            owned("user@1000.service", "system.slice/sshd.service", 1000, "sshd.service"),
            id="user-tree-imitating-the-system",
        ),
        pytest.param(
            HOST_V2,
            v2(USER + "/app.slice/x' 'sshd.service"),
            owned("user@1000.service", "app.slice/x' 'sshd.service", 1000, "x' 'sshd.service"),
            id="user-cgroup-with-quotes",
        ),
        pytest.param(
            HOST_V2,
            v2(USER + "/app.slice/![t](http:x).service"),
            owned(
                "user@1000.service", "app.slice/![t](http:x).service", 1000, "![t](http:x).service"
            ),
            id="user-cgroup-markdown-image",
        ),
        pytest.param(
            HOST_V2,
            v2(USER + "/\x1b]0;t\x07.service/x"),
            owned("user@1000.service", "\x1b]0;t\x07.service/x", 1000, "\x1b]0;t\x07.service"),
            id="user-cgroup-terminal-escape",
        ),
        pytest.param(
            HOST_V2,
            v2(USER + "/app.slice/app-gnome-org.gnome.Terminal\\x2d1.scope"),
            owned(
                "user@1000.service",
                "app.slice/app-gnome-org.gnome.Terminal\\x2d1.scope",
                1000,
                "app-gnome-org.gnome.Terminal\\x2d1.scope",
            ),
            id="user-unit-with-systemd-escapes",
        ),
        # Delegated subtrees belong to the delegating service.
        pytest.param(
            HOST_V2,
            v2("/system.slice/myapp.service/ssh.service"),
            owned("myapp.service", "ssh.service"),
            id="delegated-service",
        ),
        pytest.param(
            HOST_HYBRID,
            hybrid("/system.slice/lxc@web.service/lxc.payload.web/system.slice/nginx.service"),
            owned("lxc@web.service", "lxc.payload.web/system.slice/nginx.service"),
            id="delegated-lxc-container",
        ),
        # Containers: the host's PID 1 sees their scope, not their units.
        pytest.param(
            HOST_V2,
            v2(f"/machine.slice/libpod-{CID}.scope/container/system.slice/nginx.service"),
            owned(f"libpod-{CID}.scope", "container/system.slice/nginx.service", container=CID),
            id="podman-systemd-container-from-the-host",
        ),
        pytest.param(
            HOST_V2,
            v2(f"/machine.slice/libpod-{CID}.scope/container"),
            owned(f"libpod-{CID}.scope", "container", container=CID),
            id="podman-container-from-the-host",
        ),
        pytest.param(
            HOST_V2,
            v2(f"/machine.slice/libpod-conmon-{CID}.scope"),
            owned(f"libpod-conmon-{CID}.scope", container=CID),
            id="podman-conmon-holding-published-ports",
        ),
        pytest.param(
            HOST_HYBRID,
            hybrid(f"/system.slice/docker-{CID}.scope"),
            owned(f"docker-{CID}.scope", container=CID),
            id="docker-systemd-driver",
        ),
        pytest.param(
            HOST_V2,
            v2("/machine.slice/systemd-nspawn@web.service/payload/system.slice/nginx.service"),
            owned(
                "systemd-nspawn@web.service",
                "payload/system.slice/nginx.service",
                container="web",
            ),
            id="nspawn",
        ),
        pytest.param(
            HOST_V2,
            v2("/machine.slice/machine-qemu\\x2d1\\x2dvm.scope/libvirt/emulator"),
            owned(
                "machine-qemu\\x2d1\\x2dvm.scope", "libvirt/emulator", container="qemu\\x2d1\\x2dvm"
            ),
            id="libvirt-machine",
        ),
        pytest.param(
            HOST_V2,
            v2(
                "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/"
                f"cri-containerd-{CID}.scope"
            ),
            owned(f"cri-containerd-{CID}.scope", container=CID),
            id="kubernetes",
        ),
        # Inside a container: its own PID 1's tree.
        pytest.param(
            v2(f"/machine.slice/libpod-{CID}.scope/container/init.scope"),
            v2(f"/machine.slice/libpod-{CID}.scope/container/system.slice/nginx.service"),
            owned("nginx.service"),
            id="inside-a-v2-container-without-cgroupns",
        ),
        pytest.param(
            v2("/init.scope"),
            v2("/system.slice/nginx.service"),
            owned("nginx.service"),
            id="inside-a-container-with-cgroupns",
        ),
        # No unit: outside PID 1's tree, or not a cgroup systemd made.
        pytest.param(
            HOST_V2, v2("/../../system.slice/sshd.service"), None, id="outside-the-cgroupns"
        ),
        pytest.param(
            LAB_PID1,
            hybrid("/libpod_parent/libpod-other/system.slice/ssh.service"),
            None,
            id="another-containers-tree",
        ),
        pytest.param(
            LAB_PID1,
            hybrid(LAB + "-x.slice/ssh.service"),  # a sibling, not PID 1's tree
            None,
            id="prefix-is-whole-components",
        ),
        pytest.param(v2("/"), v2("/system.slice/nginx.service"), None, id="pid1-is-not-systemd"),
        pytest.param(HOST_V2, v2("/system.slice"), None, id="a-slice-is-no-owner"),
        pytest.param(HOST_V2, v2("/system.slice/foo"), None, id="not-a-unit-name"),
        pytest.param(HOST_V2, v2("/"), None, id="root-cgroup"),
        pytest.param(
            "9:name=systemd:/\n0::/init.scope\n",
            "9:name=systemd:/\n0::/system.slice/nginx.service\n",
            owned("nginx.service"),
            id="v2-with-a-stray-v1-mount",
        ),
        pytest.param(
            HOST_HYBRID,
            "1:name=systemd:/system.slice/a.service\n0::/system.slice/b.service\n",
            owned("a.service"),
            id="hybrid-name-systemd-first",
        ),
        pytest.param(HOST_V2, "4:memory:/system.slice/x.service\n", None, id="controllers-ignored"),
        pytest.param(HOST_V2, "", None, id="empty"),
        pytest.param(HOST_V2, "garbage\n", None, id="garbage"),
        pytest.param(_captured(), _captured(), None, id="captured-this-host"),
    ],
)
def test_owner_from_cgroup(pid1, text, expected):
    owner = owner_from_cgroup(text, cgroup_roots(pid1))
    if expected is None:
        assert owner is None
    else:
        assert set(owner) == set(OWNER_KEYS)
        assert dict((key, owner[key]) for key in expected) == expected


@pytest.mark.parametrize(
    "pid1,text,unit_cgroup,root",
    [
        pytest.param(
            LAB_PID1,
            hybrid(LAB + USER + "/app.slice/ssh.service"),
            "/user.slice/user-1000.slice/user@1000.service",
            LAB,
            id="lab-prefix",
        ),
        pytest.param(
            HOST_V2,
            v2("/system.slice/system-getty.slice/getty@tty1.service"),
            "/system.slice/system-getty.slice/getty@tty1.service",
            "",
            id="host",
        ),
        pytest.param(
            HOST_V2,
            v2("/system.slice/_cpu.service"),
            "/system.slice/_cpu.service",
            "",
            id="escaped",
        ),
    ],
)
def test_owner_keeps_the_cgroup_systemd_gives_the_unit(pid1, text, unit_cgroup, root):
    # Compared with the unit's ControlGroup: exactly as the kernel printed it.
    owner = owner_from_cgroup(text, cgroup_roots(pid1))
    assert (owner["unit_cgroup"], owner["cgroup_root"]) == (unit_cgroup, root)


def test_read_cgroup_roots(proc_tree, tmp_path):
    assert read_cgroup_roots(proc_tree("proc_rpcbind")) == (LAB, LAB)
    with pytest.raises(OSError):
        read_cgroup_roots(str(tmp_path / "no-such-proc"))


@pytest.mark.kernel
def test_real_kernel_roots_and_own_owner():
    with open("/proc/1/cgroup") as f:
        pid1 = f.read()
    with open("/proc/self/cgroup") as f:
        mine = f.read()
    roots = read_cgroup_roots("/proc")
    assert roots == cgroup_roots(pid1)
    owner = owner_from_cgroup(mine, roots)
    if roots == (None, None):
        assert owner is None  # PID 1 is not systemd: nothing here is a unit
    else:
        assert owner is None or owner["unit"].endswith((".service", ".scope"))


def _p(pid, unit=None, name="svc"):
    """A process as read_process() gives it, in unit (a name in system.slice, or a path)."""
    owner = None
    if unit:
        path = unit if unit.startswith("/") else "/system.slice/" + unit
        owner = owner_from_cgroup(v2(path), (None, ""))
    return {"pid": pid, "name": name, "owner": owner}


@pytest.mark.parametrize(
    "processes,fallback,expected",
    [
        pytest.param(
            [_p(1, "init.scope", "systemd"), _p(49, "rpcbind.service", "rpcbind")],
            "x.service",
            "rpcbind.service",
            id="service-beats-pid1",
        ),
        pytest.param(
            [_p(1, "init.scope", "systemd")],
            "cockpit.service",
            "cockpit.service",
            id="pid1-only-uses-trigger",
        ),
        pytest.param([_p(1, "init.scope", "systemd")], None, None, id="pid1-only-no-trigger"),
        pytest.param(
            [_p(73, "nginx.service"), _p(72, "other.service")],
            None,
            "other.service",
            id="lowest-pid-wins",
        ),
        pytest.param([_p(72), _p(80, "y.service")], None, "y.service", id="first-with-a-unit"),
        pytest.param([_p(72)], "z.service", None, id="holder-without-unit"),
        pytest.param([], "z.service", None, id="no-holders"),
        pytest.param(
            [_p(4711, f"/machine.slice/libpod-{CID}.scope/container/init.scope", "systemd")],
            "z.service",
            f"libpod-{CID}.scope",
            id="a-containers-systemd-is-a-holder-like-any-other",
        ),
    ],
)
def test_choose_owner(processes, fallback, expected):
    owner = choose_owner(processes, fallback)
    assert (owner and owner["unit"]) == expected


def test_owner_of_trigger_has_no_cgroup():
    assert owner_of_trigger("cockpit.service") == {
        "unit": "cockpit.service",
        "unit_cgroup": None,
        "cgroup_root": None,
        "inner_cgroup": None,
        "user_manager": None,
        "user_unit": None,
        "container": None,
    }
