# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exposed_ports_baseline lookup, with Ansible's own option handling: the host's file only,
checked, and errors that name the host or the file."""

import pytest
import yaml
from ansible import constants as C
from ansible.errors import AnsibleError
from ansible_collections.portguard.hardening.plugins.lookup import exposed_ports_baseline

NAME = "portguard.hardening.exposed_ports_baseline"
GOOD = "version: 1\nhost: web1\nlisteners:\n- {port: 22, protocol: tcp, scope: any, unit: null}\n"


@pytest.fixture
def lookup():
    plugin = exposed_ports_baseline.LookupModule()
    plugin._load_name = NAME
    options = yaml.safe_load(exposed_ports_baseline.DOCUMENTATION)["options"]
    C.config.initialize_plugin_configuration_definitions("lookup", NAME, options)
    return plugin


@pytest.fixture
def baselines(tmp_path):
    """A baseline directory with web1's file, and a valid x.yml beside it, outside."""
    directory = tmp_path / "baselines"
    directory.mkdir()
    (directory / "web1.yml").write_text(GOOD)
    (directory / "2001:db8::1.yml").write_text(GOOD.replace("web1", "2001:db8::1"))
    (tmp_path / "x.yml").write_text(GOOD.replace("web1", "x"))
    return directory


@pytest.mark.parametrize("host", ["web1", "2001:db8::1"])
def test_returns_the_hosts_document(lookup, baselines, host):
    [doc] = lookup.run([host], variables={}, dir=str(baselines))
    assert doc["host"] == host
    assert doc["listeners"] == [{"port": 22, "protocol": "tcp", "scope": "any", "unit": None}]


def test_relative_directory_is_taken_from_the_working_directory(lookup, baselines, monkeypatch):
    monkeypatch.chdir(baselines.parent)
    [doc] = lookup.run(["web1"], variables={}, dir="baselines")
    assert doc["host"] == "web1"


@pytest.mark.parametrize(
    "host,message",
    [
        pytest.param(
            "../x",
            "inventory host '../x' cannot name a file: the name contains '/', a path separator",
            id="traversal-to-a-valid-file",
        ),
        pytest.param(
            "a/b",
            "inventory host 'a/b' cannot name a file: the name contains '/', a path separator",
            id="slash",
        ),
        pytest.param("..", "inventory host '..' cannot name a file: the name starts with '.'"),
    ],
)
def test_host_names_that_leave_the_directory_are_refused(lookup, baselines, host, message):
    with pytest.raises(AnsibleError) as err:
        lookup.run([host], variables={}, dir=str(baselines))
    assert err.value.message == f"exposed_ports_baseline: {message}"


def test_size_limit_is_an_option(lookup, baselines):
    path = str(baselines / "web1.yml")
    with pytest.raises(AnsibleError) as err:
        lookup.run(["web1"], variables={}, dir=str(baselines), max_bytes=len(GOOD) - 1)
    assert err.value.message == (
        f"exposed_ports_baseline: {path!r} is larger than the limit of {len(GOOD) - 1} bytes; "
        "raise the limit if a host really has that many listeners"
    )
    assert lookup.run(["web1"], variables={}, dir=str(baselines), max_bytes=len(GOOD))


def test_alias_bomb_is_refused(lookup, baselines):
    bomb = 'a: &a ["lol", "lol"]\nb: &b [*a, *a]\nversion: 1\nhost: web1\nlisteners: *b\n'
    (baselines / "web1.yml").write_text(bomb)
    with pytest.raises(AnsibleError) as err:
        lookup.run(["web1"], variables={}, dir=str(baselines))
    path = str(baselines / "web1.yml")
    assert err.value.message == (
        f"exposed_ports_baseline: {path!r} defines the YAML anchor &a at line 1, column 4"
    )


def test_invalid_document_lists_every_problem(lookup, baselines):
    (baselines / "web1.yml").write_text("version: 2\nhost: web1\nlisteners: [{port: 0}]\n")
    with pytest.raises(AnsibleError) as err:
        lookup.run(["web1"], variables={}, dir=str(baselines))
    path = str(baselines / "web1.yml")
    assert err.value.message == (
        f"exposed_ports_baseline: {path!r}: 5 problems: baseline.version must be 1 (the only "
        "format this collection reads), got 2; baseline.listeners[0]: missing 'protocol'; "
        "baseline.listeners[0]: missing 'scope'; baseline.listeners[0]: missing 'unit' (write "
        "unit: null for a listener without a systemd unit); baseline.listeners[0].port 0 is not "
        "a port (an integer 1-65535)"
    )


@pytest.mark.parametrize("terms", [[], ["web1", "web2"]])
def test_one_host_per_lookup(lookup, baselines, terms):
    with pytest.raises(AnsibleError) as err:
        lookup.run(terms, variables={}, dir=str(baselines))
    assert err.value.message == f"exposed_ports_baseline: expected one host name, got {len(terms)}"
