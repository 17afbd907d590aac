# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Builders the test suites share: role findings, action plugin runs, listening_facts entries and
a stand-in resolver."""

import ipaddress
import socket
from types import SimpleNamespace


def finding(**fields):
    """A finding as the role reports it, open and exposed to everyone on 0.0.0.0/tcp.

    ``fields`` sets the rest (rule, reason, port, action, processes, unit, status, note, ...);
    ``action`` also sets ``policy_action`` unless that is given.
    """
    entry = {
        "rule": None,
        "reason": None,
        "protocol": "tcp",
        "family": "ipv4",
        "address": "0.0.0.0",
        "port": None,
        "scope": "any",
        "interface": None,
        "processes": [],
        "pids": [],
        "unit": None,
        "activated_by": [],
        "policy_action": fields.get("action"),
        "action": None,
        "status": "open",
        "note": None,
        "sources": [],
        "exposure": "everyone",
        "exposed_to": [],
    }
    entry.update(fields)
    return entry


def run_action(name, args, check_mode=False, diff=False, task_vars=None, play_context=None):
    """Action plugin NAME's ActionModule.run with the least of a task and connection ActionBase
    reads; the connection has nothing to run a command or a module with (a test that lets the
    action run one replaces ActionModule._execute_module)."""
    # Imported here so that importing this module does not load controller code.
    import importlib

    module = importlib.import_module(
        "ansible_collections.portguard.hardening.plugins.action." + name
    )
    task = SimpleNamespace(
        args=args,
        async_val=0,
        check_mode=check_mode,
        diff=diff,
        action="portguard.hardening." + name,
    )
    connection = SimpleNamespace(_shell=SimpleNamespace(tmpdir=None))
    action = module.ActionModule(
        task,
        connection,
        play_context=play_context,
        loader=None,
        templar=None,
        shared_loader_obj=None,
    )
    return action.run(task_vars=task_vars or {})


def run_fleet_report(args, check_mode=False):
    """fleet_report's ActionModule.run."""
    return run_action("fleet_report", args, check_mode)


def socket_entry(
    protocol,
    family,
    address,
    port,
    inode,
    scope,
    processes=(),
    unit=None,
    activated=(),
    uid=0,
    v6only=None,
    holders=None,
    interface=None,
    verified=None,
    **owner,
):
    """One socket of listening_facts' result, with the defaults of a plain system socket."""
    if holders is None:
        holders = "process" if processes else "unknown"
    if verified is None:
        verified = unit is not None  # PID 1 confirms every unit it names
    fields = {
        "unit_problem": None,
        "user_manager": None,
        "user_unit": None,
        "container": None,
        "inner_cgroup": None,
    }
    fields.update(owner)
    return {
        "protocol": protocol,
        "family": family,
        "address": address,
        "port": port,
        "interface": interface,
        "scope": scope,
        "v6only": v6only,
        "inode": inode,
        "uid": uid,
        "holders": holders,
        "processes": list(processes),
        "unit": unit,
        "unit_verified": verified,
        **fields,
        "activated_by": list(activated),
    }


def stand_in_resolver(names=None):
    """A socket.getaddrinfo for tests: each name of ``names`` ({name: [addresses]}) as given, IP
    literals through the real resolver, every other name unknown (EAI_NONAME)."""
    names = names or {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002 - its signature
        if host in names:
            return [
                (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 0))
                for a in names[host]
            ]
        try:
            ipaddress.ip_address(str(host).partition("%")[0])
            literal = True
        except ValueError:
            literal = False
        if literal or flags & socket.AI_NUMERICHOST:
            return real(host, port, family, type, proto, flags)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    return getaddrinfo


def assert_documented(documentation, examples, spec, task_name):
    """A module's DOCUMENTATION options are its action's ARGUMENT_SPEC (type, default, required
    and elements each), and its EXAMPLES' tasks of ``task_name`` use only those options."""
    import yaml

    doc = yaml.safe_load(documentation)["options"]
    assert sorted(doc) == sorted(spec)
    for name, option in doc.items():
        assert (option["type"], option.get("default"), option.get("required", False)) == (
            spec[name]["type"],
            spec[name].get("default"),
            spec[name].get("required", False),
        ), name
        assert option.get("elements") == spec[name].get("elements"), name
    for task in yaml.safe_load(examples):
        args = task.get(task_name)
        if args:
            assert set(args) <= set(spec), task


def loopback_listener():
    """A TCP socket listening on 127.0.0.1, and its port (a fixture's body: yield from it)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    try:
        yield s.getsockname()[1]
    finally:
        s.close()
