#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

DOCUMENTATION = r"""
---
module: exposed_ports_read
short_description: Read everything the exposed_ports plan needs from a Linux host, in one call
version_added: 0.1.0
description:
  - Returns the host's listening sockets exactly as M(portguard.hardening.listening_facts)
    reports them, and in RV(host) what else the P(portguard.hardening.exposed_ports#role) role's
    plan depends on. The controller parses and judges all of it; the host only reads.
  - RV(host.units) is the state of the firewall, NFS and container engine units, from one
    C(systemctl show).
  - RV(host.ruleset) is the kernel's netfilter ruleset as unparsed text (C(nft -j list ruleset)
    and the C(iptables-save) texts the controller needs to explain it).
  - RV(host.firewalld) is a running firewalld's zones, in the shape of
    M(ansible.posix.firewalld_info), and the ports of the services they admit, in the shape of
    M(portguard.hardening.firewalld_services).
  - RV(host.containers) is the running containers of Docker and rootful podman and the ports they
    publish, from the engines' own state. A published port is rewritten (DNAT) before the host's
    input path and often has no listening socket at all.
  - RV(host.ssh_connection) is the management connection's C(SSH_CONNECTION), found even under
    privilege escalation, which drops it from the module's environment.
  - Commands are run without a shell, with C(LC_ALL=C). A part that cannot be read is a line in
    RV(host.errors) and leaves the rest of the read alone.
  - Not a facts module; register its result.
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
      - An IPv6 socket that also accepts IPv4 (RV(listening_sockets[].v6only=false))
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
        RV(listening_sockets[].processes[].cmdline_truncated) says when anything
        was left out.
      - Only that much is read from C(/proc/<pid>/cmdline), so a process with a command line of
        megabytes costs no more than any other.
      - V(0) reads no command lines at all;
        RV(listening_sockets[].processes[].cmdline) is then V(null). Neither the
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
  ruleset:
    description:
      - Whether to read the netfilter ruleset into RV(host.ruleset). With V(false) it is V(null).
    type: bool
    default: true
  firewalld:
    description:
      - Whether to read a running firewalld into RV(host.firewalld). With V(false), or when
        C(firewalld.service) is not active, it is V(null).
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; it behaves the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: linux
notes:
  - Run it with privilege escalation. Without it the ruleset cannot be read, sockets of other
    users have no holders, and the environments of the connection's processes cannot be read.
  - firewalld is asked through its own Python client (C(firewall.client), over D-Bus), as
    M(ansible.posix.firewalld_info) asks it, when the module's Python can import it; otherwise
    through C(firewall-cmd). RV(host.firewalld.source) says which.
  - C(iptables-legacy-save) runs only when C(/proc/net/ip_tables_names) (C(ip6_tables_names) for
    IPv6) lists a table, which only legacy iptables creates; so the read never loads the legacy
    kernel modules nor creates their tables.
  - RV(host.ssh_connection) comes from the module's environment or else from the nearest of its
    ancestor processes (the parent chain of C(/proc/self), at most 32) whose environment has
    C(SSH_CONNECTION). No other process is looked at.
  - Docker is asked over its API socket (C(/run/docker.sock), else C(/var/run/docker.sock)) with
    one C(GET /containers/json), and only while C(docker.service) is active; connecting to the
    socket while only C(docker.socket) is active would start dockerd. Rootful podman is asked
    with C(podman ps --format json --no-trunc), and only when its store
    C(/var/lib/containers/storage) exists. The containers of rootless podman and rootless Docker
    are not read; their published ports are sockets of the user's C(rootlessport),
    C(slirp4netns) or C(rootlesskit) processes, which RV(listening_sockets) lists.
seealso:
  - module: portguard.hardening.listening_facts
  - module: ansible.posix.firewalld_info
  - module: portguard.hardening.firewalld_services
"""

EXAMPLES = r"""
- name: Read the host
  portguard.hardening.exposed_ports_read:
  become: true
  register: host_read

- name: Show the sockets that listen beyond loopback
  ansible.builtin.debug:
    msg: "{{ item.protocol }}/{{ item.port }} on {{ item.address }} ({{ item.unit }})"
  loop: "{{ host_read.listening_sockets | rejectattr('scope', 'equalto', 'loopback') }}"
  loop_control:
    label: "{{ item.protocol }} {{ item.address }}:{{ item.port }}"

- name: Say what could not be read
  ansible.builtin.debug:
    var: host_read.host.errors
  when: host_read.host.errors | length > 0

- name: Only TCP, without the ruleset or firewalld
  portguard.hardening.exposed_ports_read:
    protocols: [tcp]
    ruleset: false
    firewalld: false
  become: true
  register: sockets_only
"""

RETURN = r"""
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
        - Empty unless RV(listening_sockets[].holders=process).
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
              RV(listening_sockets[].processes[].name_raw) has the exact bytes.
          type: str
          sample: rpcbind
        name_raw:
          description:
            - The bytes of the C(comm) in lowercase hex when they are not valid UTF-8,
              otherwise V(null). The bytes C(ff fe 62 61 64) give C(fffe626164), and a
              RV(listening_sockets[].processes[].name) of two U+FFFD and C(bad).
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
            - The bytes of RV(listening_sockets[].processes[].exe) in lowercase
              hex when they are not valid UTF-8, otherwise V(null).
          type: str
          sample: null
        cmdline:
          description:
            - Command line arguments, split on NUL, at most O(cmdline_max) bytes of them.
            - Bytes that are not UTF-8 are each replaced by U+FFFD; then
              RV(listening_sockets[].processes[].cmdline_raw) has the exact bytes.
            - V(null) when O(cmdline_max=0); empty for kernel threads and zombies.
          type: list
          elements: str
          sample: [/usr/sbin/rpcbind, -f, -w]
        cmdline_raw:
          description:
            - When any argument of RV(listening_sockets[].processes[].cmdline)
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
          RV(listening_sockets[].unit_verified).
      type: str
      sample: rpcbind.service
    unit_verified:
      description:
        - Whether PID 1 confirmed RV(listening_sockets[].unit). The name
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
        - Why RV(listening_sockets[].unit) is not verified, or V(null).
      type: str
      sample: "systemd has not loaded it (LoadState=not-found)"
    user_manager:
      description:
        - The uid of the user whose service manager the holder runs under, when
          RV(listening_sockets[].unit) is C(user@UID.service); else V(null).
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
        - The container or virtual machine RV(listening_sockets[].unit)
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
          triggering RV(listening_sockets[].unit) that listen on the
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
        - How many IPv6 sockets got RV(listening_sockets[].v6only) from the
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
host:
  description: What the plan needs besides the sockets.
  returned: always
  type: dict
  contains:
    version:
      description: The version of this mapping's shape; V(1).
      type: int
      sample: 1
    units:
      description:
        - The state of C(firewalld.service), C(ufw.service), C(nftables.service),
          C(netfilter-persistent.service), C(iptables.service), C(ip6tables.service),
          C(nfs-server.service), C(nfs-kernel-server.service), C(rpcbind.service),
          C(rpcbind.socket), C(portguard-nftables.service), C(docker.service),
          C(docker.socket), C(podman.service), C(podman.socket) and C(containerd.service), by
          name, from one C(systemctl show).
        - A unit that is not installed has RV(host.units.load_state=not-found).
        - Empty without systemd or when C(systemctl) fails; RV(host.errors) says why.
      type: dict
      sample:
        rpcbind.socket:
          id: rpcbind.socket
          load_state: loaded
          active_state: active
          sub_state: running
          unit_file_state: enabled
      contains:
        id:
          description:
            - C(Id) of the unit; for an alias, the unit it names (C(netfilter-persistent.service)
              for C(iptables.service)).
          type: str
          sample: firewalld.service
        load_state:
          description: C(LoadState) of the unit.
          type: str
          sample: loaded
        active_state:
          description: C(ActiveState) of the unit.
          type: str
          sample: active
        sub_state:
          description: C(SubState) of the unit.
          type: str
          sample: running
        unit_file_state:
          description: C(UnitFileState) of the unit, empty for a unit that is not installed.
          type: str
          sample: enabled
    ufw:
      description: Whether ufw is installed and configured to be enabled.
      type: dict
      contains:
        installed:
          description: Whether the C(ufw) program was found.
          type: bool
          sample: false
        enabled:
          description:
            - C(ENABLED=) of C(/etc/ufw/ufw.conf); V(null) when the file or setting is missing
              or is neither C(yes) nor C(no).
          type: bool
          sample: null
        ipv6:
          description: C(IPV6=) of C(/etc/default/ufw), likewise.
          type: bool
          sample: null
    tools:
      description:
        - The absolute path of each of C(nft), C(iptables-nft-save), C(ip6tables-nft-save),
          C(iptables-legacy-save), C(ip6tables-legacy-save), C(ufw), C(firewall-cmd), C(ip) and
          C(podman), by name, or V(null) when it is not installed (C(/usr/sbin) and C(/sbin)
          searched too).
      type: dict
      sample:
        nft: /usr/sbin/nft
        ufw: null
    ruleset:
      description:
        - The kernel's netfilter ruleset as the tools print it, for the controller to parse.
        - V(null) with O(ruleset=false).
        - Each text is V(null) when it was not needed, its tool is missing, or it failed;
          failures and missing tools that were needed are in RV(host.errors).
      type: dict
      contains:
        nft:
          description: The text of C(nft -j list ruleset), JSON that is not parsed on the host.
          type: str
          sample: '{"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}}]}'
        iptables_nft_save:
          description:
            - The texts of C(iptables-nft-save) (V(ipv4)) and C(ip6tables-nft-save) (V(ipv6)),
              read only when RV(host.ruleset.nft) shows an iptables extension (C(xt)), whose
              options only these texts hold.
          type: dict
          contains:
            ipv4:
              description: The text of C(iptables-nft-save), or V(null).
              type: str
            ipv6:
              description: The text of C(ip6tables-nft-save), or V(null).
              type: str
        iptables_legacy_save:
          description:
            - The texts of C(iptables-legacy-save) (V(ipv4)) and C(ip6tables-legacy-save)
              (V(ipv6)), read only when the legacy tables of that family are in use, which
              C(nft) does not show.
          type: dict
          contains:
            ipv4:
              description: The text of C(iptables-legacy-save), or V(null).
              type: str
            ipv6:
              description: The text of C(ip6tables-legacy-save), or V(null).
              type: str
    interfaces:
      description:
        - The interfaces and their addresses as C(ip -j addr) prints them; empty on a failure.
      type: list
      elements: dict
      sample:
        - ifname: eth0
          addr_info:
            - family: inet
              local: 10.88.0.5
              prefixlen: 16
    exports:
      description: The text of C(/etc/exports); empty when it does not exist.
      type: str
      sample: "/srv/share 10.99.0.0/24(ro,sync)\n"
    mounts:
      description: The text of C(mounts) under O(proc_path).
      type: str
      sample: "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
    ssh_connection:
      description:
        - The management connection's C(SSH_CONNECTION) (C(client_ip client_port server_ip
          server_port)), from the module's environment or its nearest ancestor process that
          has it; empty when none has it.
        - A value that is not two IP addresses and two ports (1-65535) is ignored, with a line
          in RV(host.errors).
      type: str
      sample: 10.88.0.1 51234 10.88.0.5 22
    pkg_mgr:
      description: The package manager, by which program exists.
      type: str
      choices: [apt, dnf, yum, zypper, unknown]
      sample: apt
    portguard_rules:
      description:
        - The rules the collection's own nftables table was last written with by
          M(portguard.hardening.exposed_ports_nftables), as recorded in its rules file
          C(/etc/portguard/nftables.nft); V(null) when there is no such file.
      type: list
      elements: dict
      sample: [{port: 8080, protocol: tcp, action: block, sources: [], ids: [builtin-admin]}]
    firewalld:
      description:
        - What a running firewalld admits; V(null) unless C(firewalld.service) is active and
          O(firewalld=true).
      type: dict
      contains:
        default_zone:
          description: The default zone, or V(null) when it could not be read.
          type: str
          sample: public
        info:
          description:
            - The zones, exactly as M(ansible.posix.firewalld_info) returns C(firewalld_info)
              (every zone, runtime configuration); V(null) when they could not be read.
          type: dict
          contains:
            version:
              description: firewalld's version.
              type: str
              sample: 1.3.3
            default_zone:
              description: The default zone.
              type: str
              sample: public
            zones:
              description: Each zone by name.
              type: dict
              contains:
                target:
                  description: The zone's target.
                  type: str
                  sample: default
                icmp_block_inversion:
                  description: Whether ICMP block inversion is on.
                  type: bool
                interfaces:
                  description: The zone's interfaces.
                  type: list
                  elements: str
                sources:
                  description: The zone's sources.
                  type: list
                  elements: str
                services:
                  description: The services the zone admits.
                  type: list
                  elements: str
                  sample: [dhcpv6-client, ssh]
                ports:
                  description: The ports the zone opens, each a list of port (or range), protocol.
                  type: list
                  elements: list
                  sample: [["8443", "tcp"]]
                protocols:
                  description: The protocols the zone admits.
                  type: list
                  elements: str
                forward:
                  description: Whether forwarding within the zone is on; firewalld 0.9 and later.
                  type: bool
                masquerade:
                  description: Whether masquerading is on.
                  type: bool
                forward_ports:
                  description: Forwarded ports, each a list of port, protocol, to-port, to-address.
                  type: list
                  elements: list
                  sample: [["2222", "tcp", "22", ""]]
                source_ports:
                  description: Source ports, each a list of port and protocol.
                  type: list
                  elements: list
                icmp_blocks:
                  description: Blocked ICMP types.
                  type: list
                  elements: str
                rich_rules:
                  description: The zone's rich rules.
                  type: list
                  elements: str
        services:
          description:
            - The services the zones name and every service they include, exactly as
              M(portguard.hardening.firewalld_services) returns C(services).
          type: dict
          sample:
            samba:
              ports: [139/tcp, 445/tcp]
              includes: [samba-client]
              all_ports: [137/udp, 138/udp, 139/tcp, 445/tcp]
          contains:
            ports:
              description:
                - The ports the service lists itself, as C(port/protocol) or C(from-to/protocol).
              type: list
              elements: str
            includes:
              description: The services it includes.
              type: list
              elements: str
            all_ports:
              description: Its own ports and those of every service it includes, at any depth.
              type: list
              elements: str
        unknown_services:
          description: Services named or included that firewalld does not know.
          type: list
          elements: str
          sample: []
        source:
          description:
            - How firewalld was asked, through its Python client over D-Bus or C(firewall-cmd).
          type: str
          choices: [dbus, firewall-cmd]
          sample: dbus
        error:
          description: Why the zones or services could not be read, or V(null).
          type: str
          sample: null
    containers:
      description:
        - The running containers of Docker and rootful podman and the ports they publish, as the
          engines report them.
        - Names, images and labels are whatever the container's creator chose; they are bounded
          to 255 characters and otherwise kept as they are. A malformed field or port is left
          out, a container without a 64-digit hex id is dropped, each with a line in
          RV(host.errors) and in its engine's RV(host.containers.engines.docker.error).
      type: dict
      contains:
        engines:
          description: How each engine was read.
          type: dict
          contains:
            docker:
              description: Docker.
              type: dict
              contains:
                state:
                  description:
                    - V(read) when its API answered (RV(host.containers.engines.docker.error)
                      may still name containers or fields left out).
                    - V(not installed) when systemd knows neither C(docker.service) nor
                      C(docker.socket).
                    - V(not running) when C(docker.service) is not active (perhaps only
                      C(docker.socket) is, which a connection would start), or when the units
                      were not read and no Docker socket exists.
                    - V(failed) when its API could not be read, or when the units were not
                      read but a Docker socket exists (not connected to, as that could start
                      dockerd).
                  type: str
                  choices: [read, not running, not installed, failed]
                  sample: read
                source:
                  description: The socket that was asked, or V(null).
                  type: str
                  sample: /run/docker.sock
                error:
                  description: What went wrong or was left out, or V(null).
                  type: str
                  sample: null
            podman:
              description: Rootful podman.
              type: dict
              contains:
                state:
                  description:
                    - V(read) when C(podman ps) answered, V(not installed) without the
                      C(podman) program, V(not running) without its store (rootful podman
                      has never run), V(failed) when C(podman ps) failed or did not print
                      JSON.
                  type: str
                  choices: [read, not running, not installed, failed]
                  sample: not installed
                source:
                  description: V(podman ps) when it was run, else V(null).
                  type: str
                  sample: null
                error:
                  description: What went wrong or was left out, or V(null).
                  type: str
                  sample: null
        containers:
          description:
            - One entry per running container, Docker's first, each in the order its engine
              lists them; containers without published ports too (one in host network mode
              owns listening sockets, in the cgroup C(docker-<id>.scope) or
              C(libpod-<id>.scope)).
          type: list
          elements: dict
          contains:
            engine:
              description: The engine that runs it.
              type: str
              choices: [docker, podman]
            id:
              description: Its full id, 64 hex digits.
              type: str
              sample: 4f1c3b0e9d2a7c6b5e8f0a1d3c2b4e6f8a0c1e3d5b7f9a2c4e6d8b0a1c3e5f7d
            name:
              description: Its name (Docker's without the leading C(/)), or V(null).
              type: str
              sample: web
            image:
              description: The image it was created from, as the engine names it, or V(null).
              type: str
              sample: busybox:latest
            project:
              description:
                - Its compose project (the label C(com.docker.compose.project), else
                  C(io.podman.compose.project)), or V(null).
              type: str
              sample: shop
            network_mode:
              description:
                - Docker's C(HostConfig.NetworkMode) (V(bridge), V(default), V(host), V(none),
                  C(container:<id>) or a network's name).
                - For podman, whose C(ps) does not say, V(bridge) for a container attached to
                  networks, else V(null).
              type: str
              sample: bridge
            ports:
              description:
                - Its published ports, one entry per host address, port and protocol; ports
                  only exposed are not listed. Docker lists C(0.0.0.0) and C(::) apart.
                - A podman range is expanded to at most 1024 ports, with a line in
                  RV(host.errors) when it is longer.
              type: list
              elements: dict
              contains:
                host_ip:
                  description: The host address it is published on; empty for all addresses.
                  type: str
                  sample: 0.0.0.0
                host_port:
                  description: The host port, 1-65535.
                  type: int
                  sample: 9090
                protocol:
                  description: The protocol.
                  type: str
                  choices: [tcp, udp, sctp]
                  sample: tcp
                container_port:
                  description: The port inside the container it reaches, 1-65535.
                  type: int
                  sample: 80
    errors:
      description: Problems that left a part of the read out or empty, each naming what and why.
      type: list
      elements: str
      sample: ["nft -j list ruleset failed (rc 1): Error: Operation not permitted"]
"""

# Imports follow the documentation, as ansible-test's validate-modules requires.
import gc
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.portguard.hardening.plugins.module_utils._read.host import read_host
from ansible_collections.portguard.hardening.plugins.module_utils._read.listening import (
    ARGUMENT_SPEC as SOCKET_OPTIONS,
)
from ansible_collections.portguard.hardening.plugins.module_utils._read.listening import (
    GatherError,
    gather,
    systemctl_runner,
)
from ansible_collections.portguard.hardening.plugins.module_utils._result import exit_plain

ARGUMENT_SPEC = dict(
    SOCKET_OPTIONS,
    ruleset=dict(type="bool", default=True),
    firewalld=dict(type="bool", default=True),
)
# Where programs are looked for besides PATH: a become user's PATH may lack the sbin directories.
SBIN = ["/usr/sbin", "/sbin"]
COMMAND_ENV = {"LC_ALL": "C"}


def main():
    # As in listening_facts: many small acyclic containers, nothing for the cyclic collector.
    gc.disable()
    try:
        _run()
    finally:
        gc.enable()


def _run():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    if params["cmdline_max"] < 0:
        module.fail_json(
            msg="cmdline_max: expected 0 (no command lines) or a number of bytes, got %d"
            % params["cmdline_max"]
        )
    systemctl, reason = systemctl_runner(module)
    try:
        facts, warnings = gather(
            proc_path=params["proc_path"],
            source=params["source"],
            protocols=params["protocols"],
            families=params["families"],
            include_loopback=params["include_loopback"],
            systemctl=systemctl,
            systemd_unavailable=reason,
            cmdline_max=params["cmdline_max"],
        )
    except GatherError as exc:
        module.fail_json(msg=str(exc))

    def run(argv):
        return module.run_command(argv, environ_update=COMMAND_ENV, errors="surrogate_then_replace")

    def which(name):
        return module.get_bin_path(name, opt_dirs=SBIN)

    host = read_host(
        run,
        which,
        systemctl=systemctl,
        systemd_unavailable=reason,
        proc_path=params["proc_path"],
        environ=os.environ,
        ruleset=params["ruleset"],
        firewalld=params["firewalld"],
    )
    result = {"changed": False, "host": host}
    result.update(facts)
    exit_plain(module, result, warnings)


if __name__ == "__main__":
    main()
