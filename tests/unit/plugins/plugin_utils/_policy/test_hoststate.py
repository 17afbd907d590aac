# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the role reads about a host besides its sockets: management ports, NFS use, services."""

import os

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._firewalld import (
    resolve_services,
)
from ansible_collections.portguard.hardening.plugins.module_utils._values import PolicyError
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.hoststate import (
    management_ports,
    nfs_usage,
    service_ports,
)


def tcp(port):
    return {"port": port, "protocol": "tcp"}


def udp(port):
    return {"port": port, "protocol": "udp"}


SSH_CONNECTION = "10.88.0.1 51234 10.88.0.28 2222"

# ---------------------------------------------------------------------------
# management_ports


@pytest.mark.parametrize(
    "connection,ssh_connection,ansible_port,expected",
    [
        pytest.param("ssh", SSH_CONNECTION, 22, [tcp(2222)], id="ssh-connection-wins"),
        pytest.param("ssh", SSH_CONNECTION, None, [tcp(2222)], id="ssh-connection-only"),
        pytest.param(
            "ssh", "fe80::1%eth0 51234 fe80::28%eth0 22", 2200, [tcp(22)], id="ipv6-link-local"
        ),
        pytest.param("ssh", None, None, [tcp(22)], id="ssh-default"),
        pytest.param("ssh", "", 2200, [tcp(2200)], id="ssh-ansible-port"),
        pytest.param("ssh", None, "2200", [tcp(2200)], id="ssh-ansible-port-string"),
        pytest.param("smart", None, None, [tcp(22)], id="smart"),
        pytest.param("paramiko", None, 2022, [tcp(2022)], id="paramiko"),
        pytest.param("ansible.builtin.ssh", None, 2022, [tcp(2022)], id="fqcn-ssh"),
        pytest.param("ansible.builtin.paramiko_ssh", None, None, [tcp(22)], id="fqcn-paramiko"),
        # Not what sshd prints: three fields, or a port that is not a number.
        pytest.param("ssh", "10.88.0.1 51234 10.88.0.28", 2200, [tcp(2200)], id="short"),
        pytest.param("ssh", "10.88.0.1 51234 10.88.0.28 ssh", None, [tcp(22)], id="bad-port"),
        pytest.param("podman", None, 22, [], id="podman"),
        pytest.param("containers.podman.podman", None, None, [], id="podman-fqcn"),
        pytest.param("local", "", None, [], id="local"),
        pytest.param("docker", None, 2222, [], id="docker"),
        pytest.param(None, None, None, [], id="no-connection"),
        # The remote says it came over SSH (e.g. a local run from an SSH login): kept reachable.
        pytest.param("local", SSH_CONNECTION, None, [tcp(2222)], id="local-over-ssh"),
    ],
)
def test_management_ports_connection(connection, ssh_connection, ansible_port, expected):
    assert management_ports(connection, ssh_connection, ansible_port) == expected


@pytest.mark.parametrize(
    "connection,ssh_connection,extra,expected",
    [
        pytest.param(
            "podman", None, [22, "8443", "53/udp"], [tcp(22), tcp(8443), udp(53)], id="normalized"
        ),
        pytest.param("podman", None, ["22/tcp", "53/tcp"], [tcp(22), tcp(53)], id="explicit-tcp"),
        pytest.param(
            "ssh",
            SSH_CONNECTION,
            ["53/udp", 2222, "8443", "2222/tcp", "53/udp", 53],
            [tcp(2222), udp(53), tcp(8443), tcp(53)],
            id="duplicates-removed-order-kept",
        ),
        pytest.param("ssh", None, [1, 65535], [tcp(22), tcp(1), tcp(65535)], id="bounds"),
        pytest.param("ssh", None, [], [tcp(22)], id="empty"),
    ],
)
def test_management_ports_extra(connection, ssh_connection, extra, expected):
    assert management_ports(connection, ssh_connection, None, extra) == expected


@pytest.mark.parametrize(
    "extra,message",
    [
        (
            [0],
            "management_ports[0]: 0 is not a port (1-65535, optionally /tcp or /udp)",
        ),
        (
            [22, 70000],
            "management_ports[1]: 70000 is not a port (1-65535, optionally /tcp or /udp)",
        ),
        (
            [22, "53/udp", "22/sctp"],
            "management_ports[2]: '22/sctp' has an unknown protocol (tcp or udp)",
        ),
        (
            [True],
            "management_ports[0]: True is not a port (1-65535, optionally /tcp or /udp)",
        ),
        (
            ["abc"],
            "management_ports[0]: 'abc' is not a port (1-65535, optionally /tcp or /udp)",
        ),
        (
            ["65536/udp"],
            "management_ports[0]: '65536/udp' is not a port (1-65535, optionally /tcp or /udp)",
        ),
        (
            ["-1"],
            "management_ports[0]: '-1' is not a port (1-65535, optionally /tcp or /udp)",
        ),
    ],
)
def test_management_ports_bad_extra(extra, message):
    with pytest.raises(ValueError) as raised:
        management_ports("ssh", SSH_CONNECTION, None, extra)
    assert str(raised.value) == message


def test_management_ports_lists_every_bad_port_under_the_callers_name():
    with pytest.raises(PolicyError) as raised:
        management_ports("ssh", None, "two", [22, "x", "1/sctp"], field="extra")
    assert raised.value.errors == [
        "ansible_port: 'two' is not a port (1-65535, optionally /tcp or /udp)",
        "extra[1]: 'x' is not a port (1-65535, optionally /tcp or /udp)",
        "extra[2]: '1/sctp' has an unknown protocol (tcp or udp)",
    ]


def test_management_ports_bad_ansible_port():
    with pytest.raises(ValueError) as raised:
        management_ports("ssh", None, "ssh-port")
    assert str(raised.value) == (
        "ansible_port: 'ssh-port' is not a port (1-65535, optionally /tcp or /udp)"
    )


# ---------------------------------------------------------------------------
# nfs_usage

NOT_IN_USE = {"in_use": False, "reason": None}


def service(name, state, status="enabled"):
    return {name: {"name": name, "state": state, "status": status, "source": "systemd"}}


# Debian's default /etc/exports.
EXPORTS_COMMENTS = """\
# /etc/exports: the access control list for filesystems which may be exported
#		to NFS clients.  See exports(5).
#
# Example for NFSv2 and NFSv3:
# /srv/homes       hostname1(rw,sync,no_subtree_check) hostname2(ro,sync,no_subtree_check)
#
# Example for NFSv4:
# /srv/nfs4        gss/krb5i(rw,sync,fsid=0,crossmnt,no_subtree_check)
# /srv/nfs4/homes  gss/krb5i(rw,sync,no_subtree_check)
#

   # an indented comment
\t
"""
EXPORTS = (
    EXPORTS_COMMENTS
    + """\
/srv/nfs 10.88.0.0/16(rw,sync,no_subtree_check)
  /srv/ro   *(ro,all_squash)   # read-only for everyone
"""
)
EXPORTS_CONTINUED = """\
/srv/projects \\
    10.88.0.0/16(rw,sync,no_subtree_check) \\
    192.0.2.0/24(ro)
/srv/ro *(ro)
"""

MOUNTS_BASE = """\
sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
udev /dev devtmpfs rw,nosuid,relatime,size=989240k,nr_inodes=247310,mode=755,inode64 0 0
/dev/vda1 / ext4 rw,relatime,errors=remount-ro 0 0
tmpfs /run tmpfs rw,nosuid,nodev,noexec,relatime,size=201636k,mode=755,inode64 0 0
systemd-1 /proc/sys/fs/binfmt_misc autofs rw,relatime,fd=30,pgrp=1,timeout=0,minproto=5 0 0
rpc_pipefs /run/rpc_pipefs rpc_pipefs rw,relatime 0 0
"""
# What an NFS server has mounted for itself: not a use of NFS by this host as a client.
MOUNT_NFSD = "nfsd /proc/fs/nfsd nfsd rw,relatime 0 0\n"
MOUNT_NFS4 = (
    "10.88.0.10:/srv/nfs /mnt/data nfs4 rw,relatime,vers=4.2,rsize=524288,wsize=524288,"
    "namlen=255,hard,proto=tcp,timeo=600,retrans=2,sec=sys,clientaddr=10.88.0.28,"
    "local_lock=none,addr=10.88.0.10 0 0\n"
)
MOUNT_NFS3 = (
    "fileserver:/export/home /home nfs rw,relatime,vers=3,rsize=1048576,wsize=1048576,"
    "namlen=255,hard,proto=tcp,timeo=600,retrans=2,sec=sys,mountaddr=10.88.0.11,"
    "mountvers=3,mountport=20048,mountproto=udp,local_lock=none,addr=10.88.0.11 0 0\n"
)


@pytest.mark.parametrize(
    "services,exports,mounts,expected",
    [
        pytest.param(None, "", "", NOT_IN_USE, id="nothing"),
        pytest.param({}, None, None, NOT_IN_USE, id="none-texts"),
        pytest.param(
            dict(service("ssh.service", "running"), **service("rpcbind.service", "running")),
            "",
            MOUNTS_BASE,
            NOT_IN_USE,
            id="rpcbind-alone",
        ),
        pytest.param(
            service("nfs-server.service", "running"),
            "",
            "",
            {"in_use": True, "reason": "nfs-server.service is running"},
            id="nfs-server",
        ),
        pytest.param(
            service("nfs-kernel-server.service", "running"),
            "",
            "",
            {"in_use": True, "reason": "nfs-kernel-server.service is running"},
            id="nfs-kernel-server",
        ),
        pytest.param(
            dict(
                service("nfs-kernel-server.service", "running"),
                **service("nfs-server.service", "running"),
            ),
            "",
            "",
            {
                "in_use": True,
                "reason": "nfs-server.service is running; nfs-kernel-server.service is running",
            },
            id="both-server-names",
        ),
        pytest.param(
            dict(
                service("nfs-server.service", "stopped"),
                **service("nfs-kernel-server.service", "inactive", "disabled"),
            ),
            "",
            "",
            NOT_IN_USE,
            id="stopped-server",
        ),
        pytest.param({}, EXPORTS_COMMENTS, "", NOT_IN_USE, id="exports-comments-only"),
        pytest.param(
            {},
            EXPORTS,
            "",
            {"in_use": True, "reason": "/etc/exports exports /srv/nfs, /srv/ro"},
            id="exports",
        ),
        pytest.param(
            {},
            EXPORTS_CONTINUED,
            "",
            {"in_use": True, "reason": "/etc/exports exports /srv/projects, /srv/ro"},
            id="exports-continued-lines",
        ),
        pytest.param({}, "", MOUNTS_BASE + MOUNT_NFSD, NOT_IN_USE, id="nfsd-only"),
        pytest.param(
            {},
            "",
            MOUNTS_BASE + MOUNT_NFS4 + MOUNT_NFS3,
            {"in_use": True, "reason": "NFS mounts: /mnt/data, /home"},
            id="nfs-mounts",
        ),
        pytest.param(
            service("nfs-server.service", "running"),
            EXPORTS,
            MOUNTS_BASE + MOUNT_NFSD + MOUNT_NFS4,
            {
                "in_use": True,
                "reason": "nfs-server.service is running; /etc/exports exports /srv/nfs, "
                "/srv/ro; NFS mounts: /mnt/data",
            },
            id="server-exports-and-mounts",
        ),
    ],
)
def test_nfs_usage(services, exports, mounts, expected):
    assert nfs_usage(services, exports, mounts) == expected


# ---------------------------------------------------------------------------
# service_ports

FIREWALLD = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "module_utils", "fixtures", "firewalld"
)


def resolved(*names):
    """firewalld_services' `services` for these services, read from the captures."""

    def read(name):
        with open(os.path.join(FIREWALLD, "info-service-%s.txt" % name)) as f:
            return f.read()

    return resolve_services(names, read)[0]


@pytest.mark.parametrize(
    "services,expected",
    [
        pytest.param(None, {}, id="none"),
        pytest.param({}, {}, id="no-services"),
        pytest.param(
            resolved("dhcpv6-client", "mdns", "samba", "ssh"),
            {
                "dhcpv6-client": ["546/udp"],
                "mdns": ["5353/udp"],
                "netbios-ns": ["137/udp"],
                # samba opens the ports of samba-client and of netbios-ns, which it includes.
                "samba": ["137/udp", "138/udp", "139/tcp", "445/tcp"],
                "samba-client": ["137/udp", "138/udp"],
                "ssh": ["22/tcp"],
            },
            id="captures",
        ),
    ],
)
def test_service_ports(services, expected):
    assert service_ports(services) == expected
