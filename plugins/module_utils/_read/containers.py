# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The containers of Docker and rootful podman and the ports they publish, from the engines' state.

A published port is rewritten (DNAT) before the host's input path, and with Docker's userland
proxy off, or with podman's netavark, no socket listens on it; so the socket read cannot see it
and the engines are asked.  Docker is asked over its API socket, and only while
``docker.service`` is active: a connection to a socket that only ``docker.socket`` holds would
start dockerd.  Podman is asked with ``podman ps`` through the caller's run(argv), and only
when its program and its store exist.  Reading starts and changes nothing.

parse_docker() and parse_podman() turn the engines' JSON into plain data and are pure; the
rest does the I/O.  Everything in the JSON comes from whoever created the container: it is
type-checked and bounded, and a malformed part is an error line naming the container and the
field, never part of a command.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import ipaddress
import json
import os
import re
import socket
import time

from ansible_collections.portguard.hardening.plugins.module_utils._read.commands import (
    command_text,
)
from ansible_collections.portguard.hardening.plugins.module_utils._values import is_port

DOCKER_SOCKETS = ("/run/docker.sock", "/var/run/docker.sock")
DOCKER_UNIT = "docker.service"
DOCKER_SOCKET_UNIT = "docker.socket"
# ActiveState values in which dockerd runs and answers.
RUNNING_STATES = ("active", "reloading")
DOCKER_REQUEST = b"GET /containers/json HTTP/1.0\r\nHost: docker\r\nUser-Agent: portguard\r\n\r\n"
PODMAN_STORE = "/var/lib/containers/storage"
# Rootful podman's run root: created by the first podman command after boot, which also resets
# the state of every container. Without it no rootful container runs, and asking would be that
# first command.
PODMAN_RUNROOT = "/run/containers/storage"
# A podman that waits on a held lock must not hang the whole read (coreutils' timeout).
PODMAN_TIMEOUT = ("-k", "2", "10")
PODMAN_PS = ("ps", "--format", "json", "--no-trunc")
PODMAN_SOURCE = "podman ps"
TIMEOUT = 5.0
MAX_RESPONSE = 16 * 1024 * 1024
# Ports one mapping (a podman range) is expanded to at most.
MAX_RANGE = 1024
# Characters kept of a name, an image, a project or a network mode.
MAX_TEXT = 255
# Characters of a malformed value an error line shows.
SHOWN = 60
PROJECT_LABELS = ("com.docker.compose.project", "io.podman.compose.project")
PROTOCOLS = ("tcp", "udp", "sctp")
_ID = re.compile(r"\A[0-9a-f]{64}\Z")
_JSON_TYPES = (
    (type(None), "null"),
    (bool, "a boolean"),
    (int, "a number"),
    (float, "a number"),
    (str, "a string"),
    (list, "an array"),
    (dict, "an object"),
)


class ContainerReadError(Exception):
    """An engine could not be read at all; the message says why."""


def json_type(value):
    """What a JSON value is, as an error line names it."""
    for kind, name in _JSON_TYPES:
        if isinstance(value, kind):
            return name
    return type(value).__name__


def shown(value):
    """A value as an error line shows it: repr, control characters escaped, at most SHOWN
    characters."""
    text = repr(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."


def _text(value, where, field, problems):
    """A string of at most MAX_TEXT characters, or None (missing, or not a string: a problem)."""
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append("%s: %s is %s, not a string: left out" % (where, field, json_type(value)))
        return None
    if len(value) > MAX_TEXT:
        problems.append(
            "%s: %s has %d characters: cut to %d" % (where, field, len(value), MAX_TEXT)
        )
        return value[:MAX_TEXT]
    return value


def _port(value):
    """value when it is a port number 1-65535 (a JSON number, not a boolean), else None."""
    return value if is_port(value) else None


def _host_ip(value):
    """The host address of a mapping: "" for all addresses, else the address in its usual
    form; None when it is neither."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _name(names, where, problems):
    """The container's name from Names: Docker's carry a leading "/" and, for legacy links,
    "/other/alias" entries; the first plain one is the name."""
    if names is None:
        return None
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list):
        problems.append("%s: Names is %s, not an array: left out" % (where, json_type(names)))
        return None
    found = []
    for index, name in enumerate(names):
        if not isinstance(name, str):
            problems.append(
                "%s: Names[%d] is %s, not a string: left out" % (where, index, json_type(name))
            )
            continue
        found.append(name[1:] if name.startswith("/") else name)
    plain = [name for name in found if "/" not in name] or found
    if not plain:
        return None
    return _text(plain[0], where, "Names", problems)


def _project(labels, where, problems):
    """The compose project a container belongs to, by its labels; None when it has none."""
    if labels is None:
        return None
    if not isinstance(labels, dict):
        problems.append("%s: Labels is %s, not an object: left out" % (where, json_type(labels)))
        return None
    for label in PROJECT_LABELS:
        if label in labels:
            return _text(labels[label], where, "Labels[%s]" % label, problems)
    return None


def _container(engine, raw, index, problems):
    """(container without ports, where) of one entry, or (None, None) when it is dropped."""
    if not isinstance(raw, dict):
        problems.append("entry %d is %s, not an object: dropped" % (index, json_type(raw)))
        return None, None
    cid = raw.get("Id")
    if not isinstance(cid, str) or not _ID.match(cid):
        problems.append("entry %d: Id %s is not a 64-digit hex id: dropped" % (index, shown(cid)))
        return None, None
    where = "container %s" % cid
    return {
        "engine": engine,
        "id": cid,
        "name": _name(raw.get("Names"), where, problems),
        "image": _text(raw.get("Image"), where, "Image", problems),
        "project": _project(raw.get("Labels"), where, problems),
        "network_mode": None,
        "ports": [],
    }, where


def _entries(data):
    """The list of containers the engine answered; raises ContainerReadError when it is not
    JSON or not a list."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    if not data.strip():
        return []
    try:
        entries = json.loads(data)
    except ValueError as exc:
        raise ContainerReadError("not JSON: %s" % exc) from None
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ContainerReadError("expected an array of containers, got %s" % json_type(entries))
    return entries


def _bad_port(where, field, index, why, problems):
    problems.append("%s: %s[%d] %s: left out" % (where, field, index, why))


def _port_entries(ports, where, problems):
    """(index, entry) of an engine's Ports array, each entry an object; what is not is a
    problem and left out."""
    if ports is None:
        return
    if not isinstance(ports, list):
        problems.append("%s: Ports is %s, not an array: left out" % (where, json_type(ports)))
        return
    for index, entry in enumerate(ports):
        if isinstance(entry, dict):
            yield index, entry
        else:
            _bad_port(where, "Ports", index, "is %s, not an object" % json_type(entry), problems)


def _docker_ports(ports, where, problems):
    """Docker's Ports: one entry per address and port; those without PublicPort are exposed
    but not published."""
    found = []
    for index, entry in _port_entries(ports, where, problems):
        if entry.get("PublicPort") in (None, 0):
            continue
        mapping = _mapping(
            entry.get("IP"), entry.get("PublicPort"), entry.get("Type"), entry.get("PrivatePort")
        )
        if isinstance(mapping, str):
            _bad_port(where, "Ports", index, mapping, problems)
        else:
            found.append(mapping)
    return found


def _mapping(host_ip, host_port, protocol, container_port):
    """One published port, or a string saying what is wrong with it."""
    address = _host_ip(host_ip)
    if address is None:
        return "has the host address %s" % shown(host_ip)
    if _port(host_port) is None:
        return "has the host port %s" % shown(host_port)
    if _port(container_port) is None:
        return "has the container port %s" % shown(container_port)
    if protocol not in PROTOCOLS:
        return "has the protocol %s" % shown(protocol)
    return {
        "host_ip": address,
        "host_port": host_port,
        "protocol": protocol,
        "container_port": container_port,
    }


def parse_docker(body):
    """(containers, problems) from the body of Docker's ``GET /containers/json``.

    ``body`` is text or bytes.  A container whose Id is not 64 hex digits is dropped; a
    malformed field or port is left out; each is a line in problems.  Raises
    ContainerReadError when the body is not JSON or not an array.
    """
    problems = []
    containers = []
    for index, raw in enumerate(_entries(body)):
        container, where = _container("docker", raw, index, problems)
        if container is None:
            continue
        host_config = raw.get("HostConfig")
        if isinstance(host_config, dict):
            container["network_mode"] = _text(
                host_config.get("NetworkMode"), where, "HostConfig.NetworkMode", problems
            )
        elif host_config is not None:
            problems.append(
                "%s: HostConfig is %s, not an object: left out" % (where, json_type(host_config))
            )
        container["ports"] = _docker_ports(raw.get("Ports"), where, problems)
        containers.append(container)
    return containers, problems


def _podman_protocols(value):
    """The protocols of a podman mapping ("tcp", or several as "tcp,udp"); None when one of
    them is not known."""
    if not isinstance(value, str):
        return None
    names = [name.strip() for name in value.split(",")]
    if not names or any(name not in PROTOCOLS for name in names):
        return None
    return names


def _podman_ports(ports, where, problems):
    """podman's Ports: 4.x {host_ip, container_port, host_port, range, protocol} (range
    consecutive ports, protocol possibly "tcp,udp"); 3.x {hostIP, containerPort, hostPort,
    protocol}."""
    found = []
    for index, entry in _port_entries(ports, where, problems):
        if "host_port" in entry or "container_port" in entry:
            host_ip, host_port = entry.get("host_ip"), entry.get("host_port")
            container_port, count = entry.get("container_port"), entry.get("range", 1)
        else:
            host_ip, host_port = entry.get("hostIP", entry.get("hostIp")), entry.get("hostPort")
            container_port, count = entry.get("containerPort"), 1
        if host_port in (None, 0):
            continue
        protocols = _podman_protocols(entry.get("protocol"))
        if protocols is None:
            _bad_port(
                where, "Ports", index, "has the protocol %s" % shown(entry.get("protocol")),
                problems,
            )  # fmt: skip
            continue
        if count in (None, 0):
            count = 1
        if _port(count) is None:
            _bad_port(where, "Ports", index, "has the range %s" % shown(count), problems)
            continue
        first = _mapping(host_ip, host_port, protocols[0], container_port)
        if isinstance(first, str):
            _bad_port(where, "Ports", index, first, problems)
            continue
        if max(host_port, container_port) + count - 1 > 65535:
            _bad_port(
                where, "Ports", index, "has a range of %d that ends beyond port 65535" % count,
                problems,
            )  # fmt: skip
            continue
        if count > MAX_RANGE:
            problems.append(
                "%s: Ports[%d] is a range of %d ports: only its first %d are listed"
                % (where, index, count, MAX_RANGE)
            )
            count = MAX_RANGE
        for protocol in protocols:
            for offset in range(count):
                found.append(
                    {
                        "host_ip": first["host_ip"],
                        "host_port": host_port + offset,
                        "protocol": protocol,
                        "container_port": container_port + offset,
                    }
                )
    return found


def parse_podman(text):
    """(containers, problems) from ``podman ps --format json`` (podman 3.x or later), as
    parse_docker().

    podman does not say a container's network mode; one attached to networks (Networks not
    empty) is in bridge mode, any other has network_mode None.
    """
    problems = []
    containers = []
    for index, raw in enumerate(_entries(text)):
        container, where = _container("podman", raw, index, problems)
        if container is None:
            continue
        networks = raw.get("Networks")
        if isinstance(networks, list) and networks:
            container["network_mode"] = "bridge"
        container["ports"] = _podman_ports(raw.get("Ports"), where, problems)
        containers.append(container)
    return containers, problems


_CHUNK_SIZE = re.compile(rb"\A[0-9A-Fa-f]{1,8}\Z")


def _chunked(body):
    """The body of a response in chunked transfer coding; raises ContainerReadError when it is
    cut short or malformed."""
    out = []
    at = 0
    while True:
        end = body.find(b"\r\n", at)
        if end < 0:
            raise ContainerReadError("the answer ends inside its chunked body")
        size_text = body[at:end].split(b";", 1)[0].strip()
        # Hex digits only: int() would take "-6" and the loop would never move on.
        if not _CHUNK_SIZE.match(size_text):
            raise ContainerReadError("the answer has a malformed chunk size %s" % shown(size_text))
        size = int(size_text, 16)
        if size == 0:
            return b"".join(out)
        start = end + 2
        if len(body) < start + size:
            raise ContainerReadError("the answer ends inside its chunked body")
        out.append(body[start : start + size])
        at = start + size + 2


def parse_http(response):
    """The body of a complete HTTP/1.x response whose status is 200; raises ContainerReadError
    otherwise (another status, a cut-short body, a malformed head)."""
    head, sep, body = response.partition(b"\r\n\r\n")
    if not sep:
        raise ContainerReadError("the answer ends before its headers do (%d bytes)" % len(response))
    lines = head.decode("iso-8859-1").split("\r\n")
    status = lines[0].split(None, 2)
    if len(status) < 2 or not status[0].startswith("HTTP/"):
        raise ContainerReadError("the answer is not HTTP: %s" % shown(lines[0]))
    headers = {}
    for line in lines[1:]:
        key, colon, value = line.partition(":")
        if colon:
            headers[key.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _chunked(body)
    elif "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError:
            raise ContainerReadError(
                "the answer has a malformed Content-Length %s" % shown(headers["content-length"])
            ) from None
        if len(body) < length:
            raise ContainerReadError(
                "the answer ends after %d of its %d bytes" % (len(body), length)
            )
        body = body[:length]
    if status[1] != "200":
        said = body.decode("utf-8", "replace").strip().splitlines()
        why = "the answer is %s" % " ".join(status[1:])
        raise ContainerReadError(why + (": %s" % shown(said[0]) if said else ""))
    return body


def unix_http_get(path, request=DOCKER_REQUEST, timeout=TIMEOUT, limit=MAX_RESPONSE):
    """The body of the answer to ``request`` (an HTTP/1.0 GET) on the AF_UNIX socket ``path``.

    The whole exchange has ``timeout`` seconds and the answer at most ``limit`` bytes.  HTTP/1.0
    makes the server end the body by closing the connection.  Raises OSError when the socket
    cannot be connected to, ContainerReadError for anything after.
    """
    deadline = time.monotonic() + timeout
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(path)
        try:
            sock.sendall(request)
            chunks = []
            size = 0
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise socket.timeout()
                sock.settimeout(left)
                chunk = sock.recv(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise ContainerReadError("the answer is larger than %d bytes" % limit)
                chunks.append(chunk)
        except socket.timeout:
            raise ContainerReadError("no complete answer within %g s" % timeout) from None
        except OSError as exc:
            raise ContainerReadError("the connection failed: %s" % (exc.strerror or exc)) from None
    finally:
        sock.close()
    return parse_http(b"".join(chunks))


def _engine(state, source=None, problems=(), containers=()):
    """(engine, containers, problems) of one engine's read; engine["error"] is its problems in
    one sentence."""
    problems = list(problems)
    engine = {"state": state, "source": source, "error": "; ".join(problems) or None}
    return engine, list(containers), problems


def docker_unit_state(units):
    """ "read", "not running" or "not installed" by docker.service and docker.socket in
    ``units``; None when units do not say (they were not read)."""
    service = units.get(DOCKER_UNIT)
    if not service:
        return None
    if service.get("active_state") in RUNNING_STATES:
        return "read"
    trigger = units.get(DOCKER_SOCKET_UNIT) or {}
    if service.get("load_state") == "not-found" and trigger.get("load_state") in (
        None,
        "not-found",
    ):
        return "not installed"
    return "not running"


def read_docker(units, sockets=DOCKER_SOCKETS, timeout=TIMEOUT, limit=MAX_RESPONSE):
    """(engine, containers, problems) of Docker: engine is {"state", "source", "error"}.

    The API is asked only when ``units`` say docker.service is active; never when only
    docker.socket is, as the connection would start dockerd.  When the units were not read
    it is not asked either: without a Docker socket nothing runs ("not running"), with one
    the state is "failed".  ``sockets`` are tried in turn, the next only when one does not
    exist.
    """
    state = docker_unit_state(units)
    if state is None:
        present = [path for path in sockets if os.path.exists(path)]
        if not present:
            return _engine("not running")
        return _engine(
            "failed",
            problems=[
                "not read: the state of %s is unknown (the units were not read), and a "
                "connection to %s could start it" % (DOCKER_UNIT, present[0])
            ],
        )
    if state != "read":
        return _engine(state)
    for path in sockets:
        try:
            body = unix_http_get(path, timeout=timeout, limit=limit)
            containers, problems = parse_docker(body)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            why = "cannot connect to %s: %s" % (path, exc.strerror or exc)
            return _engine("failed", path, [why])
        except ContainerReadError as exc:
            return _engine("failed", path, ["GET /containers/json on %s: %s" % (path, exc)])
        return _engine("read", path, problems, containers)
    return _engine(
        "failed",
        problems=["%s is active but none of %s exists" % (DOCKER_UNIT, ", ".join(sockets))],
    )


def read_podman(run, podman, store=PODMAN_STORE, runroot=PODMAN_RUNROOT, timeout_program=None):
    """(engine, containers, problems) of rootful podman, from ``podman ps`` run through
    run(argv).

    Asked only when the program ``podman`` (an absolute path, or None) and the store exist:
    without the store rootful podman has never run, and ``podman ps`` would create it.
    Rootless podman of other users is not read: its ports are sockets of the user's
    rootlessport or slirp4netns processes, which the socket read sees.
    """
    if not podman:
        return _engine("not installed")
    if not os.path.isdir(store) or not os.path.isdir(runroot):
        return _engine("not running")
    problems = []
    argv = [podman] + list(PODMAN_PS)
    if timeout_program:
        argv = [timeout_program] + list(PODMAN_TIMEOUT) + argv
    text = command_text(run, argv, problems)
    if text is None:
        return _engine("failed", PODMAN_SOURCE, problems)
    try:
        containers, problems = parse_podman(text)
    except ContainerReadError as exc:
        return _engine("failed", PODMAN_SOURCE, ["%s: %s" % (PODMAN_SOURCE, exc)])
    return _engine("read", PODMAN_SOURCE, problems, containers)


def read_containers(
    units,
    run,
    podman,
    docker_sockets=DOCKER_SOCKETS,
    podman_store=PODMAN_STORE,
    timeout=TIMEOUT,
    podman_runroot=PODMAN_RUNROOT,
    timeout_program=None,
):
    """(containers, errors): the ``containers`` mapping of the host read, {"engines": {"docker",
    "podman"}, "containers": [...]}, and its problems as host error lines, each named by its
    engine."""
    engines = {}
    found = []
    errors = []
    for name, (engine, containers, problems) in (
        ("docker", read_docker(units, docker_sockets, timeout)),
        ("podman", read_podman(run, podman, podman_store, podman_runroot, timeout_program)),
    ):
        engines[name] = engine
        found.extend(containers)
        errors.extend("%s: %s" % (name, line) for line in problems)
    return {"engines": engines, "containers": found}, errors
