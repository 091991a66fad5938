"""Runs inside the test container (see container_init.sh), as
ctest.service under a real systemd: installs the package, configures the
tenant, drives the packaged units with systemctl and records what happened
in /ctest/out/result.json for test_systemd.py to judge.  Every step is
recorded, also when one fails, so that the test can say which."""

import json
import os
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request

sys.path.insert(0, "/ctest")
import pkgharness as H  # noqa: E402

P = json.load(open("/ctest/params.json"))
OUT = "/ctest/out/result.json"
result = {"steps": {}, "errors": []}


def sh(*argv, timeout=120):
    r = subprocess.run(list(argv), capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    return {"rc": r.returncode, "out": r.stdout[-4000:],
            "err": r.stderr[-4000:]}


def show(unit, *props):
    r = sh("systemctl", "show", "-p", ",".join(props), unit)
    return dict(line.partition("=")[::2] for line in r["out"].splitlines())


def step(name):
    def wrap(fn):
        try:
            result["steps"][name] = fn()
        except Exception:
            result["steps"][name] = {"exception": traceback.format_exc()}
        save()
    return wrap


def save():
    with open(OUT + ".tmp", "w") as f:
        json.dump(result, f, indent=1)
    os.rename(OUT + ".tmp", OUT)


def http(method, path, token=None, body=None, port=None):
    url = "http://127.0.0.1:%d%s" % (port or P["port"], path)
    status, _, data = H.http(method, url, token, body, timeout=20)
    return status, data if not isinstance(data, bytes) else \
        data.decode(errors="replace")


ctx = {}


@step("install")
def _():
    r = sh("dpkg", "-i", "/ctest/todod.deb", timeout=300)
    r["id_todod"] = sh("id", "todod")["out"]
    return r


@step("configure")
def _():
    # This machine's image may forbid service actions in maintainer
    # scripts (policy-rc.d exiting 101, as in container images); a real
    # host has none, and the upgrade and removal steps test those actions.
    if os.path.exists("/usr/sbin/policy-rc.d"):
        os.remove("/usr/sbin/policy-rc.d")
    os.makedirs("/ctest/w", exist_ok=True)
    os.chmod("/ctest/w", 0o755)
    idp = H.IdP("/ctest/w", P["audience"], [tuple(P["user"])],
                script="/ctest/idp.py")
    ctx["idp"] = idp
    with open("/etc/todod/auth0.env", "a") as f:
        f.write("AUTH0_DOMAIN=%s\nAUTH0_API_AUDIENCE=%s\n" % (
            idp.domain, P["audience"]))
    with open("/etc/todod/verifierd.conf", "a") as f:
        f.write("ca-file = %s\n" % idp.ca)
    for unit, port in (("todod.socket", P["port"]),
                       ("todod-admin.socket", P["admin_port"])):
        d = "/etc/systemd/system/%s.d" % unit
        os.makedirs(d, exist_ok=True)
        with open(d + "/test.conf", "w") as f:
            f.write("[Socket]\nListenStream=\nListenStream=127.0.0.1:%d\n"
                    % port)
    ctx["token"] = idp.token(*P["user"])
    return sh("systemctl", "daemon-reload")


@step("start")
def _():
    # As at boot: the sockets, and verifierd (todod.service waits for it).
    out = {"start": sh("systemctl", "start", "todod.socket",
                       "todod-admin.socket", "todo-verifierd.service")}
    out["verifierd"] = show("todo-verifierd.service", "ActiveState",
                            "SubState", "StatusText", "MainPID")
    out["todod_before"] = show("todod.service", "ActiveState")
    return out


@step("socket_activation")
def _():
    # The first connection starts todod.service.
    first = http("GET", "/todo/", ctx["token"])
    # Then READY=1 (every worker serving) makes the unit active.
    deadline = time.monotonic() + 30
    while show("todod.service", "ActiveState")["ActiveState"] != "active" \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    status, body = http("GET", "/readyz")
    return {"first": first, "readyz": [status, body],
            "todod": show("todod.service", "ActiveState", "SubState",
                          "StatusText", "MainPID", "TriggeredBy")}


@step("api")
def _():
    tok = ctx["token"]
    made = http("POST", "/todo/", tok, {"title": "under systemd"})
    listed = http("GET", "/todo/", tok)
    return {"post": made, "list": listed,
            "anonymous": http("GET", "/todo/")}


@step("process")
def _():
    out = {}
    for unit in ("todod.service", "todo-verifierd.service"):
        pid = show(unit, "MainPID")["MainPID"]
        status = open("/proc/%s/status" % pid).read().splitlines()
        out[unit] = {line.split(":")[0]: line.split(":", 1)[1].split()
                     for line in status
                     if line.split(":")[0] in ("Uid", "Gid", "Groups",
                                               "NoNewPrivs", "Seccomp",
                                               "CapBnd", "CapEff")}
    out["rundir"] = sh("ls", "-ln", "/run/todo-verifierd")["out"]
    return out


@step("todo_verify")
def _():
    return sh("runuser", "-u", "todod", "--", "/usr/bin/todo-verify",
              ctx["token"])


@step("metrics")
def _():
    return {"admin": http("GET", "/metrics", port=P["admin_port"]),
            "api": http("GET", "/metrics")}


@step("reload")
def _():
    out = {}
    for unit in ("todod.service", "todo-verifierd.service"):
        out[unit] = sh("systemctl", "reload", unit)
    out["after"] = http("GET", "/todo/", ctx["token"])
    conf = "/etc/todod/todod.conf"
    good = open(conf).read()
    with open(conf, "a") as f:
        f.write("workers = many\n")
    out["bad"] = sh("systemctl", "reload", "todod.service")
    with open(conf, "w") as f:
        f.write(good)
    out["bad_state"] = show("todod.service", "ActiveState", "MainPID")
    out["bad_after"] = http("GET", "/todo/", ctx["token"])
    return out


@step("verifier_restart")
def _():
    r = sh("systemctl", "restart", "todo-verifierd.service")
    deadline = time.monotonic() + 20
    while True:
        got = http("GET", "/todo/", ctx["token"])
        if got[0] == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    return {"restart": r, "after": got}


@step("watchdog")
def _():
    time.sleep(3)
    return {u: show(u, "WatchdogTimestampMonotonic", "NRestarts",
                    "ActiveState", "Result", "WatchdogUSec")
            for u in ("todod.service", "todo-verifierd.service")}


@step("upgrade")
def _():
    """dpkg -i of the newer build while everything runs: postinst
    try-restarts both services, leaves todod.socket listening, and the
    todos are still there."""
    props = ("MainPID", "ActiveState", "ActiveEnterTimestampMonotonic")
    units = ("todod.service", "todo-verifierd.service", "todod.socket")
    before = {u: show(u, *props) for u in units}
    r = sh("dpkg", "-i", "/ctest/todod-new.deb", timeout=300)
    after = {u: show(u, *props) for u in units}
    deadline = time.monotonic() + 20
    while True:
        got = http("GET", "/todo/", ctx["token"])
        if got[0] == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    version = sh("dpkg-query", "-W", "-f", "${Version}", "todod")["out"]
    return {"dpkg": r, "before": before, "after": after, "list": got,
            "version": version}


@step("remove")
def _():
    """dpkg -r stops the units (prerm) before the binaries go."""
    r = sh("dpkg", "-r", "todod", timeout=300)
    return {"dpkg": r,
            "todod": show("todod.service", "Result", "ExecMainStatus",
                          "ActiveState"),
            "verifierd": show("todo-verifierd.service", "Result",
                              "ExecMainStatus", "ActiveState"),
            "socket": show("todod.socket", "ActiveState"),
            "processes": sh("pgrep", "-a", "-u", "todod,todo-verifierd")}


@step("purge")
def _():
    r = sh("dpkg", "-P", "todod", timeout=300)
    return {"dpkg": r, "id": sh("id", "todod"),
            "state": sh("ls", "/var/lib/todod", "/var/lib/todo-verifierd")}


@step("journal")
def _():
    return sh("journalctl", "--no-pager", "-o", "short-monotonic",
              "-u", "todod.service", "-u", "todo-verifierd.service",
              "-u", "todod.socket", "-u", "todod-admin.socket")


if "idp" in ctx:
    ctx["idp"].stop()
result["done"] = True
save()
