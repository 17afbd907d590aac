# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""host.containers: the engines' JSON parsed, Docker's API over a real AF_UNIX socket, podman
through a faked run(), and when neither is asked."""

import json
import os

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._read.containers import (
    MAX_RANGE,
    MAX_TEXT,
    ContainerReadError,
    parse_docker,
    parse_http,
    parse_podman,
    read_containers,
    read_docker,
    read_podman,
    unix_http_get,
)
from docker_api import answer, docker_http, silent

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
ID = "a" * 64
ID2 = "0123456789abcdef" * 4


def _fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def _ids(name):
    return [c["Id"] for c in json.loads(_fixture(name))]


def _port(host_ip, host_port, protocol, container_port):
    return {
        "host_ip": host_ip,
        "host_port": host_port,
        "protocol": protocol,
        "container_port": container_port,
    }


def _container(engine, cid, name, image, project, network_mode, ports):
    return {
        "engine": engine,
        "id": cid,
        "name": name,
        "image": image,
        "project": project,
        "network_mode": network_mode,
        "ports": ports,
    }


DOCKER_20 = _ids("docker_20.10_containers.json")
DOCKER_24 = _ids("docker_24_containers.json")
DOCKER_26 = _ids("docker_26_containers.json")
PODMAN_4 = _ids("podman_4.3_ps.json")
PODMAN_3 = _ids("podman_3.0_ps.json")


@pytest.mark.parametrize(
    "fixture, expected",
    [
        ("docker_20.10_containers.json", [
            _container("docker", DOCKER_20[0], "web", "lab/busybox", None, "default", [
                _port("0.0.0.0", 9090, "tcp", 8080), _port("::", 9090, "tcp", 8080)]),
        ]),
        ("docker_24_containers.json", [
            _container("docker", DOCKER_24[0], "shop-web-1", "nginx:1.25", "shop",
                       "shop_default", [
                           _port("0.0.0.0", 8080, "tcp", 80), _port("::", 8080, "tcp", 80)]),
            _container("docker", DOCKER_24[1], "shop-db-1", "postgres:16", "shop",
                       "shop_default", [_port("127.0.0.1", 5432, "tcp", 5432)]),
        ]),
        ("docker_26_containers.json", [
            _container("docker", DOCKER_26[0], "node-exporter", "prom/node-exporter:v1.8.1",
                       None, "host", []),
            _container("docker", DOCKER_26[1], "turn", "coturn/coturn:4.6", None, "bridge", [
                _port("0.0.0.0", 3478, "tcp", 3478), _port("0.0.0.0", 3478, "udp", 3478),
                _port("::", 3478, "tcp", 3478), _port("::", 3478, "udp", 3478)]),
            _container("docker", DOCKER_26[2], "cache", "redis:7", None, "bridge", []),
        ]),
    ],
)  # fmt: skip
def test_docker_versions(fixture, expected):
    assert parse_docker(_fixture(fixture)) == (expected, [])
    # Text parses as bytes do.
    assert parse_docker(_fixture(fixture).decode("utf-8")) == (expected, [])


@pytest.mark.parametrize(
    "fixture, expected",
    [
        ("podman_4.3_ps.json", [
            _container("podman", PODMAN_4[0], "web", "docker.io/library/httpd:2.4", None,
                       "bridge", [
                           _port("", 8080, "tcp", 80),
                           _port("127.0.0.1", 19000, "udp", 9000),
                           _port("127.0.0.1", 19001, "udp", 9001),
                           _port("127.0.0.1", 19002, "udp", 9002)]),
            _container("podman", PODMAN_4[1], "blog_agent_1", "docker.io/library/alpine:3.19",
                       "blog", None, []),
        ]),
        ("podman_3.0_ps.json", [
            _container("podman", PODMAN_3[0], "legacy_proxy_1", "docker.io/library/nginx:latest",
                       "legacy", "bridge", [
                           _port("", 8443, "tcp", 443), _port("0.0.0.0", 8053, "udp", 53)]),
        ]),
    ],
)  # fmt: skip
def test_podman_versions(fixture, expected):
    assert parse_podman(_fixture(fixture).decode("utf-8")) == (expected, [])


def _docker_entry(**fields):
    entry = {
        "Id": ID,
        "Names": ["/web"],
        "Image": "busybox:latest",
        "Labels": {},
        "HostConfig": {"NetworkMode": "bridge"},
        "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 9090, "Type": "tcp"}],
    }
    entry.update(fields)
    return entry


WEB = _container(
    "docker", ID, "web", "busybox:latest", None, "bridge", [_port("0.0.0.0", 9090, "tcp", 80)]
)
WHERE = "container " + ID
# Ports: only published ones; every malformed one left out on its own.
MIXED_PORTS = [
    {"PrivatePort": 443, "Type": "tcp"},
    {"IP": "::", "PrivatePort": 80, "PublicPort": 0, "Type": "tcp"},
    {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 70000, "Type": "tcp"},
    {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": True, "Type": "tcp"},
    {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": "9090", "Type": "tcp"},
    {"IP": "0.0.0.0", "PrivatePort": 0, "PublicPort": 9090, "Type": "tcp"},
    {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 9090, "Type": "icmp"},
    {"IP": "0.0.0.0; rm -rf /", "PrivatePort": 80, "PublicPort": 9090, "Type": "tcp"},
    {"IP": "::ffff:0:0", "PrivatePort": 80, "PublicPort": 9091, "Type": "udp"},
    {"IP": "0:0::0", "PrivatePort": 80, "PublicPort": 9092, "Type": "sctp"},
    "9090/tcp",
]
KEPT = [_port("::ffff:0:0", 9091, "udp", 80), _port("::", 9092, "sctp", 80)]
MIXED_PROBLEMS = [
    WHERE + ": Ports[2] has the host port 70000: left out",
    WHERE + ": Ports[3] has the host port True: left out",
    WHERE + ": Ports[4] has the host port '9090': left out",
    WHERE + ": Ports[5] has the container port 0: left out",
    WHERE + ": Ports[6] has the protocol 'icmp': left out",
    WHERE + ": Ports[7] has the host address '0.0.0.0; rm -rf /': left out",
    WHERE + ": Ports[10] is a string, not an object: left out",
]


@pytest.mark.parametrize(
    "entries, expected, problems",
    [
        # Names and images are data, kept as they are, control characters too.
        ([_docker_entry(Names=["/web\n\x1b[31mroot"], Image="evil\r\nimage")],
         [dict(WEB, name="web\n\x1b[31mroot", image="evil\r\nimage")], []),
        # Legacy links add "/other/alias" names; the plain one is the name.
        ([_docker_entry(Names=["/app/db", "/db"])], [dict(WEB, name="db")], []),
        ([_docker_entry(Names=[])], [dict(WEB, name=None)], []),
        ([_docker_entry(Names=[7, "/web"])], [WEB],
         [WHERE + ": Names[0] is a number, not a string: left out"]),
        ([_docker_entry(Names="/web")], [WEB], []),
        ([_docker_entry(Names={"x": 1})], [dict(WEB, name=None)],
         [WHERE + ": Names is an object, not an array: left out"]),
        ([_docker_entry(Image=["busybox"])], [dict(WEB, image=None)],
         [WHERE + ": Image is an array, not a string: left out"]),
        ([_docker_entry(Names=["/" + "n" * 300])], [dict(WEB, name="n" * MAX_TEXT)],
         [WHERE + ": Names has 300 characters: cut to 255"]),
        ([_docker_entry(Labels={"com.docker.compose.project": "p" * 256})],
         [dict(WEB, project="p" * MAX_TEXT)],
         [WHERE + ": Labels[com.docker.compose.project] has 256 characters: cut to 255"]),
        ([_docker_entry(Labels={"com.docker.compose.project": 1})], [WEB],
         [WHERE + ": Labels[com.docker.compose.project] is a number, not a string: left out"]),
        ([_docker_entry(Labels=["x"])], [WEB],
         [WHERE + ": Labels is an array, not an object: left out"]),
        ([_docker_entry(Labels=None, HostConfig=None)], [dict(WEB, network_mode=None)], []),
        ([_docker_entry(HostConfig="host")], [dict(WEB, network_mode=None)],
         [WHERE + ": HostConfig is a string, not an object: left out"]),
        ([_docker_entry(HostConfig={"NetworkMode": True})], [dict(WEB, network_mode=None)],
         [WHERE + ": HostConfig.NetworkMode is a boolean, not a string: left out"]),
        # Ids: 64 hex digits, else the container is dropped.
        ([_docker_entry(Id="A" * 64), _docker_entry(Id=ID2)], [dict(WEB, id=ID2)],
         ["entry 0: Id '%s... is not a 64-digit hex id: dropped" % ("A" * 56)]),
        # A shown value has its control characters escaped.
        ([_docker_entry(Id="abc123"), _docker_entry(Id=None), _docker_entry(Id="ab\n\x1b[0m"),
          _docker_entry(Id=ID + "\n"), _docker_entry(Id=7)],
         [], ["entry 0: Id 'abc123' is not a 64-digit hex id: dropped",
              "entry 1: Id None is not a 64-digit hex id: dropped",
              "entry 2: Id 'ab\\n\\x1b[0m' is not a 64-digit hex id: dropped",
              "entry 3: Id '%s... is not a 64-digit hex id: dropped" % ("a" * 56),
              "entry 4: Id 7 is not a 64-digit hex id: dropped"]),
        ([_docker_entry(Id=ID[:12])], [],
         ["entry 0: Id 'aaaaaaaaaaaa' is not a 64-digit hex id: dropped"]),
        (["web", None], [], ["entry 0 is a string, not an object: dropped",
                             "entry 1 is null, not an object: dropped"]),
        # Ports: only published ones; every malformed one left out on its own.
        ([_docker_entry(Ports=MIXED_PORTS)], [dict(WEB, ports=KEPT)], MIXED_PROBLEMS),
        ([_docker_entry(Ports=None)], [dict(WEB, ports=[])], []),
        ([_docker_entry(Ports={"80/tcp": None})], [dict(WEB, ports=[])],
         [WHERE + ": Ports is an object, not an array: left out"]),
    ],
)  # fmt: skip
def test_docker_hostile_and_malformed(entries, expected, problems):
    assert parse_docker(json.dumps(entries)) == (expected, problems)


def _podman_entry(ports, **fields):
    entry = {"Id": ID, "Names": ["web"], "Image": "docker.io/library/nginx:latest"}
    entry.update(fields, Ports=ports)
    return entry


WHERE_PODMAN = "container " + ID


@pytest.mark.parametrize(
    "ports, expected, problems",
    [
        ([{"host_ip": "", "container_port": 53, "host_port": 5353, "range": 1,
           "protocol": "tcp,udp"}],
         [_port("", 5353, "tcp", 53), _port("", 5353, "udp", 53)], []),
        ([{"host_ip": "::1", "container_port": 80, "host_port": 8080, "range": 0,
           "protocol": "tcp"}], [_port("::1", 8080, "tcp", 80)], []),
        ([{"host_ip": "", "container_port": 80, "host_port": 0, "range": 1, "protocol": "tcp"}],
         [], []),
        # A range beyond the bound: its first MAX_RANGE ports, and one line.
        ([{"host_ip": "", "container_port": 10000, "host_port": 10000, "range": 10001,
           "protocol": "udp"}],
         [_port("", 10000 + i, "udp", 10000 + i) for i in range(MAX_RANGE)],
         [WHERE_PODMAN + ": Ports[0] is a range of 10001 ports: only its first 1024 are listed"]),
        ([{"host_ip": "", "container_port": 80, "host_port": 65535, "range": 2,
           "protocol": "tcp"}], [],
         [WHERE_PODMAN + ": Ports[0] has a range of 2 that ends beyond port 65535: left out"]),
        ([{"host_ip": "", "container_port": 80, "host_port": 8080, "range": "3",
           "protocol": "tcp"}], [], [WHERE_PODMAN + ": Ports[0] has the range '3': left out"]),
        ([{"host_ip": "", "container_port": 80, "host_port": 8080, "protocol": "tcp,gre"}], [],
         [WHERE_PODMAN + ": Ports[0] has the protocol 'tcp,gre': left out"]),
        ([{"host_ip": "", "container_port": 80, "host_port": 8080, "protocol": None}], [],
         [WHERE_PODMAN + ": Ports[0] has the protocol None: left out"]),
        ([{"host_ip": "all", "container_port": 80, "host_port": 8080, "protocol": "tcp"}], [],
         [WHERE_PODMAN + ": Ports[0] has the host address 'all': left out"]),
        ([{"host_ip": "", "container_port": -1, "host_port": 8080, "protocol": "tcp"}], [],
         [WHERE_PODMAN + ": Ports[0] has the container port -1: left out"]),
        # podman 3.x
        ([{"hostPort": 2222, "containerPort": 22, "protocol": "tcp", "hostIP": "10.0.0.5"}],
         [_port("10.0.0.5", 2222, "tcp", 22)], []),
        ([{"hostPort": 2222, "containerPort": 22, "protocol": "sctp"}],
         [_port("", 2222, "sctp", 22)], []),
        ([[8080, 80]], [], [WHERE_PODMAN + ": Ports[0] is an array, not an object: left out"]),
        ("8080->80/tcp", [], [WHERE_PODMAN + ": Ports is a string, not an array: left out"]),
    ],
)  # fmt: skip
def test_podman_ports(ports, expected, problems):
    containers, found = parse_podman(json.dumps([_podman_entry(ports, Networks=None)]))
    assert containers == [
        _container("podman", ID, "web", "docker.io/library/nginx:latest", None, None, expected)
    ]
    assert found == problems


@pytest.mark.parametrize(
    "text, containers",
    [
        ("", []),
        ("\n", []),
        ("[]\n", []),
        ("null", []),
    ],
)
def test_podman_empty(text, containers):
    assert parse_podman(text) == (containers, [])


@pytest.mark.parametrize(
    "parse, data, message",
    [
        (parse_docker, b"<html>", "not JSON: Expecting value: line 1 column 1 (char 0)"),
        (parse_docker, b'{"message": "page not found"}',
         "expected an array of containers, got an object"),
        (parse_podman, "Error: something\n", "not JSON: Expecting value: line 1 column 1 (char 0)"),
        (parse_podman, '"web"', "expected an array of containers, got a string"),
        (parse_podman, "[{", "not JSON: Expecting property name enclosed in double quotes: "
                             "line 1 column 3 (char 2)"),
    ],
)  # fmt: skip
def test_not_a_list_of_containers(parse, data, message):
    with pytest.raises(ContainerReadError) as info:
        parse(data)
    assert str(info.value) == message


def test_bytes_that_are_not_utf8_become_replacement_characters():
    body = json.dumps([_docker_entry(Names=["/placeholder"])]).encode("utf-8")
    body = body.replace(b"placeholder", b"w\xffb")
    containers, problems = parse_docker(body)
    assert containers[0]["name"] == "w\ufffdb"
    assert problems == []


@pytest.mark.parametrize(
    "response, body",
    [
        (b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n[]\n", b"[]\n"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n[]\nextra", b"[]\n"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
         b"2\r\n[]\r\n1;ext=1\r\n\n\r\n0\r\n\r\n", b"[]\n"),
    ],
)  # fmt: skip
def test_http_answers(response, body):
    assert parse_http(response) == body


OK = b"HTTP/1.0 200 OK\r\n"
CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize(
    "response, message",
    [
        (b"", "the answer ends before its headers do (0 bytes)"),
        (OK + b"Content-Type: app", "the answer ends before its headers do (34 bytes)"),
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "the answer is not HTTP: 'SSH-2.0-OpenSSH_9.2'"),
        (OK + b"Content-Length: 100\r\n\r\n[{", "the answer ends after 2 of its 100 bytes"),
        (OK + b"Content-Length: x\r\n\r\n[]",
         "the answer has a malformed Content-Length 'x'"),
        (CHUNKED + b"5\r\n[]", "the answer ends inside its chunked body"),
        (CHUNKED + b"2\r\n[]\r\n", "the answer ends inside its chunked body"),
        (CHUNKED + b"zz\r\n", "the answer has a malformed chunk size b'zz'"),
        # int("-6", 16) is -6: the parser must refuse it, not loop on the same line.
        (CHUNKED + b"-6\r\n", "the answer has a malformed chunk size b'-6'"),
        (CHUNKED + b"+2\r\n[]\r\n0\r\n\r\n", "the answer has a malformed chunk size b'+2'"),
        (b'HTTP/1.0 400 Bad Request\r\n\r\n{"message":"client version 1.12 is too old"}\n',
         "the answer is 400 Bad Request: '{\"message\":\"client version 1.12 is too old\"}'"),
        (b"HTTP/1.0 500\r\n\r\n", "the answer is 500"),
    ],
)  # fmt: skip
def test_http_failures(response, message):
    with pytest.raises(ContainerReadError) as info:
        parse_http(response)
    assert str(info.value) == message


RUNNING = {
    "docker.service": {"load_state": "loaded", "active_state": "active"},
    "docker.socket": {"load_state": "loaded", "active_state": "active"},
}


@pytest.mark.kernel
def test_docker_over_its_socket(serve):
    body = _fixture("docker_24_containers.json")
    server = serve(answer(docker_http(body, "24.0.7", "1.43"), split=100))
    engine, containers, problems = read_docker(RUNNING, (server.path,))
    assert engine == {"state": "read", "source": server.path, "error": None}
    assert containers == parse_docker(body)[0]
    assert [c["name"] for c in containers] == ["shop-web-1", "shop-db-1"]
    assert problems == []
    assert server.requests == [
        b"GET /containers/json HTTP/1.0\r\nHost: docker\r\nUser-Agent: portguard\r\n\r\n"
    ]


@pytest.mark.kernel
def test_docker_chunked_answer(serve):
    body = _fixture("docker_26_containers.json")
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:700], body[700:]))
    response = docker_http(chunks + b"0\r\n\r\n", extra="Transfer-Encoding: chunked\r\n").replace(
        b"HTTP/1.0", b"HTTP/1.1"
    )
    server = serve(answer(response))
    engine, containers, problems = read_docker(RUNNING, (server.path,))
    assert (engine["state"], problems) == ("read", [])
    assert [c["name"] for c in containers] == ["node-exporter", "turn", "cache"]


@pytest.mark.kernel
def test_the_next_socket_when_one_does_not_exist(serve):
    server = serve(
        answer(docker_http(_fixture("docker_20.10_containers.json"), "20.10.24", "1.41"))
    )
    missing = os.path.join(os.path.dirname(server.path), "absent", "docker.sock")
    engine, containers, problems = read_docker(RUNNING, (missing, server.path))
    assert engine == {"state": "read", "source": server.path, "error": None}
    assert problems == []
    assert [(c["name"], len(c["ports"])) for c in containers] == [("web", 2)]


@pytest.mark.parametrize(
    "handle, limit, error",
    [
        (silent, None, "no complete answer within 0.3 s"),
        # Closed early: a Content-Length promises more than comes.
        (answer(b"HTTP/1.0 200 OK\r\nContent-Length: 900\r\n\r\n[{\"Id\":"), None,
         "the answer ends after 7 of its 900 bytes"),
        (answer(b""), None, "the answer ends before its headers do (0 bytes)"),
        (answer(docker_http(b"[" + b" " * 5000 + b"]")), 4096,
         "the answer is larger than 4096 bytes"),
        (answer(docker_http(b"not json")), None,
         "not JSON: Expecting value: line 1 column 1 (char 0)"),
    ],
)  # fmt: skip
@pytest.mark.kernel
def test_docker_answers_that_fail(serve, handle, limit, error):
    server = serve(handle)
    kw = {"timeout": 0.3}
    if limit:
        kw["limit"] = limit
    engine, containers, problems = read_docker(RUNNING, (server.path,), **kw)
    line = "GET /containers/json on %s: %s" % (server.path, error)
    assert engine == {"state": "failed", "source": server.path, "error": line}
    assert containers == []
    assert problems == [line]
    assert server.connections == 1


@pytest.mark.kernel
def test_a_socket_nobody_listens_on(serve):
    server = serve(answer(b""))
    server.close()  # the file stays, nothing accepts
    engine, containers, problems = read_docker(RUNNING, (server.path,))
    assert (engine["state"], containers) == ("failed", [])
    assert problems == ["cannot connect to %s: Connection refused" % server.path]


@pytest.mark.kernel
def test_unix_http_get_raises_oserror_for_a_missing_socket(tmp_path):
    with pytest.raises(FileNotFoundError):
        unix_http_get(str(tmp_path / "absent.sock"))


def _unit(load, active):
    return {"load_state": load, "active_state": active}


@pytest.mark.parametrize(
    "units, state, error",
    [
        # Only docker.socket: a connection would start dockerd.
        ({"docker.service": _unit("loaded", "inactive"),
          "docker.socket": _unit("loaded", "active")}, "not running", None),
        ({"docker.service": _unit("loaded", "inactive"),
          "docker.socket": _unit("loaded", "inactive")}, "not running", None),
        ({"docker.service": _unit("loaded", "failed")}, "not running", None),
        ({"docker.service": _unit("loaded", "activating"),
          "docker.socket": _unit("loaded", "active")}, "not running", None),
        ({"docker.service": _unit("not-found", "inactive"),
          "docker.socket": _unit("not-found", "inactive")}, "not installed", None),
        # A docker.socket without its service (a broken install) could still start something.
        ({"docker.service": _unit("not-found", "inactive"),
          "docker.socket": _unit("loaded", "active")}, "not running", None),
        # Units not read: the socket exists, its state is unknown.
        ({}, "failed", "not read: the state of docker.service is unknown (the units were not "
                       "read), and a connection to {path} could start it"),
    ],
)  # fmt: skip
@pytest.mark.kernel
def test_docker_is_not_asked_unless_its_service_runs(serve, units, state, error):
    server = serve(answer(docker_http(b"[]")))
    engine, containers, problems = read_docker(units, (server.path,))
    error = error and error.format(path=server.path)
    assert engine == {"state": state, "source": None, "error": error}
    assert containers == []
    assert problems == ([error] if error else [])
    assert server.connections == 0


def test_units_not_read_and_no_docker_socket(tmp_path):
    engine, containers, problems = read_docker({}, (str(tmp_path / "docker.sock"),))
    assert engine == {"state": "not running", "source": None, "error": None}
    assert (containers, problems) == ([], [])


@pytest.mark.kernel
def test_docker_active_without_a_socket(tmp_path):
    paths = (str(tmp_path / "a.sock"), str(tmp_path / "b.sock"))
    engine, containers, problems = read_docker(RUNNING, paths)
    line = "docker.service is active but none of %s, %s exists" % paths
    assert engine == {"state": "failed", "source": None, "error": line}
    assert (containers, problems) == ([], [line])


class Podman:
    def __init__(self, answer):
        self.answer = answer
        self.ran = []

    def run(self, argv):
        self.ran.append(argv)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.mark.parametrize(
    "program, store, answer, state, error",
    [
        (None, True, None, "not installed", None),
        # The store missing: rootful podman never ran, and podman ps would create it.
        ("/usr/bin/podman", False, None, "not running", None),
        ("/usr/bin/podman", True, (125, "", "Error: database is locked\n"), "failed",
         "podman ps --format json --no-trunc failed (rc 125): Error: database is locked"),
        ("/usr/bin/podman", True, OSError(13, "Permission denied"), "failed",
         "podman ps --format json --no-trunc: cannot run it: Permission denied"),
        ("/usr/bin/podman", True, (0, "Error: not json", ""), "failed",
         "podman ps: not JSON: Expecting value: line 1 column 1 (char 0)"),
        ("/usr/bin/podman", True, (0, "[]\n", ""), "read", None),
    ],
)  # fmt: skip
def test_podman_states(tmp_path, program, store, answer, state, error):
    if store:
        (tmp_path / "storage").mkdir()
    podman = Podman(answer)
    engine, containers, problems = read_podman(
        podman.run, program, str(tmp_path / "storage"), str(tmp_path)
    )
    source = "podman ps" if state in ("failed", "read") else None
    assert engine == {"state": state, "source": source, "error": error}
    assert containers == []
    assert problems == ([error] if error else [])
    asked = [["/usr/bin/podman", "ps", "--format", "json", "--no-trunc"]]
    assert podman.ran == (asked if source else [])


@pytest.mark.kernel
def test_both_engines_with_problems_named_by_engine(serve, tmp_path):
    entries = json.loads(_fixture("docker_20.10_containers.json"))
    entries.append(_docker_entry(Id="not-hex"))
    server = serve(answer(docker_http(json.dumps(entries).encode())))
    (tmp_path / "storage").mkdir()
    text = json.dumps([_podman_entry([{"hostPort": 1, "containerPort": 1, "protocol": "x"}])])
    podman = Podman((0, text, ""))
    # The run directory is the test's own: the machine's /run/containers/storage exists only
    # once podman has run there.
    found, errors = read_containers(
        RUNNING,
        podman.run,
        "/usr/bin/podman",
        (server.path,),
        str(tmp_path / "storage"),
        podman_runroot=str(tmp_path),
    )
    assert [(c["engine"], c["name"]) for c in found["containers"]] == [
        ("docker", "web"),
        ("podman", "web"),
    ]
    assert found["engines"] == {
        "docker": {
            "state": "read",
            "source": server.path,
            "error": "entry 1: Id 'not-hex' is not a 64-digit hex id: dropped",
        },
        "podman": {
            "state": "read",
            "source": "podman ps",
            "error": "container %s: Ports[0] has the protocol 'x': left out" % ID,
        },
    }
    assert errors == [
        "docker: entry 1: Id 'not-hex' is not a 64-digit hex id: dropped",
        "podman: container %s: Ports[0] has the protocol 'x': left out" % ID,
    ]
    assert json.loads(json.dumps(found)) == found


def test_podman_is_not_asked_before_it_ran_since_boot(tmp_path):
    """The first podman command after boot resets every container's state: a read never is it."""
    (tmp_path / "storage").mkdir()
    podman = Podman((0, "[]\n", ""))
    missing = str(tmp_path / "run" / "containers" / "storage")
    engine, _containers, _problems = read_podman(
        podman.run, "/usr/bin/podman", str(tmp_path / "storage"), missing
    )
    assert (engine["state"], podman.ran) == ("not running", [])


def test_podman_is_asked_under_a_time_limit(tmp_path):
    (tmp_path / "storage").mkdir()
    podman = Podman((0, "[]\n", ""))
    read_podman(
        podman.run, "/usr/bin/podman", str(tmp_path / "storage"), str(tmp_path), "/usr/bin/timeout"
    )
    assert podman.ran == [
        ["/usr/bin/timeout", "-k", "2", "10", "/usr/bin/podman", "ps", "--format", "json",
         "--no-trunc"]
    ]  # fmt: skip
