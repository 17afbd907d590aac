# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exposed_ports_scan module as it runs on a scanner host: its documentation matches its
arguments, bad fields fail naming them with nothing sent, the scanner's own address is not
probed. Only loopback is addressed."""

import json

import pytest
import yaml
from ansible_collections.portguard.hardening.plugins.modules import exposed_ports_scan
from module_args import patch_module_args


def _main(args, capsys):
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        exposed_ports_scan.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def test_documentation_matches_the_argument_spec():
    doc = yaml.safe_load(exposed_ports_scan.DOCUMENTATION)["options"]
    spec = exposed_ports_scan.ARGUMENT_SPEC
    assert sorted(doc) == sorted(spec)
    for name, option in doc.items():
        assert (option["type"], option.get("default"), option.get("elements")) == (
            spec[name]["type"],
            spec[name].get("default"),
            spec[name].get("elements"),
        ), name
    for task in yaml.safe_load(exposed_ports_scan.EXAMPLES):
        assert set(task["portguard.hardening.exposed_ports_scan"]) <= set(spec)


@pytest.mark.parametrize("check_mode", [False, True])
@pytest.mark.kernel
def test_the_scanners_own_address_is_not_probed(capsys, check_mode):
    args = {"targets": [{"host": "web1", "address": "::1", "tcp_ports": [22], "udp_ports": []}]}
    if check_mode:
        args["_ansible_check_mode"] = True
    code, result = _main(args, capsys)
    assert code == 0
    assert (result["changed"], result["probes"]) == (False, [])
    assert result["unprobed"] == [
        {
            "host": "web1",
            "address": "::1",
            "why": "::1 is a loopback address: the probe would see this scanner's own ports",
        }
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (
            {"targets": [{"host": "web1", "address": "::1", "tcp_ports": ["1-0"]}], "rate": -1},
            "targets[0].tcp_ports[0]: '1-0' is not within 1-65535, first to last; rate: "
            "expected a number from 0 to 1000000 (attempts per second, 0 for no limit), got "
            "-1.0; nothing was sent",
        ),
        (
            {"hosts": ["web1"]},
            "hosts: the plans are read on the controller; run this module through its action "
            "plugin (portguard.hardening.exposed_ports_scan), or give targets; nothing was sent",
        ),
    ],
)
def test_bad_arguments_fail_naming_the_field(capsys, args, message):
    code, result = _main(args, capsys)
    assert code == 1
    assert result["failed"] is True
    assert result["msg"] == message
