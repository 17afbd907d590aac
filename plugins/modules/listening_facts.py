#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

DOCUMENTATION = r"""
---
module: listening_facts
short_description: Gather the listening TCP and UDP sockets of a Linux host with their owners
version_added: 0.1.0
description:
  - Lists every listening TCP socket and every bound, unconnected UDP socket of the
    host's network namespace, with the processes holding it, the systemd unit that
    owns it and the systemd C(.socket) units that provide it.
  - Reads the kernel directly (sock_diag netlink, falling back to C(/proc/net)) and
    C(/proc); needs neither C(ss), C(netstat), C(ps) nor C(lsof) on the host, only
    Python's standard library.
  - Asks systemd about its socket units and about the units the sockets belong to, with
    up to three C(systemctl) calls per run, only when the host was booted with systemd
    (C(/run/systemd/system) exists). Unit names are passed as arguments, never through a
    shell, and only names that follow systemd's unit-name grammar.
  - A socket belongs to a unit of the system's service manager (PID 1), read from the
    holder's cgroup. A process under a user's service manager, in a service's delegated
    subtree or in a container belongs to that system unit (C(user@1000.service), the
    delegating service, the container's scope); what it is called inside is reported as
    data (RV(ansible_facts.listening_sockets[].user_unit),
    RV(ansible_facts.listening_sockets[].container),
    RV(ansible_facts.listening_sockets[].inner_cgroup)), never as the unit.
  - Unprivileged runs see every socket but cannot see which processes of other
    users hold them; those sockets are reported with
    RV(ansible_facts.listening_sockets[].holders=unknown) and a warning. Use privilege
    escalation for complete results.
author:
  - portguard maintainers (@portguard)
options:
  protocols:
    description:
      - Which transport protocols to report.
    type: list
    elements: str
    choices: [tcp, udp]
    default: [tcp, udp]
  families:
    description:
      - Which address families to report.
      - An IPv6 socket that also accepts IPv4 (RV(ansible_facts.listening_sockets[].v6only=false))
        is reported once, as C(ipv6).
    type: list
    elements: str
    choices: [ipv4, ipv6]
    default: [ipv4, ipv6]
  include_loopback:
    description:
      - Whether to report sockets bound to a loopback address
        (C(127.0.0.0/8), C(::1), and IPv4-mapped loopback).
    type: bool
    default: true
  source:
    description:
      - Where to read the socket tables from.
      - V(sock_diag) asks the kernel over netlink. It reports the bound interface
        and C(IPV6_V6ONLY) of each socket, and is fast on hosts with many connections.
      - V(proc) parses C(/proc/net/tcp), C(tcp6), C(udp) and C(udp6). These carry
        neither the bound interface (reported as V(null)) nor C(IPV6_V6ONLY)
        (guessed from C(net.ipv6.bindv6only)).
      - V(auto) uses V(sock_diag) and falls back to V(proc), with a warning, when
        netlink fails (for example without the C(inet_diag)/C(udp_diag) kernel modules).
    type: str
    choices: [auto, sock_diag, proc]
    default: auto
  cmdline_max:
    description:
      - How many bytes of each process's command line to read and report, not counting the NUL
        that ends it. Arguments are kept whole; one that the limit cuts is left out, unless it
        is the first, of which the first O(cmdline_max) bytes (whole characters) are kept.
        RV(ansible_facts.listening_sockets[].processes[].cmdline_truncated) says when anything
        was left out.
      - Only that much is read from C(/proc/<pid>/cmdline), so a process with a command line of
        megabytes costs no more than any other.
      - V(0) reads no command lines at all;
        RV(ansible_facts.listening_sockets[].processes[].cmdline) is then V(null). Neither the
        P(portguard.hardening.exposed_ports#role) role nor its reports use command lines.
    type: int
    default: 4096
  proc_path:
    description:
      - Where procfs is mounted. Meant for tests and for containers that mount the
        host's procfs elsewhere.
      - Sockets always come from the network namespace the module runs in; with
        O(source=sock_diag) this only changes where processes are looked up.
    type: path
    default: /proc
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
    details: The module only reads; it behaves the same in check mode.
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    platforms: linux
notes:
  - Process names are the kernel's C(comm) exactly, up to 15 bytes, with only the
    newline the kernel appends removed.
  - A process name, executable path or command line that is not valid UTF-8 is
    reported as text with each byte that is not UTF-8 replaced by U+FFFD, plus the exact
    bytes in hex (RV(ansible_facts.listening_sockets[].processes[].name_raw),
    RV(ansible_facts.listening_sockets[].processes[].exe_raw),
    RV(ansible_facts.listening_sockets[].processes[].cmdline_raw)), which are V(null) for
    valid UTF-8. The bytes C(ff fe 62 61 64) and the text C(\xff\xfebad) are therefore
    told apart.
  - A socket held both by systemd (PID 1, for socket activation) and by a service
    is reported with the service's unit.
  - PID 1's own cgroup (C(/proc/1/cgroup)) says where its tree begins, so a container
    without a cgroup namespace, whose paths carry the host's prefix
    (C(/libpod_parent/libpod-<id>/system.slice/rpcbind.service)), is read as correctly as a
    host. Where PID 1 is not systemd, no socket has a unit.
  - Sockets are listed from the module's network namespace; processes are looked up
    in the procfs at O(proc_path). A socket held only by processes in another PID
    namespace, or hidden by C(hidepid), shows RV(ansible_facts.listening_sockets[].holders=unknown).
seealso:
  - name: sock_diag(7)
    description: The netlink interface used to list sockets.
    link: https://man7.org/linux/man-pages/man7/sock_diag.7.html
  - name: systemd.socket(5)
    description: Socket units, whose C(Listen) addresses are matched.
    link: https://www.freedesktop.org/software/systemd/man/latest/systemd.socket.html
"""

EXAMPLES = r"""
- name: Gather listening sockets
  portguard.hardening.listening_facts:
  become: true

- name: Fail on anything reachable from outside that is not expected
  ansible.builtin.assert:
    that: item.port in [22, 443]
    fail_msg: "{{ item.protocol }}/{{ item.port }} on {{ item.address }} held by {{ item.unit }}"
  loop: >-
    {{ ansible_facts.listening_sockets
       | rejectattr('scope', 'in', ['loopback', 'link_local']) }}
  loop_control:
    label: "{{ item.protocol }} {{ item.address }}:{{ item.port }}"

- name: Only TCP over IPv4, skipping loopback, read from /proc/net
  portguard.hardening.listening_facts:
    protocols: [tcp]
    families: [ipv4]
    include_loopback: false
    source: proc

- name: Stop and mask the socket units that would reopen port 111
  ansible.builtin.systemd_service:
    name: "{{ item }}"
    state: stopped
    masked: true
  loop: >-
    {{ ansible_facts.listening_sockets | selectattr('port', 'equalto', 111)
       | map(attribute='activated_by') | flatten | unique }}
"""

RETURN = r"""
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: complex
  contains:
    listening_sockets:
      description:
        - One entry per listening socket, sorted by protocol, family, port and then
          address (numerically), interface and inode.
        - TCP sockets in the LISTEN state, and UDP sockets bound to a port and not
          connected.
      returned: always
      type: list
      elements: dict
      contains:
        protocol:
          description: Transport protocol.
          type: str
          choices: [tcp, udp]
          sample: tcp
        family:
          description: Address family of the socket. An IPv4-mapped IPv6 address is still V(ipv6).
          type: str
          choices: [ipv4, ipv6]
          sample: ipv6
        address:
          description:
            - Bound address in canonical text (RFC 5952 for IPv6; IPv4-mapped
              addresses as C(::ffff:a.b.c.d)). Never carries a C(%zone) suffix.
          type: str
          sample: "::"
        port:
          description: Bound port.
          type: int
          sample: 111
        interface:
          description:
            - Name of the device the socket is bound to (C(SO_BINDTODEVICE) or an
              IPv6 zone), or V(null) when unbound, unknown (O(source=proc)), or the
              index no longer resolves.
          type: str
          sample: lo
        scope:
          description:
            - Reachability of the bound address. V(any) is a wildcard address,
              V(private) anything that is not globally routable (RFC 1918, ULA,
              CGNAT ...), V(public) a global address.
            - IPv4-mapped addresses are judged by their IPv4 part; multicast groups
              by their scope.
          type: str
          choices: [any, loopback, link_local, private, public]
          sample: any
        v6only:
          description:
            - For IPv6 sockets, whether C(IPV6_V6ONLY) is set. An IPv6 wildcard with
              V(false) also accepts IPv4 connections. V(null) for IPv4 sockets.
            - With O(source=proc) this is the C(net.ipv6.bindv6only) default, a guess.
          type: bool
          sample: false
        inode:
          description:
            - Inode number of the socket; V(0) for sockets with no file (created by the kernel).
          type: int
          sample: 18734
        uid:
          description: User id that created the socket, as the kernel reports it.
          type: int
          sample: 0
        holders:
          description:
            - V(process) when at least one process holds the socket.
            - V(kernel) when the socket has no inode (a kernel socket).
            - V(unknown) when no visible process holds it (hidden by C(hidepid), in
              another PID namespace, owned by another user on an unprivileged run,
              or a kernel service such as nfsd).
          type: str
          choices: [process, kernel, unknown]
          sample: process
        processes:
          description:
            - Every process holding the socket, sorted by pid.
            - Empty unless RV(ansible_facts.listening_sockets[].holders=process).
          type: list
          elements: dict
          contains:
            pid:
              description: Process id, as seen in O(proc_path).
              type: int
              sample: 49
            name:
              description:
                - The kernel's C(comm) for the process (at most 15 bytes), exactly,
                  spaces, quotes and newlines included.
                - Bytes that are not UTF-8 are each replaced by U+FFFD; then
                  RV(ansible_facts.listening_sockets[].processes[].name_raw) has the exact bytes.
              type: str
              sample: rpcbind
            name_raw:
              description:
                - The bytes of the C(comm) in lowercase hex when they are not valid UTF-8,
                  otherwise V(null). The bytes C(ff fe 62 61 64) give C(fffe626164), and a
                  RV(ansible_facts.listening_sockets[].processes[].name) of two U+FFFD and C(bad).
              type: str
              sample: null
            exe:
              description:
                - Target of C(/proc/<pid>/exe), or V(null) if unreadable.
                - Ends in C( (deleted)) when the binary was replaced since the process started.
              type: str
              sample: /usr/sbin/rpcbind
            exe_raw:
              description:
                - The bytes of RV(ansible_facts.listening_sockets[].processes[].exe) in lowercase
                  hex when they are not valid UTF-8, otherwise V(null).
              type: str
              sample: null
            cmdline:
              description:
                - Command line arguments, split on NUL, at most O(cmdline_max) bytes of them.
                - Bytes that are not UTF-8 are each replaced by U+FFFD; then
                  RV(ansible_facts.listening_sockets[].processes[].cmdline_raw) has the exact bytes.
                - V(null) when O(cmdline_max=0); empty for kernel threads and zombies.
              type: list
              elements: str
              sample: [/usr/sbin/rpcbind, -f, -w]
            cmdline_raw:
              description:
                - When any argument of RV(ansible_facts.listening_sockets[].processes[].cmdline)
                  is not valid UTF-8, the bytes of every argument in lowercase hex, in the same
                  order; otherwise V(null).
              type: list
              elements: str
              sample: null
            cmdline_truncated:
              description:
                - Whether arguments or their ends were left out because the command line is
                  longer than O(cmdline_max) bytes.
              type: bool
              sample: false
            user:
              description: Name of the real user, or the uid as a string when it has no name.
              type: str
              sample: _rpc
            uid:
              description: Real user id of the process.
              type: int
              sample: 107
        unit:
          description:
            - The unit of the system's service manager (PID 1) that the socket's holder runs
              in, which is the first C(.service), C(.scope), C(.socket), C(.mount) or C(.swap)
              of its cgroup path below PID 1's slices. Deeper names are chosen inside that unit, by
              a user manager, a delegating service or a container, and are never the unit.
            - When only systemd (PID 1) holds the socket, the unit its C(.socket) unit
              triggers.
            - V(null) when there is none, when PID 1 is not systemd or its cgroup cannot be
              read, and when the holder is outside PID 1's tree.
            - Read from a cgroup name, so not trusted by itself; see
              RV(ansible_facts.listening_sockets[].unit_verified).
          type: str
          sample: rpcbind.service
        unit_verified:
          description:
            - Whether PID 1 confirmed RV(ansible_facts.listening_sockets[].unit). The name
              follows systemd's unit-name grammar, systemd has it loaded
              (C(LoadState=loaded)) under that very C(Id), not as an alias, and, for a unit
              read from a cgroup, systemd's C(ControlGroup) for it is the holder's.
            - V(false) when any check failed, when systemd could not be asked, and when there
              is no unit. The P(portguard.hardening.exposed_ports#role) role only ever stops a
              verified unit and only matches verified units against its management units.
          type: bool
          sample: true
        unit_problem:
          description:
            - Why RV(ansible_facts.listening_sockets[].unit) is not verified, or V(null).
          type: str
          sample: "systemd has not loaded it (LoadState=not-found)"
        user_manager:
          description:
            - The uid of the user whose service manager the holder runs under, when
              RV(ansible_facts.listening_sockets[].unit) is C(user@UID.service); else V(null).
          type: int
          sample: null
        user_unit:
          description:
            - The unit inside that user manager, as the user named it (C(ssh.service) for
              C(systemd-run --user --unit=ssh)), or V(null). Data chosen by the user, and
              never the socket's unit.
          type: str
          sample: null
        container:
          description:
            - The container or virtual machine RV(ansible_facts.listening_sockets[].unit)
              holds, or V(null). The id for C(libpod-<id>.scope), C(libpod-conmon-<id>.scope),
              C(docker-<id>.scope), C(crio-<id>.scope) and C(cri-containerd-<id>.scope); the
              name for a scope in C(machine.slice) (without C(machine-)) and for
              C(systemd-nspawn@<name>.service).
          type: str
          sample: null
        inner_cgroup:
          description:
            - The holder's cgroup below the unit's own, relative to it (for example
              C(app.slice/ssh.service) under a user manager, C(container/system.slice/nginx.service)
              in a container, a delegated service's own sub-cgroups), or V(null) when the holder
              is in the unit's cgroup itself.
          type: str
          sample: null
        activated_by:
          description:
            - Active systemd C(.socket) units that provide this socket, sorted. Those are the units
              with a C(Listen) entry for the same protocol, address and port, and those
              triggering RV(ansible_facts.listening_sockets[].unit) that listen on the
              same protocol and port.
            - Empty when there are none or systemd is unavailable.
          type: list
          elements: str
          sample: [rpcbind.socket]
    listening_sockets_meta:
      description: How the facts were gathered and what could not be read.
      returned: always
      type: dict
      contains:
        source:
          description: Where the socket tables came from.
          type: str
          choices: [sock_diag, proc]
          sample: sock_diag
        sock_diag_error:
          description: Why O(source=auto) fell back to C(/proc/net), or V(null).
          type: str
          sample: "sock_diag dump failed: errno 2 (No such file or directory)"
        v6only_guessed:
          description:
            - How many IPv6 sockets got RV(ansible_facts.listening_sockets[].v6only) from the
              C(net.ipv6.bindv6only) default.
          type: int
          sample: 0
        bindv6only:
          description:
            - The C(net.ipv6.bindv6only) value used for guesses, or V(null) when none was needed.
          type: bool
          sample: false
        counts:
          description: Number of reported sockets, in total and by protocol, family and holders.
          type: dict
          contains:
            total:
              description: All reported sockets.
              type: int
              sample: 5
            tcp:
              description: TCP sockets.
              type: int
              sample: 3
            udp:
              description: UDP sockets.
              type: int
              sample: 2
            ipv4:
              description: IPv4 sockets.
              type: int
              sample: 3
            ipv6:
              description: IPv6 sockets.
              type: int
              sample: 2
            process:
              description: Sockets held by at least one visible process.
              type: int
              sample: 4
            kernel:
              description: Kernel sockets (inode 0).
              type: int
              sample: 0
            unknown:
              description: Sockets no visible process holds.
              type: int
              sample: 1
        unreadable_pids:
          description: Number of processes whose open files could not be read.
          type: int
          sample: 0
        vanished_pids:
          description: Number of processes that exited while being inspected.
          type: int
          sample: 0
        unreadable:
          description: Files that could not be read, with the reason.
          type: list
          elements: str
          sample: ["/proc/net/tcp6: No such file or directory"]
        systemd:
          description: What systemd said about its socket units and the units sockets belong to.
          type: dict
          contains:
            available:
              description: Whether socket units could be queried.
              type: bool
              sample: true
            reason:
              description: Why not, or V(null).
              type: str
              sample: /run/systemd/system does not exist (not booted with systemd)
            socket_units:
              description: Every loaded C(.socket) unit.
              type: list
              elements: dict
              contains:
                unit:
                  description: Unit name.
                  type: str
                  sample: rpcbind.socket
                active_state:
                  description: C(ActiveState) of the unit.
                  type: str
                  sample: active
                unit_file_state:
                  description: C(UnitFileState) of the unit.
                  type: str
                  sample: enabled
                listen:
                  description: C(Listen) entries as systemd prints them.
                  type: list
                  elements: str
                  sample: ["/run/rpcbind.sock (Stream)", "0.0.0.0:111 (Stream)"]
                triggers:
                  description: Units the socket unit triggers.
                  type: list
                  elements: str
                  sample: [rpcbind.service]
            cgroup_root:
              description:
                - Where PID 1's cgroup tree begins, from C(/proc/1/cgroup) without its
                  C(init.scope) leaf - C(/) on a host, the host's prefix in a container without
                  a cgroup namespace. V(null) when PID 1 is not systemd, its cgroup could not be
                  read, or no process holds a socket.
              type: str
              sample: /
            units:
              description:
                - What systemd said about each unit the sockets are attributed to, sorted by
                  name. Names that do not follow the unit-name grammar are never asked about.
              type: list
              elements: dict
              contains:
                unit:
                  description: The name asked about.
                  type: str
                  sample: rpcbind.service
                id:
                  description: C(Id) of the unit; another name when the one asked about is an alias.
                  type: str
                  sample: rpcbind.service
                load_state:
                  description: C(LoadState) of the unit.
                  type: str
                  sample: loaded
                control_group:
                  description: C(ControlGroup) of the unit, empty when it has none.
                  type: str
                  sample: /system.slice/rpcbind.service
"""

# Imports follow the documentation, as ansible-test's validate-modules requires.
import gc

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.portguard.hardening.plugins.module_utils._read.listening import (
    ARGUMENT_SPEC,
    GatherError,
    gather,
    systemctl_runner,
)
from ansible_collections.portguard.hardening.plugins.module_utils._result import exit_plain


def main():
    # The module builds thousands of small acyclic containers: the cyclic garbage collector would
    # only walk them again and again.
    gc.disable()
    try:
        _run()
    finally:
        gc.enable()


def _run():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if module.params["cmdline_max"] < 0:
        module.fail_json(
            msg="cmdline_max: expected 0 (no command lines) or a number of bytes, got %d"
            % module.params["cmdline_max"]
        )
    systemctl, reason = systemctl_runner(module)
    try:
        facts, warnings = gather(
            proc_path=module.params["proc_path"],
            source=module.params["source"],
            protocols=module.params["protocols"],
            families=module.params["families"],
            include_loopback=module.params["include_loopback"],
            systemctl=systemctl,
            systemd_unavailable=reason,
            cmdline_max=module.params["cmdline_max"],
        )
    except GatherError as exc:
        module.fail_json(msg=str(exc))
    exit_plain(module, {"changed": False, "ansible_facts": facts}, warnings)


if __name__ == "__main__":
    main()
