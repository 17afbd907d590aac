# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stand-in for Docker's API socket: a real AF_UNIX server in a thread, and the answers it
gives."""

import contextlib
import socket
import threading


def docker_http(body, version="26.1.4", api="1.45", extra=""):
    """Docker's answer to an HTTP/1.0 GET: no Content-Length for a long body, closed after."""
    head = (
        "HTTP/1.0 200 OK\r\nApi-Version: %s\r\nContent-Type: application/json\r\n"
        "Docker-Experimental: false\r\nOstype: linux\r\nServer: Docker/%s (linux)\r\n"
        "Date: Mon, 10 Jun 2024 09:12:03 GMT\r\n%s\r\n" % (api, version, extra)
    )
    return head.encode("ascii") + body


class Server:
    """An AF_UNIX stream server in a thread: ``handle(server, conn, request)`` answers each
    connection; the connections and requests it saw are recorded."""

    def __init__(self, path, handle):
        self.path = path
        self.handle = handle
        self.requests = []
        self.connections = 0
        self.stop = threading.Event()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.sock.settimeout(0.05)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn = self.sock.accept()[0]
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            with conn:
                request = b""
                conn.settimeout(2)
                try:
                    while b"\r\n\r\n" not in request:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        request += chunk
                except OSError:
                    pass
                self.requests.append(request)
                with contextlib.suppress(OSError):  # the client gave up first
                    self.handle(self, conn, request)

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


def answer(response, split=None):
    """A handler that sends ``response`` (in two parts split at ``split``) and closes."""

    def handle(server, conn, request):
        if split is None:
            conn.sendall(response)
        else:
            conn.sendall(response[:split])
            conn.sendall(response[split:])

    return handle


def silent(server, conn, request):
    """A handler that never answers: it holds the connection until the server stops."""
    server.stop.wait(5)
