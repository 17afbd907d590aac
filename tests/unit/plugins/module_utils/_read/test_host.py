# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""read_host(): the whole host mapping from fakes and the captured lab host."""

import json
import os

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._read.containers import (
    parse_docker,
    parse_podman,
)
from ansible_collections.portguard.hardening.plugins.module_utils._read.host import (
    TOOLS,
    package_manager,
    read_host,
    read_interfaces,
    read_own_rules,
    read_text,
    read_ufw,
    shell_setting,
)
from ansible_collections.portguard.hardening.plugins.module_utils._read.units import HOST_UNITS
from docker_api import answer, docker_http

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def _fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


FIREWALLD_INFO = json.loads(_fixture("firewalld_info.json"))
PATHS = dict((name, "/usr/sbin/" + name) for name in TOOLS)
PATHS.update({"firewall-cmd": "/usr/bin/firewall-cmd", "apt-get": "/usr/bin/apt-get"})


class Host:
    """which(), run() and systemctl() of the captured lab host, recording what ran."""

    def __init__(self, missing=(), answers=None, show="systemctl_show_firewalld_running.txt"):
        self.missing = set(missing)
        self.answers = {
            "nft": (0, _fixture("nft_ruleset_xt.json"), ""),
            "iptables-nft-save": (0, _fixture("iptables_nft_save.txt"), ""),
            "ip6tables-nft-save": (0, "", ""),
            "iptables-legacy-save": (0, _fixture("iptables_legacy_save.txt"), ""),
            "ip6tables-legacy-save": (0, "", ""),
            "ip": (0, _fixture("ip_addr.json"), ""),
        }
        self.answers.update(answers or {})
        self.show = show
        self.ran = []

    def which(self, name):
        return None if name in self.missing else PATHS.get(name)

    def run(self, argv):
        self.ran.append(argv)
        return self.answers[os.path.basename(argv[0])]

    def systemctl(self, args):
        self.ran.append(["systemctl"] + args)
        return 0, _fixture(self.show), ""


class Client:
    def getDefaultZone(self):
        return "public"

    def getZones(self):
        return []


def _client():
    return Client(), "1.3.3"


@pytest.fixture
def files(tmp_path):
    """The captured host's files: procfs with mounts and legacy names, /etc files."""
    proc = tmp_path / "proc"
    (proc / "net").mkdir(parents=True)
    (proc / "net" / "ip_tables_names").write_text(_fixture("ip_tables_names.txt"))
    (proc / "net" / "ip6_tables_names").write_text("")
    (proc / "mounts").write_text("overlay / overlay rw 0 0\nnfs:/srv /mnt nfs4 rw 0 0\n")
    (proc / "1").mkdir()
    (proc / "1" / "stat").write_bytes(b"1 (systemd) S 0 1 1 0")
    os.symlink("1", str(proc / "self"))
    etc = tmp_path / "etc"
    (etc / "ufw").mkdir(parents=True)
    (etc / "ufw" / "ufw.conf").write_text(_fixture("ufw.conf"))
    (etc / "default").mkdir()
    (etc / "default" / "ufw").write_text(_fixture("default_ufw"))
    (etc / "exports").write_text("/srv/share 10.99.0.0/24(ro,sync)\n")
    (etc / "debian_version").write_text("12.8\n")
    return {
        "proc": str(proc),
        # No Docker socket, no podman store: neither engine is asked.
        "docker_sockets": (str(tmp_path / "run" / "docker.sock"),),
        "podman_store": str(tmp_path / "var" / "lib" / "containers" / "storage"),
        # The run root exists (podman ran since boot); the store decides.
        "podman_runroot": str(tmp_path),
        "paths": {
            "exports": str(etc / "exports"),
            "ufw_conf": str(etc / "ufw" / "ufw.conf"),
            "ufw_defaults": str(etc / "default" / "ufw"),
            "debian_version": str(etc / "debian_version"),
        },
    }


def _read(host, files, **kw):
    kw.setdefault("environ", {"SSH_CONNECTION": "10.88.0.1 50712 10.88.0.159 22"})
    kw.setdefault("docker_sockets", files["docker_sockets"])
    kw.setdefault("podman_store", files["podman_store"])
    kw.setdefault("podman_runroot", files["podman_runroot"])
    return read_host(
        host.run,
        host.which,
        systemctl=host.systemctl,
        proc_path=files["proc"],
        paths=files["paths"],
        firewalld_client=_client,
        **kw,
    )


def test_the_captured_host(files):
    host = Host()
    result = _read(host, files)
    assert sorted(result) == sorted(
        [
            "version", "units", "ufw", "tools", "ruleset", "interfaces", "exports", "mounts",
            "ssh_connection", "pkg_mgr", "firewalld", "portguard_rules", "containers", "errors",
        ]
    )  # fmt: skip
    assert result["portguard_rules"] is None  # no rules file in the fixture tree
    assert result["version"] == 1
    assert sorted(result["units"]) == sorted(HOST_UNITS)
    assert result["units"]["firewalld.service"]["active_state"] == "active"
    assert result["ufw"] == {"installed": True, "enabled": False, "ipv6": True}
    assert result["tools"] == dict((name, PATHS[name]) for name in TOOLS)
    assert result["ruleset"]["nft"] == _fixture("nft_ruleset_xt.json")
    assert result["ruleset"]["iptables_nft_save"]["ipv4"] == _fixture("iptables_nft_save.txt")
    assert result["ruleset"]["iptables_legacy_save"] == {
        "ipv4": _fixture("iptables_legacy_save.txt"),
        "ipv6": None,
    }
    assert [i["ifname"] for i in result["interfaces"]] == ["lo", "eth0"]
    assert result["interfaces"][1]["addr_info"][0]["local"] == "10.88.0.159"
    assert result["exports"] == "/srv/share 10.99.0.0/24(ro,sync)\n"
    assert result["mounts"].splitlines()[1] == "nfs:/srv /mnt nfs4 rw 0 0"
    assert result["ssh_connection"] == "10.88.0.1 50712 10.88.0.159 22"
    assert result["pkg_mgr"] == "apt"
    assert result["firewalld"] == {
        "default_zone": "public",
        "info": {"version": "1.3.3", "default_zone": "public", "zones": {}},
        "services": {},
        "unknown_services": [],
        "source": "dbus",
        "error": None,
    }
    # docker.service is not installed; podman is, but its store is not there.
    assert result["containers"] == {
        "engines": {
            "docker": {"state": "not installed", "source": None, "error": None},
            "podman": {"state": "not running", "source": None, "error": None},
        },
        "containers": [],
    }
    assert result["errors"] == []
    assert json.loads(json.dumps(result)) == result
    # One systemctl call; every program by its absolute path, with an argv list.
    assert [r for r in host.ran if r[0] == "systemctl"] == [host.ran[0]]
    assert [r[0] for r in host.ran[1:]] == [
        "/usr/sbin/nft",
        "/usr/sbin/iptables-nft-save",
        "/usr/sbin/ip6tables-nft-save",
        "/usr/sbin/iptables-legacy-save",
        "/usr/sbin/ip",
    ]


def test_options_false_leave_ruleset_and_firewalld_out(files):
    host = Host()
    result = _read(host, files, ruleset=False, firewalld=False)
    assert result["ruleset"] is None
    assert result["firewalld"] is None
    assert [r[0] for r in host.ran] == ["systemctl", "/usr/sbin/ip"]


def _engine_units(docker_service, docker_socket):
    """The captured units with docker.service's and docker.socket's ActiveState set (and the
    units loaded)."""
    text = _fixture("systemctl_show_firewalld_running.txt")
    for unit, state in (("docker.service", docker_service), ("docker.socket", docker_socket)):
        block = "Id=%s\nLoadState=not-found\nActiveState=inactive\n" % unit
        assert block in text
        text = text.replace(block, "Id=%s\nLoadState=loaded\nActiveState=%s\n" % (unit, state))
    return text


@pytest.mark.kernel
def test_the_engines_containers(files, serve, tmp_path):
    body = _fixture("docker_24_containers.json").encode("utf-8")
    server = serve(answer(docker_http(body, "24.0.7", "1.43")))
    os.makedirs(files["podman_store"])
    podman = _fixture("podman_4.3_ps.json")
    host = Host(answers={"podman": (0, podman, "")})
    units = _engine_units("active", "active")
    host.systemctl = lambda args: (0, units, "")
    result = _read(host, files, docker_sockets=(server.path,))
    assert result["units"]["docker.service"]["active_state"] == "active"
    assert result["containers"] == {
        "engines": {
            "docker": {"state": "read", "source": server.path, "error": None},
            "podman": {"state": "read", "source": "podman ps", "error": None},
        },
        "containers": parse_docker(body)[0] + parse_podman(podman)[0],
    }
    assert [
        (c["engine"], c["name"], len(c["ports"])) for c in result["containers"]["containers"]
    ] == [
        ("docker", "shop-web-1", 2),
        ("docker", "shop-db-1", 1),
        ("podman", "web", 4),
        ("podman", "blog_agent_1", 0),
    ]
    assert result["errors"] == []
    assert server.connections == 1
    assert host.ran[-1] == ["/usr/sbin/podman", "ps", "--format", "json", "--no-trunc"]
    assert json.loads(json.dumps(result)) == result


@pytest.mark.parametrize(
    "service, trigger, state",
    [
        ("inactive", "active", "not running"),  # a connection would start dockerd
        ("inactive", "inactive", "not running"),
        ("failed", "active", "not running"),
    ],
)
@pytest.mark.kernel
def test_docker_not_asked_unless_its_service_is_active(files, serve, service, trigger, state):
    server = serve(answer(docker_http(b"[]")))
    host = Host()
    units = _engine_units(service, trigger)
    host.systemctl = lambda args: (0, units, "")
    result = _read(host, files, docker_sockets=(server.path,))
    assert result["units"]["docker.socket"]["active_state"] == trigger
    assert result["containers"]["engines"]["docker"] == {
        "state": state,
        "source": None,
        "error": None,
    }
    assert server.connections == 0


@pytest.mark.kernel
def test_engine_problems_are_host_errors(files, serve):
    server = serve(answer(docker_http(b"<html>")))
    os.makedirs(files["podman_store"])
    host = Host(answers={"podman": (125, "", "Error: database is locked\n")})
    units = _engine_units("active", "active")
    host.systemctl = lambda args: (0, units, "")
    result = _read(host, files, docker_sockets=(server.path,))
    assert result["containers"]["containers"] == []
    assert result["errors"] == [
        "docker: GET /containers/json on %s: not JSON: Expecting value: line 1 column 1 (char 0)"
        % server.path,
        "podman: podman ps --format json --no-trunc failed (rc 125): Error: database is locked",
    ]
    assert result["containers"]["engines"]["podman"]["state"] == "failed"


@pytest.mark.parametrize("state", ["inactive", "failed", "activating", "deactivating"])
def test_firewalld_read_only_when_active(files, state):
    host = Host()
    text = _fixture("systemctl_show_firewalld_running.txt")
    stopped = text.replace("ActiveState=active\n", "ActiveState=%s\n" % state, 1)
    assert stopped != text

    def systemctl(args):
        return 0, stopped, ""

    host.systemctl = systemctl
    result = _read(host, files)
    assert result["units"]["firewalld.service"]["active_state"] == state
    assert result["firewalld"] is None


def test_without_systemd_or_tools(files):
    host = Host(missing=TOOLS + ("apt-get",))
    result = read_host(
        host.run,
        host.which,
        systemctl=None,
        systemd_unavailable="/run/systemd/system does not exist (not booted with systemd)",
        proc_path=files["proc"],
        environ={},
        paths=files["paths"],
        firewalld_client=_client,
        docker_sockets=files["docker_sockets"],
        podman_store=files["podman_store"],
        podman_runroot=files["podman_runroot"],
    )
    assert result["units"] == {}
    assert result["tools"] == dict.fromkeys(TOOLS)
    assert result["ufw"] == {"installed": False, "enabled": False, "ipv6": True}
    assert result["ruleset"] == {
        "nft": None,
        "iptables_nft_save": {"ipv4": None, "ipv6": None},
        "iptables_legacy_save": {"ipv4": None, "ipv6": None},
    }
    assert result["interfaces"] == []
    assert result["pkg_mgr"] == "unknown"
    assert result["firewalld"] is None
    assert result["ssh_connection"] == ""
    assert result["containers"]["engines"] == {
        "docker": {"state": "not running", "source": None, "error": None},
        "podman": {"state": "not installed", "source": None, "error": None},
    }
    assert result["errors"] == [
        "units not read: /run/systemd/system does not exist (not booted with systemd)",
        "legacy ipv4 tables are loaded (filter) but iptables-legacy-save is not installed: "
        "their rules are not read",
        "interfaces not read: ip is not installed",
    ]
    assert host.ran == []


def test_firewalld_error_is_also_a_host_error(files):
    def unreachable():
        raise RuntimeError("no bus")

    host = Host()
    result = read_host(
        host.run,
        host.which,
        systemctl=host.systemctl,
        proc_path=files["proc"],
        environ={},
        paths=files["paths"],
        firewalld_client=unreachable,
        docker_sockets=files["docker_sockets"],
        podman_store=files["podman_store"],
        podman_runroot=files["podman_runroot"],
    )
    assert result["firewalld"]["error"] == "cannot reach firewalld over D-Bus: no bus"
    assert result["errors"] == ["firewalld: cannot reach firewalld over D-Bus: no bus"]


@pytest.mark.parametrize(
    "text, name, value",
    [
        ("ENABLED=yes\n", "ENABLED", "yes"),
        ("# ENABLED=yes\nENABLED=no\n", "ENABLED", "no"),
        ('IPV6="yes"\n', "IPV6", "yes"),
        ("IPV6='no' # comment\n", "IPV6", "no"),
        ("  ENABLED=yes  \nENABLED=no\nENABLED=yes\n", "ENABLED", "yes"),
        ("ENABLEDX=yes\n", "ENABLED", None),
        ("", "ENABLED", None),
        (None, "ENABLED", None),
    ],
)
def test_shell_setting(text, name, value):
    assert shell_setting(text, name) == value


@pytest.mark.parametrize(
    "conf, defaults, enabled, ipv6",
    [
        ("ENABLED=yes\n", "IPV6=no\n", True, False),
        ("ENABLED=YES\n", "IPV6=yes\n", True, True),
        ("ENABLED=maybe\n", "", None, None),
        (None, None, None, None),  # files missing
    ],
)
def test_read_ufw(tmp_path, conf, defaults, enabled, ipv6):
    for name, text in (("ufw.conf", conf), ("ufw", defaults)):
        if text is not None:
            (tmp_path / name).write_text(text)
    errors = []
    result = read_ufw("/usr/sbin/ufw", str(tmp_path / "ufw.conf"), str(tmp_path / "ufw"), errors)
    assert result == {"installed": True, "enabled": enabled, "ipv6": ipv6}
    assert errors == []


@pytest.mark.parametrize(
    "programs, debian_like, manager",
    [
        (["apt-get", "dnf"], True, "apt"),
        (["apt-get", "dnf"], False, "dnf"),
        (["apt-get"], False, "apt"),
        (["yum", "dnf"], False, "dnf"),
        (["yum"], False, "yum"),
        (["zypper"], False, "zypper"),
        (["zypper"], True, "zypper"),
        ([], True, "unknown"),
    ],
)
def test_package_manager(programs, debian_like, manager):
    def which(name):
        return "/usr/bin/" + name if name in programs else None

    assert package_manager(which, debian_like) == manager


@pytest.mark.parametrize(
    "answer, error",
    [
        ((255, "", "Option \"-j\" is unknown, try \"ip -help\".\n"),
         'ip -j addr failed (rc 255): Option "-j" is unknown, try "ip -help".'),
        ((0, "not json", ""), "ip -j addr: not JSON: Expecting value: line 1 column 1 (char 0)"),
        ((0, '{"ifname": "lo"}', ""), "ip -j addr: expected a list of interfaces"),
        ((0, '["lo"]', ""), "ip -j addr: expected a list of interfaces"),
    ],
)  # fmt: skip
def test_interfaces_failures(answer, error):
    errors = []
    assert read_interfaces(lambda argv: answer, "/usr/sbin/ip", errors) == []
    assert errors == [error]


def test_read_text(tmp_path):
    errors = []
    (tmp_path / "bytes").write_bytes(b"/srv \xff(ro)\n")
    assert read_text(str(tmp_path / "bytes"), errors) == "/srv \ufffd(ro)\n"
    assert read_text(str(tmp_path / "absent"), errors) == ""
    assert read_text(str(tmp_path), errors) == ""  # a directory
    assert errors == ["cannot read %s: Is a directory" % tmp_path]


@pytest.mark.parametrize(
    "text, rules, errors",
    [
        (None, None, []),
        ('# x\n# rules: [{"port": 8080, "protocol": "tcp", "action": "block", "sources": [], '
         '"ids": []}]\ntable inet portguard\n',
         [{"port": 8080, "protocol": "tcp", "action": "block", "sources": [], "ids": []}], []),
        ("# rules: [oops\n", None, ["the recorded rules are not JSON"]),
        ("table inet portguard\n", None, ["records no rules (written by an older release?)"]),
    ],
)  # fmt: skip
def test_own_rules_from_the_rules_file(tmp_path, text, rules, errors):
    path = tmp_path / "nftables.nft"
    if text is not None:
        path.write_text(text)
    found = []
    assert read_own_rules(str(path), found) == rules
    assert len(found) == len(errors)
    for line, expected in zip(found, errors):
        assert line.startswith(str(path)) and expected in line
