# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every filter of the collection has its documentation file, and it matches the filter."""

import glob
import importlib
import inspect
import os

import pytest
import yaml

FILTER_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))),
    "plugins",
    "filter",
)
FILES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(FILTER_DIR, "*.py")))


def filters_of(module_name):
    module = importlib.import_module(
        "ansible_collections.portguard.hardening.plugins.filter." + module_name
    )
    return module.FilterModule().filters()


FILTERS = dict((name, f) for module in FILES for name, f in filters_of(module).items())


def test_filter_files_and_names():
    assert FILES == ["exposed_ports", "exposed_ports_report", "terminal_safe"]
    names = [name for module in FILES for name in filters_of(module)]
    # Every file is loaded into one namespace: a name defined twice would shadow a filter.
    assert len(names) == len(set(names)) == 13


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_documentation_matches_the_filter(name):
    with open(os.path.join(FILTER_DIR, name + ".yml")) as f:
        doc = yaml.safe_load(f)
    assert sorted(doc) == ["DOCUMENTATION", "EXAMPLES", "RETURN"]
    assert doc["DOCUMENTATION"]["name"] == name
    assert doc["DOCUMENTATION"]["version_added"] == "0.1.0"
    assert "_value" in doc["RETURN"]
    assert "portguard.hardening." + name in doc["EXAMPLES"]
    assert isinstance(yaml.safe_load(doc["EXAMPLES"]), list)
    # Documented options are the Python keyword arguments, in order for the positional ones.
    params = list(inspect.signature(FILTERS[name]).parameters)
    options = doc["DOCUMENTATION"]["options"]
    assert sorted(options) == sorted(["_input"] + params[1:])
    positional = doc["DOCUMENTATION"].get("positional")
    assert (positional.split(", ") if positional else []) == params[1:]


def test_no_documentation_file_without_its_filter():
    docs = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(FILTER_DIR, "*.yml")))
    assert docs == sorted(FILTERS)
