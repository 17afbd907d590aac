#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: exposed_ports_context
short_description: Describe a host for the exposed-ports policy from what was read on it
version_added: 0.1.0
description:
  - Runs on the controller. Turns what a play read on a host (its connection, its services,
    firewalld's zones, C(/etc/exports) and C(/proc/mounts)) into the C(context) that
    P(portguard.hardening.exposed_ports_evaluate#filter) takes - the management ports, the
    management units, NFS use, firewalld as the policy engine reads it and the socket units.
  - Used by the P(portguard.hardening.exposed_ports#role) role between reading the host and
    judging its listeners. It never contacts the host and changes nothing.
  - Fails when any input is invalid, with every problem and the option at fault, for example
    C(management_ports[1]).
options:
  connection:
    description:
      - The connection plugin Ansible uses for the host, C(ansible_connection).
      - With an SSH connection (V(ssh), V(smart), V(paramiko), V(paramiko_ssh) or their FQCN)
        and no usable O(ssh_connection), the management port is O(ansible_port).
    type: str
    required: true
  ssh_connection:
    description:
      - The remote's C(SSH_CONNECTION) (C(client-address client-port server-address
        server-port)), read as the connecting user - C(ansible_facts.env.SSH_CONNECTION) from
        M(ansible.builtin.setup) with C(become=false). Its server port is the management port,
        whatever the connection plugin, since it is the port the connection really reached.
    type: str
    default: ""
  ansible_port:
    description: The port of an SSH connection without O(ssh_connection), C(ansible_port).
    type: raw
    default: 22
  management_ports:
    description:
      - Ports that also count as management ports, as V(22), V("22") or V("53/udp")
        (C(protocol) V(tcp) when omitted).
    type: list
    elements: raw
    default: []
  management_units:
    description:
      - System units that serve the management connection and are never disabled.
      - Each must be a systemd unit name with its suffix, such as V(ssh.service); anything else
        is an error, since it could match no unit systemd runs.
    type: list
    elements: str
    default: []
  firewalld_state:
    description:
      - Whether firewalld is V(absent) (not installed), V(stopped) (installed, not running) or
        V(running).
    type: str
    choices: [absent, running, stopped]
    required: true
  firewalld_info:
    description:
      - C(firewalld_info) returned by M(ansible.posix.firewalld_info); only its
        C(default_zone) and C(zones) are read.
      - Required when O(firewalld_state=running), ignored otherwise.
    type: dict
  firewalld_services:
    description:
      - C(services) returned by M(portguard.hardening.firewalld_services) for the services of
        the zones. A zone's service missing here opens no port in the description.
    type: dict
    default: {}
  services:
    description:
      - C(ansible_facts.services) from M(ansible.builtin.service_facts). A running
        C(nfs-server.service) or C(nfs-kernel-server.service) means NFS is in use.
    type: dict
    default: {}
  exports:
    description: The text of C(/etc/exports); an export in it means NFS is in use.
    type: str
    default: ""
  mounts:
    description: The text of C(/proc/mounts); an C(nfs) or C(nfs4) mount means NFS is in use.
    type: str
    default: ""
  socket_units:
    description:
      - C(ansible_facts.listening_sockets_meta.systemd.socket_units) from
        M(portguard.hardening.listening_facts).
    type: list
    elements: dict
    default: []
notes:
  - A null value counts as the option's default.
seealso:
  - plugin: portguard.hardening.exposed_ports_evaluate
    plugin_type: filter
    description: Judges the listeners in this context.
  - module: portguard.hardening.listening_facts
  - module: portguard.hardening.firewalld_services
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: It only computes on the controller, the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: all
author:
  - portguard maintainers (@portguard)
"""

EXAMPLES = r"""
- name: Gather listening sockets
  portguard.hardening.listening_facts:

- name: Read the state of services
  ansible.builtin.service_facts:

- name: Read the connection's SSH_CONNECTION as the connecting user
  ansible.builtin.setup:
    gather_subset: ["!all", "!min", "env"]
  become: false

- name: Read firewalld's zones
  ansible.posix.firewalld_info:
    active_zones: false
  register: zones
  when: ansible_facts.services['firewalld.service'].state | default('') == 'running'

- name: Read the ports of the services the zones admit
  portguard.hardening.firewalld_services:
    names: >-
      {{ zones.firewalld_info.zones | dict2items | map(attribute='value.services')
         | flatten | unique }}
  register: zone_services
  when: zones is not skipped

- name: Describe the host for the policy
  portguard.hardening.exposed_ports_context:
    connection: "{{ ansible_connection | default('ssh') }}"
    ssh_connection: "{{ ansible_facts.env.SSH_CONNECTION | default('') }}"
    ansible_port: "{{ ansible_port | default(22) }}"
    management_ports: [8443]
    management_units: [ssh.service, sshd.service, ssh.socket]
    firewalld_state: >-
      {{ 'absent' if 'firewalld.service' not in ansible_facts.services
         else ('running' if ansible_facts.services['firewalld.service'].state == 'running'
               else 'stopped') }}
    firewalld_info: "{{ zones.firewalld_info | default(none) }}"
    firewalld_services: "{{ zone_services.services | default({}) }}"
    services: "{{ ansible_facts.services }}"
    socket_units: "{{ ansible_facts.listening_sockets_meta.systemd.socket_units }}"
  register: described

- name: Judge the listeners in it
  ansible.builtin.set_fact:
    result: >-
      {{ ansible_facts.listening_sockets
         | portguard.hardening.exposed_ports_evaluate(context=described.context) }}
"""

RETURN = r"""
context:
  description:
    - The host as P(portguard.hardening.exposed_ports_evaluate#filter) takes it in its
      C(context) option.
  returned: success
  type: dict
  contains:
    management_ports:
      description:
        - The ports of the management connection (from O(ssh_connection), else O(ansible_port)
          for SSH connections) followed by O(management_ports), without duplicates.
      type: list
      elements: dict
      sample: [{port: 22, protocol: tcp}, {port: 8443, protocol: tcp}]
    management_units:
      description: O(management_units).
      type: list
      elements: str
      sample: [ssh.service, sshd.service, ssh.socket]
    nfs_in_use:
      description: Whether the host serves or mounts NFS.
      type: bool
      sample: true
    nfs_reason:
      description:
        - Why NFS counts as in use, each reason separated by C(; ), or V(null) when it does not.
      type: str
      sample: "nfs-server.service is running; /etc/exports exports /srv/share"
    firewall:
      description:
        - firewalld as the policy engine reads it. C(default_zone) is V(null) and C(zones) empty
          unless C(state=running).
        - Each zone has C(name), C(active) (the default zone, or a zone with interfaces or
          sources), C(default), C(target), C(ports) (as V(80/tcp)), C(services),
          C(services_ports) (every port its services open), C(rich_rules), C(sources) and
          C(interfaces).
        - C(services) maps each service of O(firewalld_services) to every port it opens, so that
          rich rules naming a service can be resolved; only there when C(state=running).
      type: dict
      sample:
        state: running
        default_zone: public
        zones:
          - name: public
            active: true
            default: true
            target: default
            ports: [80/tcp]
            services: [ssh]
            services_ports: [22/tcp]
            rich_rules: []
            sources: []
            interfaces: [eth0]
        services: {ssh: [22/tcp]}
    socket_units:
      description: O(socket_units).
      type: list
      elements: dict
"""
