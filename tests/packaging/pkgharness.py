"""Helpers for the packaging tests: unit files, a stand-in for what systemd
does when it starts a service, the test IdP, HTTP, dpkg.

There is no systemd running as PID 1 on the test machines, so a service is
started the way its unit says, by hand: ExecStartPre= first, ExecStart= as
User=/Group= (plus SupplementaryGroups= and the user's groups), with
UMask=, NoNewPrivileges=, Environment=/EnvironmentFile=, the
RuntimeDirectory= created as systemd would, listening sockets passed as
fds 3.. with LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES (socket activation), a
NOTIFY_SOCKET whose datagrams are collected with the sender's pid, and
WATCHDOG_USEC/WATCHDOG_PID from WatchdogSec=.  ExecReload= lines run the
same way with $MAINPID filled in.  The sandboxing directives are not
applied (that needs systemd); `systemd-analyze` checks them instead.
"""

import grp
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

_HERE = Path(__file__).resolve()
TOP = _HERE.parents[2] if len(_HERE.parents) > 2 else Path("/")
PACKAGING = TOP / "packaging"
SRC_UNITS = PACKAGING / "systemd"
SYSTEM_UNITS = Path("/lib/systemd/system")
PY = "/usr/bin/python3"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# --------------------------------------------------------------------------
# unit files


class Unit:
    """A parsed unit file: sections of (key, value) in file order."""

    def __init__(self, path):
        self.path = Path(path)
        self.name = self.path.name
        self.sections = {}
        section = None
        pending = ""
        for raw in self.path.read_text().splitlines():
            line = pending + raw.strip()
            pending = ""
            if not line or line[0] in "#;":
                continue
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1]
                self.sections.setdefault(section, [])
                continue
            key, sep, value = line.partition("=")
            if not sep or section is None:
                raise ValueError("%s: cannot parse %r" % (path, raw))
            self.sections[section].append((key.strip(), value.strip()))

    def all(self, section, key):
        """Every value of key; an empty assignment clears the list."""
        out = []
        for k, v in self.sections.get(section, []):
            if k == key:
                out = [] if v == "" else out + [v]
        return out

    def get(self, section, key, default=None):
        vals = self.all(section, key)
        return vals[-1] if vals else default

    def words(self, section, key):
        """Space-separated list settings (After=, SupplementaryGroups=...)."""
        return [w for v in self.all(section, key) for w in v.split()]


def parse_env_file(path):
    """systemd EnvironmentFile= syntax: KEY=VALUE lines, # and ; comments."""
    env = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key.strip()] = value
    return env


def split_exec(line, env):
    """An Exec*= line -> (prefixes, argv) as systemd.service(5) reads it:
    leading -@:+! prefixes, shell-like quoting, $VAR as a whole word splits
    into words, ${VAR} is replaced in place; % specifiers are refused (the
    packaged units use none)."""
    m = re.match(r"[-@:+!]*", line)
    prefixes, rest = m.group(0), line[m.end():]
    if "%" in rest:
        raise ValueError("specifiers are not emulated: %r" % line)
    argv = []
    for word in shlex.split(rest):
        whole = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if whole:
            argv.extend(env.get(whole.group(1), "").split())
            continue
        argv.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}",
                           lambda mm: env.get(mm.group(1), ""), word))
    return prefixes, argv


# --------------------------------------------------------------------------
# sd_notify receiver


class NotifySocket:
    """A NOTIFY_SOCKET: collects (time, sender pid, fields) datagrams."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)
        self.sock.settimeout(0.2)
        self.messages = []
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        space = socket.CMSG_SPACE(struct.calcsize("iII"))
        while self.running:
            try:
                data, anc, _, _ = self.sock.recvmsg(4096, space)
            except socket.timeout:
                continue
            except OSError:
                break
            pid = None
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and \
                        kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", payload[:12])[0]
            fields = dict(line.partition("=")[::2]
                          for line in data.decode().split("\n") if line)
            with self.lock:
                self.messages.append((time.monotonic(), pid, fields))

    def snapshot(self):
        with self.lock:
            return list(self.messages)

    def wait_for(self, key, value="1", pid=None, since=0, timeout=30.0,
                 alive=None):
        """Index of the first message at or after since that sets key=value
        (from pid, when given); raises on timeout or when alive() fails."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, (_, sender, fields) in enumerate(self.snapshot()):
                if i >= since and fields.get(key) == value and \
                        (pid is None or sender == pid):
                    return i
            if alive is not None and not alive():
                raise AssertionError("process exited while waiting for "
                                     "%s=%s" % (key, value))
            time.sleep(0.05)
        raise AssertionError("no %s=%s within %ss; got %r" % (
            key, value, timeout, [m[1:] for m in self.snapshot()]))

    def close(self):
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


# --------------------------------------------------------------------------
# running a service as its unit says

# Runs between fork and the daemon: moves the passed sockets to fds 3..,
# sets LISTEN_PID/WATCHDOG_PID to its own pid (which the daemon keeps, as
# setpriv and the daemon are exec'ed in turn), sets the umask, and execs.
_SHIM = r"""
import fcntl, json, os, sys
spec = json.loads(sys.argv[1])
high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 200) for fd in spec["fds"]]
for fd in spec["fds"]:
    os.close(fd)
for i, fd in enumerate(high):
    os.dup2(fd, 3 + i)
    os.close(fd)
env = dict(spec["env"])
if high:
    env["LISTEN_FDS"] = str(len(high))
    env["LISTEN_PID"] = str(os.getpid())
    env["LISTEN_FDNAMES"] = ":".join(spec["names"])
if "WATCHDOG_USEC" in env:
    env["WATCHDOG_PID"] = str(os.getpid())
os.umask(spec["umask"])
os.execve(spec["argv"][0], spec["argv"], env)
"""


def parse_seconds(s):
    """systemd time spans as the units use them: 30s, 2min, 1h, 500ms."""
    total = 0.0
    units = {"ms": 0.001, "s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600}
    for num, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", s):
        total += float(num) * units[unit or "s"]
    return total


class Service:
    """One service unit, run by hand as described in the module doc."""

    def __init__(self, unit_path, workdir, extra_env=None):
        self.unit = Unit(unit_path)
        self.name = self.unit.name
        self.workdir = Path(workdir)
        self.extra_env = dict(extra_env or {})
        u = self.unit
        self.user = u.get("Service", "User")
        self.group = u.get("Service", "Group") or \
            grp.getgrgid(pwd.getpwnam(self.user).pw_gid).gr_name
        self.umask = int(u.get("Service", "UMask", "0022"), 8)
        self.proc = None
        self.notify = None
        self.messages = []
        self.log_path = self.workdir / (self.name + ".log")
        self.log = None

    # -- what systemd derives from the unit

    def groups(self):
        pw = pwd.getpwnam(self.user)
        gid = grp.getgrnam(self.group).gr_gid
        gids = set(os.getgrouplist(self.user, gid))
        for g in self.unit.words("Service", "SupplementaryGroups"):
            gids.add(grp.getgrnam(g).gr_gid)
        return pw.pw_uid, gid, sorted(gids)

    def runtime_dirs(self):
        return [Path("/run") / d
                for d in self.unit.words("Service", "RuntimeDirectory")]

    def state_dirs(self):
        return [Path("/var/lib") / d
                for d in self.unit.words("Service", "StateDirectory")]

    def environment(self):
        pw = pwd.getpwnam(self.user)
        env = {"PATH": PATH, "LANG": "C.UTF-8", "USER": self.user,
               "LOGNAME": self.user, "HOME": pw.pw_dir, "SHELL": pw.pw_shell}
        if self.runtime_dirs():
            env["RUNTIME_DIRECTORY"] = ":".join(map(str, self.runtime_dirs()))
        if self.state_dirs():
            env["STATE_DIRECTORY"] = ":".join(map(str, self.state_dirs()))
        for assignment in self.unit.all("Service", "Environment"):
            for word in shlex.split(assignment):
                k, _, v = word.partition("=")
                env[k] = v
        for f in self.unit.all("Service", "EnvironmentFile"):
            optional = f.startswith("-")
            f = f.lstrip("-")
            if Path(f).exists():
                env.update(parse_env_file(f))
            elif not optional:
                raise AssertionError("%s: EnvironmentFile %s is missing" %
                                     (self.name, f))
        env.update(self.extra_env)
        return env

    def prepare(self):
        """RuntimeDirectory=: made as systemd makes it.  StateDirectory= is
        only checked: the package's tmpfiles.d must have made it right."""
        uid, gid, _ = self.groups()
        mode = int(self.unit.get("Service", "RuntimeDirectoryMode", "0755"),
                   8)
        for d in self.runtime_dirs():
            d.mkdir(exist_ok=True)
            os.chown(d, uid, gid)
            os.chmod(d, mode)
        smode = int(self.unit.get("Service", "StateDirectoryMode", "0755"), 8)
        for d in self.state_dirs():
            st = d.stat()
            assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == \
                (uid, gid, smode), \
                "%s: %s is %o %d:%d, the unit wants %o %s:%s" % (
                    self.name, d, st.st_mode & 0o7777, st.st_uid,
                    st.st_gid, smode, self.user, self.group)

    def command(self, argv, env, fds=(), names=()):
        """argv wrapped to run as the unit's user, through the shim."""
        uid, gid, gids = self.groups()
        wrapped = ["/usr/bin/setpriv", "--reuid=%d" % uid, "--regid=%d" % gid,
                   "--groups=" + ",".join(map(str, gids))]
        if self.unit.get("Service", "NoNewPrivileges") == "yes":
            wrapped.append("--no-new-privs")
        wrapped += ["--"] + argv
        spec = {"fds": list(fds), "names": list(names), "env": env,
                "umask": self.umask, "argv": wrapped}
        return [PY, "-c", _SHIM, json.dumps(spec)]

    def run(self, line, env, timeout=60):
        """Runs one Exec*= line to completion; CompletedProcess."""
        prefixes, argv = split_exec(line, env)
        assert not set(prefixes) - {"-"}, "prefix %r not emulated" % prefixes
        return subprocess.run(self.command(argv, env), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)

    def exec_lines(self, key):
        return self.unit.all("Service", key)

    def start(self, sockets=(), timeout=30.0):
        """ExecStartPre= lines, then ExecStart= with a NOTIFY_SOCKET;
        waits for READY=1 from the main pid when Type=notify."""
        assert self.proc is None
        self.prepare()
        env = self.environment()
        for line in self.exec_lines("ExecStartPre"):
            r = self.run(line, env)
            assert r.returncode == 0 or line.startswith("-"), \
                "%s: ExecStartPre=%s exited %d: %s%s" % (
                    self.name, line, r.returncode, r.stdout, r.stderr)
        if self.unit.get("Service", "Type") == "notify":
            self.notify = NotifySocket(self.workdir / (self.name + ".notify"))
            env["NOTIFY_SOCKET"] = self.notify.path
        wd = self.unit.get("Service", "WatchdogSec")
        if wd:
            env["WATCHDOG_USEC"] = str(int(parse_seconds(wd) * 1000000))
        starts = self.exec_lines("ExecStart")
        assert len(starts) == 1, "%s: want one ExecStart=" % self.name
        _, argv = split_exec(starts[0], env)
        fds = [s.fileno() for s, _ in sockets]
        names = [n for _, n in sockets]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.command(argv, env, fds, names), stdin=subprocess.DEVNULL,
            stdout=self.log, stderr=self.log, pass_fds=fds)
        self.env = env
        if self.notify is not None:
            try:
                self.notify.wait_for("READY", pid=self.proc.pid,
                                     timeout=timeout, alive=self.alive)
            except AssertionError as e:
                raise AssertionError("%s: %s\n--- its log:\n%s" % (
                    self.name, e, self.logs()[-4000:])) from None
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def reload(self, timeout=30.0):
        """ExecReload= lines with $MAINPID; returns their results.  Stops
        at the first failing line, as systemd does."""
        env = {k: v for k, v in self.env.items()
               if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
        env["MAINPID"] = str(self.pid)
        results = []
        for line in self.exec_lines("ExecReload"):
            r = self.run(line, env)
            results.append(r)
            if r.returncode != 0 and not line.startswith("-"):
                break
        return results

    def stop(self, timeout=30.0):
        """SIGTERM (KillSignal= default), wait; the exit status.  SIGKILL
        after timeout, as systemd does after TimeoutStopSec=."""
        if self.proc is None:
            return None
        self.last_pid = self.proc.pid
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None
        if self.notify is not None:
            time.sleep(0.1)     # the last datagrams
            self.messages = self.notify.snapshot()
            self.notify.close()
            self.notify = None
        for d in self.runtime_dirs():
            shutil.rmtree(d, ignore_errors=True)
        return rc

    def logs(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


def listening_socket(host="127.0.0.1"):
    """What a [Socket] ListenStream= would give: a bound, listening TCP
    socket (on a free port here, not the unit's fixed one)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, 0))
    s.listen(1024)
    return s


# --------------------------------------------------------------------------
# the test IdP


class IdP:
    def __init__(self, workdir, audience, users,
                 script=TOP / "tests/idp/idp.py"):
        self.dir = Path(workdir) / "idp"
        info = self.dir / "idp.json"
        if info.exists():
            info.unlink()       # a stale one would look like "ready"
        self.log = open(Path(workdir) / "idp.log", "ab")
        argv = [PY, str(script), "--dir", str(self.dir),
                "--audience", audience]
        for email, password in users:
            argv += ["--user", "%s:%s" % (email, password)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 60
        while not info.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the test IdP did not start")
            time.sleep(0.1)
        self.info = json.loads(info.read_text())
        self.audience = audience
        self.ctx = ssl.create_default_context(cafile=self.info["ca"])

    @property
    def domain(self):
        return self.info["domain"]

    @property
    def ca(self):
        return self.info["ca"]

    def token(self, email, password):
        body = urllib.parse.urlencode({
            "grant_type": "password", "username": email,
            "password": password, "audience": self.audience,
            "client_id": self.info["client_id"],
            "client_secret": self.info["client_secret"],
            "scope": "openid profile email"}).encode()
        req = urllib.request.Request(self.info["token_url"], data=body)
        with urllib.request.urlopen(req, context=self.ctx, timeout=30) as r:
            return json.load(r)["access_token"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# --------------------------------------------------------------------------
# HTTP


def http(method, url, token=None, body=None, timeout=30):
    """(status, headers, parsed JSON body or raw bytes)."""
    headers = {}
    data = None
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=headers,
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, hdrs, raw = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, raw = e.code, e.headers, e.read()
    try:
        return status, hdrs, json.loads(raw) if raw else None
    except ValueError:
        return status, hdrs, raw


# --------------------------------------------------------------------------
# dpkg and apt


def installed_version(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Status}\t${Version}",
                        pkg], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    status, _, version = r.stdout.partition("\t")
    return version if status.endswith(" installed") else None


def dpkg_status(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", pkg],
                       capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else ""


def dpkg_locked():
    """True while another dpkg or apt holds the frontend lock."""
    import fcntl
    try:
        fd = os.open("/var/lib/dpkg/lock-frontend", os.O_RDWR | os.O_CREAT,
                     0o640)
    except OSError:
        return True
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.lockf(fd, fcntl.LOCK_UN)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def wait_dpkg_unlocked(timeout=300):
    deadline = time.monotonic() + timeout
    while dpkg_locked():
        if time.monotonic() > deadline:
            return False
        time.sleep(1)
    return True


def dpkg(*args, timeout=600):
    """Runs dpkg non-interactively (stdin /dev/null: a conffile prompt
    fails instead of waiting), retrying while another dpkg holds the lock."""
    for _ in range(60):
        wait_dpkg_unlocked()
        r = subprocess.run(["dpkg"] + list(args), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout,
                           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        if r.returncode == 2 and "lock" in r.stderr:
            time.sleep(2)
            continue
        return r
    return r


def ensure_packages(*pkgs):
    """apt-get install what is missing (root only); the missing ones."""
    missing = [p for p in pkgs if installed_version(p) is None]
    if missing and os.geteuid() == 0 and wait_dpkg_unlocked():
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-q"], env=env,
                       stdout=subprocess.DEVNULL, stderr=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-q",
                        "--no-install-recommends"] + missing, env=env,
                       stdout=subprocess.DEVNULL, stderr=sys.stderr)
        missing = [p for p in pkgs if installed_version(p) is None]
    return missing


# --------------------------------------------------------------------------
# systemd-analyze


def exposure(unit_path, root=None):
    """`systemd-analyze security --offline=true` overall exposure, 0..10."""
    argv = ["systemd-analyze", "security", "--offline=true", "--no-pager"]
    if root is not None:
        argv.append("--root=" + str(root))
    r = subprocess.run(argv + [str(unit_path)], capture_output=True,
                       text=True)
    m = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)",
                  r.stdout)
    assert m, "no exposure level in:\n%s%s" % (r.stdout, r.stderr)
    return float(m.group(1)), r.stdout


def help_options(binary):
    """Long options listed by BINARY --help."""
    out = subprocess.run([str(binary), "--help"], capture_output=True,
                         text=True, check=True).stdout
    return sorted(set(re.findall(r"^\s+(?:-\w, )?--([a-z][a-z0-9-]*)",
                                 out, re.M)))


# Options that only make sense on the command line.
CLI_ONLY = {"help", "version", "config", "check-config"}
