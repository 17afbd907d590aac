# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewalld_services against a firewall-cmd that answers from captured output."""

import json
import os
import sys

import pytest
import yaml
from ansible_collections.portguard.hardening.plugins.modules import firewalld_services
from module_args import patch_module_args

FIXTURES = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "module_utils",
    "fixtures",
    "firewalld",
)
# Answers like firewall-cmd: the captured text, 101 (INVALID_SERVICE) for an unknown service,
# 252 (NOT_RUNNING) for the service named "down".
FAKE_FIREWALL_CMD = """#!{python}
import os, sys
with open({log!r}, "a") as log:
    log.write(" ".join(sys.argv[1:]) + " LC_ALL=" + os.environ.get("LC_ALL", "") + "\\n")
name = sys.argv[1].split("=", 1)[1]
if name == "down":
    sys.stdout.write("FirewallD is not running\\n")
    sys.exit(252)
path = os.path.join({fixtures!r}, "info-service-%s.txt" % name)
if not os.path.exists(path):
    sys.stderr.write("Error: INVALID_SERVICE: %s\\n" % name)
    sys.exit(101)
with open(path) as f:
    sys.stdout.write(f.read())
"""


@pytest.fixture
def firewall_cmd(tmp_path, monkeypatch):
    """Put the fake firewall-cmd on PATH; yields the file its calls are logged to."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.txt"
    script = bin_dir / "firewall-cmd"
    script.write_text(
        FAKE_FIREWALL_CMD.format(python=sys.executable, log=str(log), fixtures=FIXTURES)
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ.get("PATH", ""))
    return log


def run(args, capsys):
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        firewalld_services.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("check_mode", [False, True])
def test_follows_includes_and_reports_unknown(firewall_cmd, capsys, check_mode):
    args = {"names": ["samba", "ssh", "no-such-service"]}
    if check_mode:
        args["_ansible_check_mode"] = True
    code, result = run(args, capsys)
    assert code == 0
    assert result["changed"] is False
    assert result["unknown"] == ["no-such-service"]
    assert result["services"] == {
        "samba": {
            "ports": ["139/tcp", "445/tcp"],
            "includes": ["samba-client"],
            "all_ports": ["137/udp", "138/udp", "139/tcp", "445/tcp"],
        },
        "samba-client": {
            "ports": ["138/udp"],
            "includes": ["netbios-ns"],
            "all_ports": ["137/udp", "138/udp"],
        },
        "netbios-ns": {"ports": ["137/udp"], "includes": [], "all_ports": ["137/udp"]},
        "ssh": {"ports": ["22/tcp"], "includes": [], "all_ports": ["22/tcp"]},
    }
    calls = sorted(firewall_cmd.read_text().splitlines())
    assert calls == [
        "--info-service=netbios-ns LC_ALL=C",
        "--info-service=no-such-service LC_ALL=C",
        "--info-service=samba LC_ALL=C",
        "--info-service=samba-client LC_ALL=C",
        "--info-service=ssh LC_ALL=C",
    ]


def test_a_firewall_cmd_failure_names_the_service(firewall_cmd, capsys):
    code, result = run({"names": ["down"]}, capsys)
    assert code == 1
    assert result["failed"] is True
    assert result["msg"] == (
        "firewall-cmd --info-service=down failed (rc 252): FirewallD is not running"
    )


def test_without_firewall_cmd(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(firewalld_services.AnsibleModule, "get_bin_path", lambda *a, **k: None)
    code, result = run({"names": ["ssh"]}, capsys)
    assert code == 1
    assert result["msg"] == "firewall-cmd not found: firewalld_services needs firewalld running"


def test_documentation_matches_the_module():
    doc = yaml.safe_load(firewalld_services.DOCUMENTATION)
    assert list(doc["options"]) == ["names"]
    assert doc["attributes"]["check_mode"]["support"] == "full"
    returned = yaml.safe_load(firewalld_services.RETURN)
    assert sorted(returned) == ["services", "unknown"]
    assert sorted(returned["services"]["contains"]) == ["all_ports", "includes", "ports"]
