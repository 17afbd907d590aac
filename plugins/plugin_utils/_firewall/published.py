# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ports a host exposes by forwarding them: the container engines' published ports and every
other port forward (DNAT, redirect) of the kernel's ruleset, as entries the policy judges like
listening sockets.

A published port is rewritten before the input path, so it may have no listening socket at all
(Docker without its userland proxy, rootful podman). Each becomes one entry per address it is
published on: the engine's proxy socket on it, when there is one, carries the container from
then on; without one a socket-shaped entry with no process stands for it. The container's name,
image and project come from whoever started it: they are data for the report and for rules
that match them, never a reason to trust the port.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
from collections.abc import Mapping

from ansible_collections.portguard.hardening.plugins.module_utils._sockets import address_scope
from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    is_port,
    show,
)

PROTOCOLS = ("tcp", "udp")
ENGINES = ("docker", "podman")
ANY_IPV4 = "0.0.0.0"  # noqa: S104 - an address read from the host, never bound here
# What the reports and rules read of a container.
CONTAINER_KEYS = ("engine", "id", "name", "image", "project")
TEXT_MAX = 255
# What holds a published port on the host when something does: the engines' proxies and the
# engines themselves (dockerd reserves the port with its userland proxy off).
PROXY_PROCESSES = ("docker-proxy", "dockerd", "conmon", "rootlessport", "rootlessport-child")
PROXY_UNITS = ("docker.service", "podman.service")
SHORT_ID = 12


def _text(value):
    return value[:TEXT_MAX] if isinstance(value, str) and value else None


def _port(value):
    return value if is_port(value) else None


def _container(item, index, notes):
    """The container's identity for the report, or None (with a note) when it is malformed."""
    where = f"host.containers.containers[{index}]"
    if not isinstance(item, Mapping):
        notes.append(f"{where}: expected a mapping, got {show(item)}; left out")
        return None
    engine, cid = item.get("engine"), item.get("id")
    if engine not in ENGINES or not isinstance(cid, str) or not cid:
        notes.append(f"{where}: engine {show(engine)} or id {show(cid)} is not valid; left out")
        return None
    return {
        "engine": engine,
        "id": cid[:64],
        "name": _text(item.get("name")) or cid[:SHORT_ID],
        "image": _text(item.get("image")),
        "project": _text(item.get("project")),
    }


def containers_of(host):
    """([(container, [ports])], notes) from the host read's ``containers``."""
    read = host.get("containers")
    notes = []
    if read is None:
        return [], notes
    if not isinstance(read, Mapping):
        return [], [f"host.containers: expected a mapping, got {show(read)}"]
    for engine, state in sorted((read.get("engines") or {}).items()):
        if isinstance(state, Mapping) and state.get("state") == "failed":
            notes.append(
                "{} was not read ({}): its published ports are known only from the kernel's "
                "port forwards".format(engine, state.get("error") or "no reason given")
            )
    found = []
    items = read.get("containers") or []
    for index, item in enumerate(items if isinstance(items, list) else []):
        container = _container(item, index, notes)
        if container is None:
            continue
        ports = []
        for pindex, port in enumerate(item.get("ports") or []):
            mapping = port if isinstance(port, Mapping) else {}
            host_port = _port(mapping.get("host_port"))
            protocol = mapping.get("protocol")
            host_ip = mapping.get("host_ip") if isinstance(mapping.get("host_ip"), str) else None
            if protocol not in PROTOCOLS + ("sctp",) or host_port is None or host_ip is None:
                notes.append(
                    f"host.containers.containers[{index}].ports[{pindex}]: not a published "
                    f"port ({show(port)}); left out"
                )
                continue
            if protocol == "sctp":
                continue
            ports.append(
                {
                    "host_ip": host_ip,
                    "host_port": host_port,
                    "protocol": protocol,
                    "container_port": _port(mapping.get("container_port")),
                }
            )
        found.append((container, ports))
    return found, notes


def _addresses(host_ip):
    """[(family, address)] a publication listens on: "" means every IPv4 address (netavark and
    podman publish IPv6 only for an address given as such)."""
    if host_ip in ("", ANY_IPV4):
        return [("ipv4", ANY_IPV4)]
    try:
        ip = ipaddress.ip_address(host_ip)
    except ValueError:
        return []
    return [("ipv6" if ip.version == 6 else "ipv4", str(ip))]


def _entry(protocol, family, address, port):
    """A socket-shaped entry for a port nothing on the host listens on."""
    scope = address_scope(address)
    return {
        "protocol": protocol,
        "family": family,
        "address": address,
        "port": port,
        "scope": scope,
        "interface": None,
        "inode": 0,
        "holders": "kernel",
        "processes": [],
        "unit": None,
        "unit_verified": False,
        "unit_problem": None,
        "activated_by": [],
    }


def _is_proxy(sock):
    """Whether a listener is the engine's own hold on a published port (never any other
    process that happens to listen on the same port number)."""
    names = [p.get("name") for p in sock.get("processes") or [] if isinstance(p, Mapping)]
    if names:
        return all(name in PROXY_PROCESSES for name in names)
    return sock.get("unit") in PROXY_UNITS


def _publication(port, forwarded, listener):
    """What a socket entry says of the publication it stands for."""
    return {
        "container_port": port["container_port"],
        "forward": forwarded.get((port["protocol"], port["host_port"])),
        "listener": listener,
    }


def _key(sock):
    return tuple(sock.get(k) for k in ("protocol", "family", "address", "port"))


def published_sockets(host, sockets, forwarded):
    """(sockets, notes): the host's listening sockets with every published port and port
    forward among them.

    ``forwarded`` is kernel.forwarded_ports(): {(protocol, port): where}. A listening socket on
    a published address and port (the engine's proxy) gains ``published``; a publication with
    none gets an entry of its own; so does a forward of the kernel that no engine explains
    (firewalld's forward-ports, libvirt, a hand-written DNAT rule). A socket of a container in
    the host's network namespace (docker-<id>.scope) gains the container too.
    """
    containers, notes = containers_of(host)
    # A malformed entry is left as it is, for the policy's check to name.
    out = [dict(s) if isinstance(s, Mapping) else s for s in sockets]
    listed = [s for s in out if isinstance(s, Mapping)]
    by_key = {}
    for sock in listed:
        by_key.setdefault(_key(sock), sock)
    by_id = {c["id"]: c for c, _ports in containers}
    for sock in listed:
        cid = sock.get("container")
        if isinstance(cid, str) and len(cid) >= SHORT_ID:
            match = by_id.get(cid) or next((c for i, c in by_id.items() if i.startswith(cid)), None)
            if match:
                sock["engine_container"] = match
    explained = set()
    made = set()
    for container, ports in containers:
        for port in ports:
            explained.add((port["protocol"], port["host_port"]))
            for family, address in _addresses(port["host_ip"]):
                key = (port["protocol"], family, address, port["host_port"])
                sock = by_key.get(key)
                if sock is not None and id(sock) not in made and not _is_proxy(sock):
                    notes.append(
                        "{}/{} on {}: published by {}, but held by another program; judged as "
                        "its listener".format(
                            port["host_port"], port["protocol"], address, container["name"]
                        )
                    )
                    continue
                listener = sock is not None and id(sock) not in made
                if sock is None:
                    sock = _entry(port["protocol"], family, address, port["host_port"])
                    made.add(id(sock))
                    by_key[key] = sock
                    out.append(sock)
                    listed.append(sock)
                sock["engine_container"] = container
                sock["published"] = _publication(port, forwarded, listener)
    # The engine's proxy may hold the port in a family the engine does not publish it in
    # (docker-proxy on [::] for an IPv4 publication): the port is the container's there too.
    owners = {}
    for container, ports in containers:
        for port in ports:
            owners.setdefault((port["protocol"], port["host_port"]), (container, port))
    for sock in listed:
        if sock.get("published") or id(sock) in made:
            continue
        owner = owners.get((sock.get("protocol"), sock.get("port")))
        if owner and _is_proxy(sock):
            container, port = owner
            sock["engine_container"] = container
            sock["published"] = _publication(port, forwarded, True)
    for (protocol, port), where in sorted(forwarded.items()):
        if (protocol, port) in explained:
            continue
        if any(s.get("protocol") == protocol and s.get("port") == port for s in listed):
            continue
        sock = _entry(protocol, "ipv4", ANY_IPV4, port)
        sock["published"] = {"container_port": None, "forward": where, "listener": False}
        out.append(sock)
    return out, notes


def container_label(container):
    """How a report names a container: its name, engine and image."""
    image = f", {container['image']}" if container.get("image") else ""
    return "container {} ({}{})".format(container["name"], container["engine"], image)
