"""Helpers for the todod integration scenarios (tests/integration/test_todod_*.py).

Built on harness.py (which this module does not change): a module-scoped
todod factory, token minting, raw-socket HTTP, worker discovery,
Prometheus text parsing and small bounded polling loops.
"""

import itertools
import os
import re
import signal
import socket
import time

import pytest
import requests

import harness as H

AUTH_MISSING = "Authentication credentials were not provided."
AUTH_BAD_HEADER = "Invalid token headers"
AUTH_EXPIRED = "token is expired"
AUTH_CLAIMS = "incorrect claims, please check the audience and issuer"
AUTH_PARSE = "Unable to parse authentication"
AUTH_UNAVAILABLE = "Authentication service unavailable."
NOT_FOUND = {"detail": "Not found."}
REALM = 'Bearer realm="api"'

CLIENT_TIMEOUT = 10.0
# "exits promptly" after SIGTERM: a stopping worker may keep a quiet
# connection a couple of seconds before closing it (its next request would
# race the close), so a few seconds, not a few milliseconds
STOP_PROMPTLY = 5.0


# --------------------------------------------------------------------------
# Fixtures (import them into a test module: `from todod_util import todod_module`)

@pytest.fixture(scope="module")
def todod_module(_module_procs, tmp_path_factory):
    """Module-scoped todod factory: todod_module(verifier_socket, **kw)."""
    H.require(H.TODOD)
    base = tmp_path_factory.mktemp("todm")
    n = itertools.count()
    made = []

    def start(verifier_socket, **kw):
        srv = H.Todod(_module_procs, base / ("todod%d" % next(n)), verifier_socket, **kw)
        made.append(srv)
        return srv
    yield start
    _close_sessions(made)


@pytest.fixture
def todod(todod):
    """conftest's todod factory, plus: the Todods' own keep-alive sessions
    are closed before the daemons are stopped (a stopping worker may wait
    for a quiet connection to stay quiet a while)."""
    made = []

    def start(*args, **kw):
        srv = todod(*args, **kw)
        made.append(srv)
        return srv
    yield start
    _close_sessions(made)


def _close_sessions(servers):
    for srv in servers:
        try:
            srv.session.close()
        except Exception:  # noqa: BLE001
            pass


@pytest.fixture(scope="module")
def vd_module(verifierd_module):
    """One verifierd for the module, on the session IdP."""
    return verifierd_module()


# --------------------------------------------------------------------------
# Tokens

class User:
    """A minted identity: its sub and a valid access token."""

    def __init__(self, idp, sub=None):
        self.sub = sub or H.new_sub()
        self.token = idp.mint(idp.claims(sub=self.sub))

    def headers(self, **extra):
        h = {"Authorization": "Bearer " + self.token}
        h.update(extra)
        return h


def bearer(token):
    return {"Authorization": "Bearer " + token}


# --------------------------------------------------------------------------
# HTTP helpers

def new_session(keep_alive=False):
    """A requests session; unless keep_alive, every request asks for
    "Connection: close", so each one really is a connection of its own
    and none is left idle behind."""
    s = requests.Session()
    s.trust_env = False
    if not keep_alive:
        s.headers["Connection"] = "close"
    return s


def call(srv, method, path, user=None, session=None, headers=None, **kw):
    """One request to todod; user: a User, a token string or None."""
    h = dict(headers or {})
    if isinstance(user, User):
        h.update(user.headers())
    elif isinstance(user, str):
        h["Authorization"] = "Bearer " + user
    kw.setdefault("timeout", CLIENT_TIMEOUT)
    s = session or srv.session
    return s.request(method, srv.base + path, headers=h, **kw)


def create(srv, user, title="t", date=None, session=None):
    body = {"title": title}
    if date is not None:
        body["date"] = date
    r = call(srv, "POST", "/todo/", user, session=session, json=body)
    assert r.status_code == 201, (r.status_code, r.text)
    return r.json()


def assert_detail(r, status, detail):
    assert r.status_code == status, (r.status_code, r.headers, r.text)
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    assert r.json() == {"detail": detail}, r.text


def assert_401(r, detail, presented):
    assert_detail(r, 401, detail)
    www = r.headers.get("WWW-Authenticate")
    if presented:
        assert www == REALM + ', error="invalid_token"', www
    else:
        assert www == REALM, www


def assert_503_unavailable(r):
    assert_detail(r, 503, AUTH_UNAVAILABLE)
    ra = r.headers.get("Retry-After")
    assert ra is not None and ra.isdigit() and int(ra) > 0, r.headers


# --------------------------------------------------------------------------
# Raw sockets

def raw_connect(srv, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)
    s.settimeout(timeout)
    return s


def read_response(sock, timeout=5.0):
    """Reads one HTTP/1.1 response (Content-Length framed, or up to EOF).
    Returns (status, headers dict lower-cased, body bytes); status None if
    the server closed without answering."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    buf = b""
    while b"\r\n\r\n" not in buf:
        if time.monotonic() > deadline:
            raise AssertionError("no complete response head within %.1fs: %r" % (timeout, buf))
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            if not buf:
                return None, {}, b""
            raise AssertionError("connection closed mid-head: %r" % buf)
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = headers.get("content-length")
    if n is not None:
        n = int(n)
        while len(body) < n:
            if time.monotonic() > deadline:
                raise AssertionError("body incomplete within %.1fs" % timeout)
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        body = body[:n]
    return status, headers, body


def raw_request(srv, data, timeout=5.0, half_close=False):
    """Sends bytes on a fresh connection (then shuts down the sending side
    if half_close), returns read_response()."""
    with raw_connect(srv, timeout) as s:
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass    # the server answered (and closed) before reading it all
        return read_response(s, timeout)


def closed_by_peer(sock, timeout):
    """True if the server closes the connection within timeout (reads and
    discards anything it sends first)."""
    sock.settimeout(0.2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if sock.recv(65536) == b"":
                return True
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


# --------------------------------------------------------------------------
# Processes

def children(pid):
    """Direct children of pid (the todod master's workers)."""
    out = set()
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except FileNotFoundError:
        return out
    for t in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                out.update(int(x) for x in f.read().split())
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def worker_pids(srv):
    """Live worker pids of a Todod: children of the master that it logged
    as "worker started" (so its failchk helper is never counted)."""
    started = {int(p) for p in re.findall(r"worker started pid=(\d+)", srv.daemon.stderr())}
    return {p for p in children(srv.daemon.pid) if p in started and pid_alive(p)}


def workers(srv, n=None, timeout=10.0, exclude=()):
    """Worker pids of a Todod; with n, waits until exactly n are alive
    (none of them in exclude)."""
    if n is None:
        return worker_pids(srv)

    def ready():
        w = worker_pids(srv)
        return w if len(w) == n and not (w & set(exclude)) else None
    return H.wait_until(ready, timeout=timeout, what="%d todod workers" % n)


def in_syscall(pid, numbers):
    """Whether pid is blocked in one of the syscalls (numbers as strings,
    as /proc/PID/syscall shows them)."""
    try:
        with open("/proc/%d/syscall" % pid) as f:
            first = f.read().split(None, 1)
    except OSError:
        return False
    return bool(first) and first[0] in numbers


# x86_64 syscall numbers
SYS_FUTEX = "202"
SYS_FDATASYNC = "75"
SYS_FSYNC = "74"


def wait_in_syscall(pid, numbers, timeout=10.0):
    """Busy-polls (bounded) until pid sits in one of the syscalls."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if in_syscall(pid, numbers):
            return True
    return False


def kill_pid(pid, sig=signal.SIGKILL):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def wait_gone(pid, timeout=5.0):
    H.wait_until(lambda: not pid_alive(pid), timeout=timeout, what="pid %d to exit" % pid)


def log_grep(daemon, pattern, timeout=5.0):
    """Waits until the daemon's stderr (all runs) matches pattern."""
    rx = re.compile(pattern)
    return H.wait_until(lambda: rx.search(daemon.all_stderr()), timeout=timeout,
                        what="log line /%s/" % pattern)


def wait_answering(srv, timeout=10.0):
    def ok():
        try:
            return call(srv, "GET", "/healthz", session=new_session(),
                        timeout=2).status_code == 200
        except requests.RequestException:
            return False
    H.wait_until(ok, timeout=timeout, interval=0.05, what="todod answering")


# --------------------------------------------------------------------------
# Prometheus

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$')


def parse_prometheus(text):
    """{(name, frozenset(labels.items())): value}; asserts well-formedness."""
    out = {}
    for ln in text.splitlines():
        if not ln or ln.startswith("#"):
            assert ln == "" or ln.startswith("# HELP ") or ln.startswith("# TYPE "), ln
            continue
        m = _SAMPLE.match(ln)
        assert m, "not a Prometheus sample line: %r" % ln
        labels = {}
        if m.group(2):
            for part in re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2)):
                labels[part[0]] = part[1]
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(3))
    return out


def metric_sum(samples, name, **labels):
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


def listening_ports(pids):
    """TCP ports in LISTEN state whose sockets any of pids holds open."""
    inodes = {}
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for ln in f:
                    parts = ln.split()
                    if parts[3] == "0A":
                        inodes[parts[9]] = int(parts[1].rsplit(":", 1)[1], 16)
        except FileNotFoundError:
            pass
    ports = set()
    for pid in pids:
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except (FileNotFoundError, PermissionError):
            continue
        for fd in fds:
            try:
                link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if link.startswith("socket:[") and link[8:-1] in inodes:
                ports.add(inodes[link[8:-1]])
    return ports


def scrape(base, timeout=5.0):
    """GET base/metrics -> (response, parsed samples)."""
    r = new_session().get(base + "/metrics", timeout=timeout)
    return r, (parse_prometheus(r.text) if r.status_code == 200 else {})


def parse_responses(data):
    """Splits a byte stream of HTTP/1.1 responses (Content-Length framed).
    Returns (complete responses as (status, headers, body), leftover bytes:
    a response cut short, or b"")."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        if len(rest) < n:
            break
        out.append((int(lines[0].split()[1]), headers, rest[:n]))
        data = rest[n:]
    return out, data


BIG_TITLE = "\U0001F600" * 16384        # the longest title: 16384 chars, 64 KiB


def stalled_pipeline(srv, user, todo_id, n=100):
    """A connection with n pipelined GETs of one (big) todo and a tiny
    receive buffer that the caller does not read yet: once the kernel
    buffers are full, todod is in the middle of writing a response."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(20)
    s.connect(("127.0.0.1", srv.port))
    one = ("GET /todo/%d/ HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer %s\r\n\r\n"
           % (todo_id, user.token)).encode()
    s.sendall(one * n)
    return s


def read_stream(sock, want=None, timeout=20.0):
    """Reads until EOF (or until `want` complete responses); returns
    parse_responses() of what arrived."""
    sock.settimeout(timeout)
    done, pending = [], b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(1 << 20)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        pending += chunk
        more, pending = parse_responses(pending)
        done += more
        if want is not None and len(done) >= want:
            break
    return done, pending
