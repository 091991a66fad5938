"""Helpers for the integration tests: real processes, a local IdP, tokens.

Everything here runs the daemons as real processes on ephemeral ports / in
temporary directories and always stops them.  Binaries come from
$TODOD_BUILD_DIR (default <repo>/build).
"""

import base64
import concurrent.futures
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("TODOD_BUILD_DIR") or (REPO / "build")).resolve()
VERIFIERD = BUILD / "verifierd" / "verifierd"
TODO_VERIFY = BUILD / "verifierd" / "todo-verify"
TODOD = BUILD / "daemon" / "todod"
IDP_PY = REPO / "tests" / "idp" / "idp.py"

sys.path.insert(0, str(IDP_PY.parent))
import idp as idp_mod  # noqa: E402  (our own test IdP, for sign_compact)

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:",
                     "ERROR: LeakSanitizer")

DETAIL = {
    "none": "",
    "malformed": "Unable to parse authentication",
    "expired": "token is expired",
    "claims": "incorrect claims, please check the audience and issuer",
    "unknown_kid": "Invalid token headers",
    "no_email": "Invalid token headers",
}
EXIT_FOR = {"accepted": 0, "rejected": 1, "unavailable": 2}

# Generous: sanitizer builds are slow.
START_TIMEOUT = float(os.environ.get("TODOD_TEST_START_TIMEOUT", "15"))
STOP_TIMEOUT = 5.0
RUN_TIMEOUT = 15.0


class HarnessError(AssertionError):
    pass


def b64u(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_raw(header, claims, alg="RS256", key=None, secret=None):
    """Compact JWS built by hand.  header/claims may be dicts (compact JSON)
    or str/bytes used verbatim (duplicate keys, odd whitespace ...)."""
    return idp_mod.sign_compact(header, claims, alg, key, secret)


def short_tmpdir(prefix):
    """AF_UNIX paths are limited to 108 bytes: keep sockets in /tmp."""
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(d, 0o755)  # traversable by other uids (peer-credential tests)
    return d


def free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def scan_sanitizers(text):
    return [line for line in text.splitlines()
            if any(m in line for m in SANITIZER_MARKERS)]


def tail(text, n=40):
    lines = text.splitlines()
    return "\n".join(lines[-n:])


def sanitizer_env():
    env = dict(os.environ)
    # exit-time leak reports fail tests only when asked for (TODOD_TEST_LEAKS=1)
    env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=%s" % (
        "1" if os.environ.get("TODOD_TEST_LEAKS") == "1" else "0"))
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    return env


def require(path):
    import pytest
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.skip("%s not built (TODOD_BUILD_DIR=%s)" % (path.name, BUILD))


# --------------------------------------------------------------------------
# Processes

class Daemon:
    """One long-running process with stderr captured to a file."""

    def __init__(self, name, argv, workdir, env=None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.workdir = Path(workdir)
        self.env = env
        self.proc = None
        self.stopping = False
        self.stop_rc = None
        self.problems = []
        self.runs = 0
        self.stderr_path = None

    def start(self):
        self.runs += 1
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.stderr_path = self.workdir / ("%s.%d.stderr" % (self.name, self.runs))
        env = sanitizer_env()
        if self.env:
            env.update(self.env)
        self.stopping = False
        self.stop_rc = None
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err, env=env,
                                         cwd=str(self.workdir),
                                         start_new_session=True)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stderr(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except (OSError, AttributeError):
            return ""

    def all_stderr(self):
        out = []
        for i in range(1, self.runs + 1):
            p = self.workdir / ("%s.%d.stderr" % (self.name, i))
            try:
                out.append(p.read_text(errors="replace"))
            except OSError:
                pass
        return "\n".join(out)

    def describe(self):
        return "%s (pid %s): %s\n--- stderr tail ---\n%s" % (
            self.name, self.proc.pid if self.proc else "-", " ".join(self.argv),
            tail(self.stderr()))

    def assert_alive(self):
        if not self.alive():
            rc = self.proc.returncode if self.proc else None
            raise HarnessError("%s exited unexpectedly (rc=%s)\n%s" % (
                self.name, rc, self.describe()))

    def send_signal(self, sig):
        self.assert_alive()
        os.kill(self.proc.pid, sig)

    def stop(self, timeout=STOP_TIMEOUT, sig=signal.SIGTERM):
        """SIGTERM, wait, SIGKILL on timeout.  Returns the exit code and
        records a problem unless it is 0."""
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None:
            self.stopping = True
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.problems.append("%s did not exit within %.1fs of %s; killed" % (
                    self.name, timeout, signal.Signals(sig).name))
                os.killpg(self.proc.pid, signal.SIGKILL)
                rc = self.proc.wait(10)
            else:
                if rc != 0:
                    self.problems.append("%s exited %s after %s" % (
                        self.name, rc, signal.Signals(sig).name))
        else:
            if not self.stopping:
                self.problems.append("%s had exited on its own with rc=%s" % (
                    self.name, rc))
        self.stop_rc = rc
        self.stopping = True
        return rc

    def reap_expected(self, timeout=STOP_TIMEOUT):
        """Wait for an exit the test caused itself; returns rc (no problem
        recorded, the test asserts on rc)."""
        self.stopping = True
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            raise HarnessError("%s did not exit within %.1fs\n%s" % (
                self.name, timeout, self.describe()))
        self.stop_rc = rc
        return rc

    def check(self):
        probs = list(self.problems)
        bad = scan_sanitizers(self.all_stderr())
        if bad:
            probs.append("%s stderr has sanitizer reports:\n  %s" % (
                self.name, "\n  ".join(bad[:10])))
        return probs


class ProcessGroup:
    """Everything a fixture scope started; stopped and checked at the end."""

    def __init__(self):
        self.daemons = []
        self.cleanups = []

    def add(self, d):
        self.daemons.append(d)
        return d

    def finish(self):
        problems = []
        for d in reversed(self.daemons):
            try:
                d.stop()
            except Exception as e:  # noqa: BLE001
                problems.append("stopping %s: %r" % (d.name, e))
            found = d.check()
            if found:
                problems.extend(found)
                problems.append("(%s stderr files in %s)" % (d.name, d.workdir))
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception:  # noqa: BLE001
                pass
        return problems


# --------------------------------------------------------------------------
# The test IdP

class IdP:
    def __init__(self, group, workdir, users=(), audience=None, max_age=None,
                 port=0, reuse=False, extra=()):
        self.dir = Path(workdir)
        self.group = group
        argv = [sys.executable, str(IDP_PY), "--dir", str(self.dir), "--port", str(port)]
        if audience:
            argv += ["--audience", audience]
        if max_age is not None:
            argv += ["--max-age", str(max_age)]
        for u in users:
            argv += ["--user", u]
        if reuse:
            argv.append("--reuse")
        argv += list(extra)
        self.daemon = group.add(Daemon("idp", argv, self.dir))
        self.info = None
        self._keys = {}
        self.session = requests.Session()
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify=
        self.start()

    def start(self):
        info = self.dir / "idp.json"
        try:
            info.unlink()
        except FileNotFoundError:
            pass
        self.daemon.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not info.exists():
            if not self.daemon.alive():
                raise HarnessError("IdP failed to start\n" + self.daemon.describe())
            if time.monotonic() > deadline:
                raise HarnessError("IdP not ready in time\n" + self.daemon.describe())
            time.sleep(0.02)
        self.reload()
        self.session.verify = self.ca
        return self

    def restart(self, **kw):
        """Stop and start again on the same port with the same CA and keys."""
        port = self.port
        self.stop()
        argv = self.daemon.argv
        i = argv.index("--port")
        argv[i + 1] = str(port)
        if "--reuse" not in argv:
            argv.append("--reuse")
        self.start()

    def stop(self):
        return self.daemon.stop()

    def reload(self):
        with open(self.dir / "idp.json") as f:
            self.info = json.load(f)
        return self.info

    # -- facts --------------------------------------------------------------
    port = property(lambda s: s.info["port"])
    domain = property(lambda s: s.info["domain"])
    issuer = property(lambda s: s.info["issuer"])
    audience = property(lambda s: s.info["audience"])
    ca = property(lambda s: s.info["ca"])
    client_id = property(lambda s: s.info["client_id"])
    client_secret = property(lambda s: s.info["client_secret"])
    current_kid = property(lambda s: s.info["current_kid"])

    def url(self, path):
        return self.issuer + path.lstrip("/")

    def kids(self):
        return [k["kid"] for k in self.info["keys"]]

    def key(self, kid=None):
        """Private key object for kid (default: the current key)."""
        kid = kid or self.current_kid
        if kid not in self._keys:
            self.reload()
            pem = next(k["pem"] for k in self.info["keys"] if k["kid"] == kid)
            with open(pem, "rb") as f:
                self._keys[kid] = serialization.load_pem_private_key(f.read(), None)
        return self._keys[kid]

    def public_pem(self, kid=None):
        return self.key(kid).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    # -- control API --------------------------------------------------------
    def control(self, name, **body):
        r = self.session.post(self.url("_control/" + name), json=body, timeout=10)
        if r.status_code != 200:
            raise HarnessError("control %s -> %s %s" % (name, r.status_code, r.text))
        return r.json()

    def fault(self, group, mode, **params):
        return self.control("fault", group=group, mode=mode, **params)

    def clear(self):
        return self.control("clear")

    def reset(self):
        return self.control("reset")

    def rotate(self, drop_old=False, **kw):
        ans = self.control("rotate", drop_old=drop_old, **kw)
        self.reload()
        return ans

    def publish(self, kid, published=True):
        ans = self.control("publish", kid=kid, published=published)
        self.reload()
        return ans

    def set_max_age(self, n):
        return self.control("max_age", max_age=n)

    def settings(self, **kw):
        return self.control("settings", **kw)

    def add_user(self, **spec):
        ans = self.control("user", **spec)
        self.reload()
        return ans["user"]

    def counters(self):
        return self.control("counters")

    def reset_counters(self):
        return self.control("reset_counters")

    def jwks_fetches(self):
        return self.counters()["jwks"]

    def userinfo_calls(self, sub=None):
        c = self.counters()
        if sub is None:
            return c["userinfo"]
        return c["userinfo_by_sub"].get(sub, 0)

    def host(self, path, body, content_type="application/json"):
        """Serve an arbitrary document at path (e.g. an attacker's JWKS)."""
        return self.control("host", path=path, body=body, content_type=content_type)["url"]

    def extra_jwks(self, keys, replace=True):
        return self.control("jwks_extra", keys=keys, replace=replace)

    def mint_remote(self, **body):
        return self.control("mint", **body)["token"]

    # -- tenant endpoints ---------------------------------------------------
    def jwks(self):
        return self.session.get(self.url(".well-known/jwks.json"), timeout=10)

    def password_grant(self, username=None, password=None, as_json=False, **over):
        """POST /oauth/token the seed's way; returns the requests.Response."""
        if username is None:
            u = self.info["users"][0]
            username, password = u["email"], u["password"]
        form = {"grant_type": "password", "username": username, "password": password,
                "scope": "openid profile email", "audience": self.audience,
                "client_id": self.client_id, "client_secret": self.client_secret}
        form.update(over)
        form = {k: v for k, v in form.items() if v is not None}
        if as_json:
            return self.session.post(self.url("oauth/token"), json=form, timeout=10)
        return self.session.post(self.url("oauth/token"), data=form, timeout=10)

    def tokens(self, username=None, password=None):
        r = self.password_grant(username, password)
        if r.status_code != 200:
            raise HarnessError("password grant -> %s %s" % (r.status_code, r.text))
        return r.json()

    def access_token(self, username=None, password=None):
        return self.tokens(username, password)["access_token"]

    def userinfo(self, token):
        return self.session.get(self.url("userinfo"),
                                headers={"Authorization": "Bearer " + token}, timeout=10)

    # -- local minting ---------------------------------------------------------
    def claims(self, sub=None, **over):
        """Access-token claims as our tenant issues them; over=None deletes."""
        now = int(time.time())
        c = {"iss": self.issuer, "sub": sub or new_sub(),
             "aud": [self.audience, self.issuer + "userinfo"],
             "iat": now, "exp": now + 3600, "azp": self.client_id,
             "scope": "openid profile email", "jti": uuid.uuid4().hex}
        for k, v in over.items():
            if v is None:
                c.pop(k, None)
            else:
                c[k] = v
        return c

    def header(self, kid=None, alg="RS256", **over):
        h = {"alg": alg, "typ": "JWT", "kid": kid or self.current_kid}
        for k, v in over.items():
            if v is None:
                h.pop(k, None)
            else:
                h[k] = v
        return h

    def mint(self, claims=None, header=None, key=None, kid=None, alg="RS256"):
        """Sign with PyJWT.  key: a private key object (default: the IdP's key
        for kid, or the current one); header: extra/overriding header fields."""
        kid = kid or self.current_kid
        if claims is None:
            claims = self.claims()
        if key is None:
            key = self.key(kid)
        hdr = {"kid": kid}
        if header:
            hdr.update(header)
        hdr = {k: v for k, v in hdr.items() if v is not None}
        return jwt.encode(claims, key, algorithm=alg, headers=hdr)

    def sign(self, header, claims, alg="RS256", kid=None, key=None, secret=None):
        """Hand-built token (see sign_raw), default key: kid's or current."""
        if key is None and alg[:2] in ("RS", "PS"):
            key = self.key(kid or (header.get("kid") if isinstance(header, dict) else None))
        return sign_raw(header, claims, alg, key, secret)


def new_sub(prefix="auth0|"):
    return prefix + uuid.uuid4().hex[:24]


_KEY_CACHE = {}


def new_rsa_key(bits=2048, cached=None):
    """A fresh RSA key; cached=NAME reuses one per name (keygen is slow)."""
    if cached is not None and (cached, bits) in _KEY_CACHE:
        return _KEY_CACHE[(cached, bits)]
    k = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    if cached is not None:
        _KEY_CACHE[(cached, bits)] = k
    return k


def public_jwk(key, kid, **extra):
    """Public JWK for an RSA private or public key; extra=None deletes."""
    pub = key.public_key() if hasattr(key, "public_key") else key
    nums = pub.public_numbers()

    def u(n):
        return b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))
    j = {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
         "n": u(nums.n), "e": u(nums.e)}
    for k, v in extra.items():
        if v is None:
            j.pop(k, None)
        else:
            j[k] = v
    return j


def self_signed_der(key, cn="attacker"):
    return idp_mod.self_signed_for_jwk(key, cn)


# --------------------------------------------------------------------------
# verifierd and todo-verify

def parse_verify_output(rc, out, err, argv):
    text = out.decode("utf-8", "replace")
    try:
        obj = json.loads(text)
    except ValueError as e:
        raise HarnessError("todo-verify printed no single JSON object (%s): rc=%s\n"
                           "stdout=%r\nstderr=%s" % (e, rc, text[:2000],
                                                     tail(err.decode("utf-8", "replace"))))
    if not isinstance(obj, dict):
        raise HarnessError("todo-verify printed %r, not an object" % (obj,))
    return obj


def run_verify(socket_path, token, prefix=(), timeout=RUN_TIMEOUT, extra=()):
    """`todo-verify --socket PATH TOKEN` -> (exit_code, dict)."""
    argv = list(prefix) + [str(TODO_VERIFY), "--socket", str(socket_path)] + list(extra) + [token]
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout, env=sanitizer_env())
    except subprocess.TimeoutExpired:
        raise HarnessError("todo-verify did not finish within %ss" % timeout)
    if p.returncode < 0:
        raise HarnessError("todo-verify was killed by %s (stdout=%r, stderr=%r)" % (
            signal.Signals(-p.returncode).name, p.stdout[:500], p.stderr[-500:]))
    bad = scan_sanitizers(p.stderr.decode("utf-8", "replace"))
    if bad:
        raise HarnessError("todo-verify sanitizer report:\n" + "\n".join(bad))
    obj = parse_verify_output(p.returncode, p.stdout, p.stderr, argv)
    check_contract(p.returncode, obj)
    return p.returncode, obj


def check_contract(rc, obj):
    """The todo-verify output contract, checked on every answer."""
    outcome = obj.get("outcome")
    if outcome not in EXIT_FOR:
        raise HarnessError("bad outcome in %r" % obj)
    if EXIT_FOR[outcome] != rc:
        raise HarnessError("exit %s does not match outcome in %r" % (rc, obj))
    reason = obj.get("reason")
    if outcome == "accepted":
        if reason != "none" or obj.get("detail") != "":
            raise HarnessError("accepted answer with reason/detail: %r" % obj)
        for k, t in (("user", int), ("iss", str), ("sub", str), ("email", str),
                     ("scope", str), ("exp", int)):
            if not isinstance(obj.get(k), t) or isinstance(obj.get(k), bool):
                raise HarnessError("accepted answer lacks %s (%s): %r" % (k, t.__name__, obj))
    elif outcome == "rejected":
        if reason not in DETAIL or reason == "none":
            raise HarnessError("rejected answer with reason %r: %r" % (reason, obj))
        if obj.get("detail") != DETAIL[reason]:
            raise HarnessError("detail for %s should be %r: %r" % (reason, DETAIL[reason], obj))
        if "user" in obj or "email" in obj:
            raise HarnessError("rejected answer leaks identity: %r" % obj)
    else:
        if reason != "unavailable":
            raise HarnessError("unavailable answer with reason %r: %r" % (reason, obj))
        if "user" in obj:
            raise HarnessError("unavailable answer leaks identity: %r" % obj)


class Verifierd:
    def __init__(self, group, workdir, idp, args=(), state_dir=None, socket_path=None,
                 env=None, defaults=True, wait=True, domain=None, audience=None,
                 ca=None):
        self.idp = idp
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        if socket_path is None:
            sd = short_tmpdir("vd-")
            group.cleanups.append(lambda: shutil.rmtree(sd, ignore_errors=True))
            socket_path = os.path.join(sd, "verifierd.sock")
        self.socket = socket_path
        self.state_dir = Path(state_dir) if state_dir else self.workdir / "state"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.state_dir, 0o700)
        argv = [str(VERIFIERD), "--socket", self.socket]
        if defaults:
            argv += ["--domain", domain or idp.domain,
                     "--audience", audience or idp.audience,
                     "--ca-file", ca or idp.ca,
                     "--state-dir", str(self.state_dir)]
        argv += [str(a) for a in args]
        self.daemon = group.add(Daemon("verifierd", argv, self.workdir, env=env))
        self.start(wait)

    def start(self, wait=True):
        try:
            os.unlink(self.socket)
        except FileNotFoundError:
            pass
        self.daemon.start()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        last = None
        while True:
            self.daemon.assert_alive()
            if os.path.exists(self.socket):
                try:
                    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                        s.settimeout(2)
                        s.connect(self.socket)
                    rc, obj = run_verify(self.socket, "not-a-token")
                    if obj.get("outcome") == "rejected":
                        return
                    last = obj
                except OSError as e:
                    last = e
            if time.monotonic() > deadline:
                raise HarnessError("verifierd not answering on %s (last: %r)\n%s" % (
                    self.socket, last, self.daemon.describe()))
            time.sleep(0.02)

    def stop(self, **kw):
        return self.daemon.stop(**kw)

    def restart(self, wait=True):
        rc = self.daemon.stop()
        self.start(wait)
        return rc

    def send_signal(self, sig):
        self.daemon.send_signal(sig)

    def stderr(self):
        return self.daemon.stderr()

    def verify(self, token, prefix=(), **kw):
        self.daemon.assert_alive()
        try:
            res = run_verify(self.socket, token, prefix=prefix, **kw)
        except HarnessError:
            self.daemon.assert_alive()
            raise
        return res

    def verify_many(self, tokens, parallel=8):
        with concurrent.futures.ThreadPoolExecutor(parallel) as ex:
            return list(ex.map(self.verify, tokens))


def as_nobody():
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


# --------------------------------------------------------------------------
# Assertions on todo-verify answers

def _fmt(res):
    return "exit %s, %s" % (res[0], json.dumps(res[1], sort_keys=True))


def assert_accepted(res, sub=None, email=None):
    rc, obj = res
    assert rc == 0 and obj["outcome"] == "accepted", "expected accepted: " + _fmt(res)
    if sub is not None:
        assert obj["sub"] == sub, _fmt(res)
    if email is not None:
        assert obj["email"] == email, _fmt(res)
    return obj


def assert_rejected(res, *reasons):
    rc, obj = res
    assert rc == 1 and obj["outcome"] == "rejected", "expected rejected %s: %s" % (
        "/".join(reasons), _fmt(res))
    if reasons:
        assert obj["reason"] in reasons, "expected reason %s: %s" % ("/".join(reasons), _fmt(res))
    return obj


def assert_unavailable(res):
    rc, obj = res
    assert rc == 2 and obj["outcome"] == "unavailable", "expected unavailable: " + _fmt(res)
    return obj


def wait_until(fn, timeout=5.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise HarnessError("timed out after %.1fs waiting for %s (last %r)" % (timeout, what, last))


# --------------------------------------------------------------------------
# todod

class Todod:
    def __init__(self, group, workdir, verifier_socket, workers=2, args=(), env=None,
                 wait=True, port=None):
        self.workdir = Path(workdir)
        self.data_dir = self.workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        argv = [str(TODOD), "--listen", "127.0.0.1:%d" % self.port, "--workers", str(workers),
                "--data-dir", str(self.data_dir), "--verifier", str(verifier_socket)]
        argv += [str(a) for a in args]
        self.daemon = group.add(Daemon("todod", argv, self.workdir, env=env))
        self.session = requests.Session()
        self.session.trust_env = False
        self.daemon.start()
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            self.daemon.assert_alive()
            try:
                self.session.get(self.base + "/", timeout=2)
                return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise HarnessError("todod not answering on %s\n%s" % (
                    self.base, self.daemon.describe()))
            time.sleep(0.05)

    def request(self, method, path, token=None, **kw):
        headers = kw.pop("headers", {}) or {}
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        kw.setdefault("timeout", 10)
        return self.session.request(method, self.base + path, headers=headers, **kw)

    def stop(self, **kw):
        return self.daemon.stop(**kw)
