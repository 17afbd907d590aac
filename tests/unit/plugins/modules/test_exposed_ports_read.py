# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""exposed_ports_read end to end: main() on the modelled rpcbind host, its programs faked."""

import gc
import json
import os
import sys

import pytest
import yaml
from ansible_collections.portguard.hardening.plugins.module_utils._read import (
    containers,
    firewalld,
    listening,
)
from ansible_collections.portguard.hardening.plugins.module_utils._read import host as host_read
from ansible_collections.portguard.hardening.plugins.module_utils._read.host import TOOLS
from ansible_collections.portguard.hardening.plugins.module_utils._read.units import HOST_UNITS
from ansible_collections.portguard.hardening.plugins.modules import (
    exposed_ports_read,
    listening_facts,
)
from module_args import patch_module_args

HERE = os.path.dirname(__file__)
SYSTEMD = os.path.join(HERE, "..", "module_utils", "fixtures", "systemd")
READ = os.path.join(HERE, "..", "module_utils", "_read", "fixtures")

# One script for every faked program: logs its name, argv and LC_ALL, then answers.
FAKE = """#!{python}
import json, os, sys
name = os.path.basename(sys.argv[0])
with open({log!r}, "a") as log:
    log.write(json.dumps([name] + sys.argv[1:] + [os.environ.get("LC_ALL")]) + "\\n")
answers = {answers!r}
if name == "systemctl":
    if sys.argv[1] == "list-units":
        key = "list-units"
    elif "SubState" in sys.argv:
        key = "host-units"
    elif "LoadState" in sys.argv:
        key = "units"
    else:
        key = "sockets"
else:
    key = " ".join([name] + sys.argv[1:])
rc, path = answers[key]
if path:
    with open(path) as f:
        sys.stdout.write(f.read())
sys.exit(rc)
"""
ANSWERS = {
    "list-units": (0, os.path.join(SYSTEMD, "rpcbind_list_units.txt")),
    "sockets": (0, os.path.join(SYSTEMD, "rpcbind_show.txt")),
    "units": (0, os.path.join(SYSTEMD, "rpcbind_units_show.txt")),
    "host-units": (0, os.path.join(READ, "systemctl_show_firewalld_running.txt")),
    "nft -j list ruleset": (0, os.path.join(READ, "nft_ruleset_xt.json")),
    "iptables-nft-save": (0, os.path.join(READ, "iptables_nft_save.txt")),
    "ip6tables-nft-save": (1, None),
    "ip -j addr": (0, os.path.join(READ, "ip_addr.json")),
    "firewall-cmd --version": (0, os.path.join(READ, "firewall_cmd_version.txt")),
    "firewall-cmd --get-default-zone": (0, os.path.join(READ, "firewall_cmd_default_zone.txt")),
    "firewall-cmd --list-all-zones": (0, os.path.join(READ, "firewall_cmd_list_all_zones.txt")),
}
for _name in ("dhcpv6-client", "mdns", "netbios-ns", "samba", "samba-client", "ssh"):
    ANSWERS["firewall-cmd --info-service=" + _name] = (
        0,
        os.path.join(READ, "info_service_%s.txt" % _name),
    )
PROGRAMS = ("systemctl", "nft", "iptables-nft-save", "ip6tables-nft-save", "ip", "firewall-cmd")


def users(uid):
    return {0: "root", 107: "_rpc", 33: "www-data"}.get(uid, str(uid))


@pytest.fixture
def lab(tmp_path, monkeypatch, proc_tree):
    """The rpcbind procfs with systemd and the faked programs; only they are found."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.jsonl"
    for name in PROGRAMS:
        script = bin_dir / name
        script.write_text(FAKE.format(python=sys.executable, log=str(log), answers=ANSWERS))
        script.chmod(0o755)

    def get_bin_path(self, name, required=False, opt_dirs=None):
        path = bin_dir / name
        return str(path) if path.exists() else None

    monkeypatch.setattr(exposed_ports_read.AnsibleModule, "get_bin_path", get_bin_path)
    monkeypatch.setattr(listening, "SYSTEMD_BOOTED_MARKER", str(tmp_path))
    monkeypatch.setattr(listening, "lookup_user", users)

    def no_bindings():
        raise ImportError("No module named 'firewall'")

    monkeypatch.setattr(firewalld, "dbus_client", no_bindings)
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "exports").write_text("/srv 10.0.0.0/8(ro)\n")
    (etc / "ufw.conf").write_text("ENABLED=no\n")
    for key, path in (
        ("exports", etc / "exports"),
        ("ufw_conf", etc / "ufw.conf"),
        ("ufw_defaults", etc / "absent"),
        ("debian_version", etc / "absent"),
    ):
        monkeypatch.setitem(host_read.PATHS, key, str(path))
    root = proc_tree("proc_rpcbind")
    with open(os.path.join(root, "mounts"), "w") as f:
        f.write("proc /proc proc rw 0 0\n")
    return {"root": root, "log": log}


def _main(module, args, capsys):
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        module.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("check_mode", [False, True])
def test_main_reads_the_host(lab, capsys, check_mode):
    args = {"source": "proc", "proc_path": lab["root"]}
    if check_mode:
        args["_ansible_check_mode"] = True
    code, result = _main(exposed_ports_read, args, capsys)
    assert code == 0
    assert gc.isenabled()
    assert result["changed"] is False
    assert "ansible_facts" not in result
    host = result["host"]
    assert host["version"] == 1
    assert sorted(host["units"]) == sorted(HOST_UNITS)
    assert host["units"]["firewalld.service"]["sub_state"] == "running"
    assert sorted(host["tools"]) == sorted(TOOLS)
    assert host["tools"]["ufw"] is None
    assert host["tools"]["nft"].endswith("/bin/nft")
    assert host["ruleset"]["nft"].startswith('{"nftables": [{"metainfo"')
    assert "--ctstate NEW -m multiport" in host["ruleset"]["iptables_nft_save"]["ipv4"]
    assert host["ruleset"]["iptables_nft_save"]["ipv6"] is None
    assert host["ruleset"]["iptables_legacy_save"] == {"ipv4": None, "ipv6": None}
    assert [i["ifname"] for i in host["interfaces"]] == ["lo", "eth0"]
    assert host["exports"] == "/srv 10.0.0.0/8(ro)\n"
    assert host["pkg_mgr"] == "unknown"
    assert host["mounts"] == "proc /proc proc rw 0 0\n"
    assert host["ssh_connection"] == ""
    assert host["ufw"] == {"installed": False, "enabled": False, "ipv6": None}
    assert host["firewalld"]["source"] == "firewall-cmd"
    assert host["firewalld"]["error"] is None
    assert host["firewalld"]["default_zone"] == "public"
    assert host["firewalld"]["info"]["zones"]["lab"]["ports"] == [["8080", "tcp"]]
    assert host["firewalld"]["services"]["samba"]["all_ports"] == [
        "137/udp",
        "138/udp",
        "139/tcp",
        "445/tcp",
    ]
    # No engine is installed: neither is asked.
    assert host["containers"] == {
        "engines": {
            "docker": {"state": "not installed", "source": None, "error": None},
            "podman": {"state": "not installed", "source": None, "error": None},
        },
        "containers": [],
    }
    assert host["errors"] == ["ip6tables-nft-save failed (rc 1): no output"]
    calls = [json.loads(line) for line in lab["log"].read_text().splitlines()]
    # Every program in the C locale; systemctl four times: three for sockets, one for units.
    assert set(c[-1] for c in calls) == {"C"}
    assert [c[0] for c in calls].count("systemctl") == 4
    host_units = [c for c in calls if c[0] == "systemctl" and "SubState" in c]
    assert len(host_units) == 1
    assert host_units[0][-len(HOST_UNITS) - 1 : -1] == list(HOST_UNITS)
    assert [c[:-1] for c in calls if c[0] != "systemctl" and c[0] != "firewall-cmd"] == [
        ["nft", "-j", "list", "ruleset"],
        ["iptables-nft-save"],
        ["ip6tables-nft-save"],
        ["ip", "-j", "addr"],
    ]


def test_sockets_are_listening_facts_own(lab, capsys):
    args = {"source": "proc", "proc_path": lab["root"], "protocols": ["tcp"]}
    code, read = _main(exposed_ports_read, dict(args, ruleset=False, firewalld=False), capsys)
    assert code == 0
    code, facts = _main(listening_facts, args, capsys)
    assert code == 0
    assert read["listening_sockets"] == facts["ansible_facts"]["listening_sockets"]
    assert read["listening_sockets_meta"] == facts["ansible_facts"]["listening_sockets_meta"]
    found = [(e["port"], e["unit"], e["unit_verified"]) for e in read["listening_sockets"]]
    assert (80, "nginx.service", True) in found
    assert (111, "rpcbind.service", True) in found
    assert "rpcbind.socket" in [
        u["unit"] for u in read["listening_sockets_meta"]["systemd"]["socket_units"]
    ]
    assert read["host"]["ruleset"] is None
    assert read["host"]["firewalld"] is None


@pytest.mark.parametrize(
    "args, message",
    [
        ({"cmdline_max": -1}, "cmdline_max: expected 0 (no command lines) or a number of bytes"),
        ({"source": "sock_diag", "proc_path": "/no/proc"}, "cannot list processes in /no/proc"),
        ({"ruleset": "maybe"}, "argument 'ruleset' is of type"),
    ],
)  # fmt: skip
@pytest.mark.kernel
def test_main_fails_with_a_sentence(lab, capsys, args, message):
    code, result = _main(exposed_ports_read, args, capsys)
    assert code == 1
    assert result["failed"] is True
    assert result["msg"].startswith(message)


def _doc(text):
    return yaml.safe_load(text)


def test_documentation_matches_argument_spec():
    doc = _doc(exposed_ports_read.DOCUMENTATION)
    assert doc["module"] == "exposed_ports_read"
    assert str(doc["version_added"]) == "0.1.0"
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert set(doc["options"]) == set(exposed_ports_read.ARGUMENT_SPEC)
    for name, spec in exposed_ports_read.ARGUMENT_SPEC.items():
        option = doc["options"][name]
        for key in ("type", "default", "choices", "elements"):
            assert option.get(key) == spec.get(key), (name, key)
    yaml.safe_load(exposed_ports_read.EXAMPLES)


def _unprefixed(tree):
    """listening_facts' documentation with its RV(ansible_facts.x) references as RV(x)."""
    return yaml.safe_load(yaml.safe_dump(tree).replace("RV(ansible_facts.", "RV("))


def test_socket_documentation_is_listening_facts_own():
    """The options and returned sockets are documented as listening_facts documents them."""
    ours = _doc(exposed_ports_read.DOCUMENTATION)["options"]
    theirs = _unprefixed(_doc(listening_facts.DOCUMENTATION)["options"])
    assert dict((k, ours[k]) for k in theirs) == theirs
    ours = _doc(exposed_ports_read.RETURN)
    theirs = _unprefixed(_doc(listening_facts.RETURN)["ansible_facts"]["contains"])
    for key in ("listening_sockets", "listening_sockets_meta"):
        assert ours[key] == dict(theirs[key], returned="always"), key


def _documented(value, doc, where):
    """Every key of a returned mapping is documented, recursively where contains says how."""
    contains = doc.get("contains")
    if contains is None or not isinstance(value, dict):
        return
    if where.endswith(("units", "services", "zones")):  # mappings keyed by name
        for name, entry in value.items():
            _documented(entry, {"contains": contains}, "%s[%s]" % (where, name))
        return
    assert set(value) <= set(contains), (where, sorted(set(value) - set(contains)))
    for key, entry in value.items():
        _documented(entry, contains[key], "%s.%s" % (where, key))


def test_return_documents_every_host_field(lab, capsys):
    code, result = _main(exposed_ports_read, {"source": "proc", "proc_path": lab["root"]}, capsys)
    assert code == 0
    doc = _doc(exposed_ports_read.RETURN)
    assert set(result) - {"changed", "invocation", "warnings"} == set(doc)
    host_doc = doc["host"]
    assert set(result["host"]) == set(host_doc["contains"])
    _documented(result["host"], host_doc, "host")
    firewalld_doc = host_doc["contains"]["firewalld"]["contains"]
    assert set(result["host"]["firewalld"]) == set(firewalld_doc)
    zone_doc = firewalld_doc["info"]["contains"]["zones"]["contains"]
    assert set(result["host"]["firewalld"]["info"]["zones"]["lab"]) == set(zone_doc)
    # No engine on the lab host: a parsed container stands in for the list's entries.
    containers_doc = host_doc["contains"]["containers"]["contains"]
    for engine in ("docker", "podman"):
        engine_doc = containers_doc["engines"]["contains"][engine]["contains"]
        assert set(result["host"]["containers"]["engines"][engine]) == set(engine_doc)
    with open(os.path.join(READ, "docker_24_containers.json")) as f:
        container = containers.parse_docker(f.read())[0][0]
    entry_doc = containers_doc["containers"]["contains"]
    assert set(container) == set(entry_doc)
    assert set(container["ports"][0]) == set(entry_doc["ports"]["contains"])
