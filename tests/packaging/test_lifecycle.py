"""The package's life on a real machine, in order: build (and lintian),
install, the installed units (systemd-analyze), both daemons run as their
service users exactly as the units' Exec*= lines say against the local
test IdP (socket activation, sd_notify, reload, watchdog, stop), the API,
who may reach the verifier socket, upgrade to a newer build with the
todos kept, remove, purge.  Root only; each step needs the ones before it.
"""

import grp
import json
import os
import pwd
import re
import stat
import subprocess
import time
from pathlib import Path

import pytest

import pkgharness as H

incremental = pytest.mark.incremental

UNITS = H.SYSTEM_UNITS
ETC = Path("/etc/todod")
CONFFILES = [ETC / "auth0.env", ETC / "todod.conf", ETC / "verifierd.conf"]
BINARIES = [Path("/usr/sbin/todod"), Path("/usr/sbin/verifierd"),
            Path("/usr/bin/todo-verify")]
OUR_UNITS = ["todo-verifierd.service", "todod.service", "todod.socket",
             "todod-admin.socket"]
PACKAGE_FILES = BINARIES + CONFFILES + [UNITS / u for u in OUR_UNITS] + [
    Path("/usr/lib/sysusers.d/todod.conf"),
    Path("/usr/lib/tmpfiles.d/todod.conf"),
    Path("/usr/share/man/man8/todod.8.gz"),
    Path("/usr/share/man/man8/verifierd.8.gz"),
    Path("/usr/share/man/man1/todo-verify.1.gz"),
    Path("/usr/share/man/man5/todod.conf.5.gz"),
    Path("/usr/share/man/man5/verifierd.conf.5.gz"),
    Path("/usr/share/doc/todod/copyright")]
STATE_DIRS = {Path("/var/lib/todod"): "todod",
              Path("/var/lib/todo-verifierd"): "todo-verifierd"}
AUDIENCE = "https://todo.pkgtest.test/"
USERS = {"alice": ("alice@example.com", "alice-password"),
         "bob": ("bob@example.com", "bob-password")}
EXPOSURE_LIMITS = {"todod.service": 1.0, "todo-verifierd.service": 2.0}


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def owner(path):
    st = os.lstat(path)
    return pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name


def proc_status(pid):
    out = {}
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        k, _, v = line.partition(":")
        out[k] = v.split()
    return out


def pids_of_uid(uid):
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int(proc_status(int(d.name))["Uid"][0]) == uid:
                    pids.append(int(d.name))
            except (OSError, KeyError):
                pass
    return pids


def children(pid):
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(d.name))
    return out


def as_user(user, argv, groups=True):
    """argv as user: with the user's groups, or (groups=False) none."""
    pw = pwd.getpwnam(user)
    opts = ["--init-groups"] if groups else ["--clear-groups"]
    return subprocess.run(["setpriv", "--reuid=%d" % pw.pw_uid,
                           "--regid=%d" % pw.pw_gid] + opts + argv,
                          capture_output=True, text=True, timeout=60)


def todo_verify(user, token, groups=True):
    r = as_user(user, ["/usr/bin/todo-verify", token], groups)
    try:
        verdict = json.loads(r.stdout)
    except ValueError:
        verdict = None
    return r.returncode, verdict, r


def etc_snapshot():
    """/etc's files (not its account files' backups), and the accounts."""
    files = set()
    for root, dirs, names in os.walk("/etc"):
        for n in dirs + names:
            p = os.path.join(root, n)
            if not re.search(r"/(passwd|group|shadow|gshadow)-$", p):
                files.add(p)
    accounts = {f: set(Path("/etc", f).read_text().splitlines())
                for f in ("passwd", "group")}
    return files, accounts


def wait_http(url, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return H.http("GET", url)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def start_both(state, machine, workdir):
    """verifierd, then todod with its sockets, as systemd would order them
    (todod.service is After=todo-verifierd.service, which is Type=notify:
    todod starts once verifierd said READY=1)."""
    vd = H.Service(UNITS / "todo-verifierd.service", workdir)
    machine.services.append(vd)
    vd.start(timeout=60)
    api, admin = H.listening_socket(), H.listening_socket()
    td = H.Service(UNITS / "todod.service", workdir)
    machine.services.append(td)
    td.start(sockets=[(api, "todod.socket"), (admin, "admin")], timeout=60)
    state.vd, state.td = vd, td
    state.api = "http://127.0.0.1:%d" % api.getsockname()[1]
    state.admin = "http://127.0.0.1:%d" % admin.getsockname()[1]
    api.close()         # the daemon has its own copies, as under systemd
    admin.close()
    state.logs = getattr(state, "logs", []) + [vd.log_path, td.log_path]
    return vd, td


def stop_both(state):
    rcs = {}
    for svc in (state.td, state.vd):          # reverse start order
        rcs[svc.name] = svc.stop()
    return rcs


# --------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _on_this_machine(machine):
    """Every step needs root and dpkg (the fixture skips otherwise)."""


@incremental
def test_01_build_and_lintian(tools, debs):
    v1, v2 = debs["pkgtest1"], debs["pkgtest2"]
    assert subprocess.run(["dpkg", "--compare-versions", v2.version, "gt",
                           v1.version]).returncode == 0
    report = (v1.dir / "lintian.txt").read_text()
    print("lintian:\n" + report)
    bad = [line for line in report.splitlines() if re.match(r"[EW]: ", line)]
    assert not bad, "lintian errors/warnings:\n" + "\n".join(bad)

    listing = subprocess.run(["dpkg-deb", "-c", str(v1.deb)],
                             capture_output=True, text=True, check=True)
    paths = {"/" + line.split()[5].lstrip("./") for line in
             listing.stdout.splitlines()}
    missing = [str(p) for p in PACKAGE_FILES if str(p) not in paths]
    assert not missing, "not in the package: %s" % missing
    ctrl = subprocess.run(["dpkg-deb", "-I", str(v1.deb), "conffiles"],
                          capture_output=True, text=True, check=True)
    assert sorted(ctrl.stdout.split()) == sorted(map(str, CONFFILES))


@incremental
def test_02_install(debs, machine, state):
    state.before = etc_snapshot()
    r = H.dpkg("-i", str(debs["pkgtest1"].deb))
    assert r.returncode == 0, r.stdout + r.stderr
    assert H.installed_version("todod") == debs["pkgtest1"].version

    # Separate system users; todod (alone) in the verifier's group.
    td, vd = pwd.getpwnam("todod"), pwd.getpwnam("todo-verifierd")
    assert td.pw_uid != vd.pw_uid and td.pw_gid != vd.pw_gid
    for pw in (td, vd):
        assert pw.pw_uid < 1000 and pw.pw_shell == "/usr/sbin/nologin", pw
    vgroup = grp.getgrnam("todo-verifierd")
    assert vgroup.gr_gid == vd.pw_gid and vgroup.gr_mem == ["todod"]
    assert grp.getgrgid(td.pw_gid).gr_mem == []
    state.ids = {u: (pwd.getpwnam(u).pw_uid, pwd.getpwnam(u).pw_gid)
                 for u in ("todod", "todo-verifierd")}

    # State directories: the daemon's user alone.
    for d, user in STATE_DIRS.items():
        assert d.is_dir() and owner(d) == (user, user) and mode(d) == 0o700
    for path in CONFFILES:
        assert owner(path) == ("root", "root") and mode(path) == 0o644
    for path in BINARIES:
        assert owner(path) == ("root", "root") and mode(path) == 0o755
    for outsider, d in (("nobody", "/var/lib/todod"),
                        ("nobody", "/var/lib/todo-verifierd"),
                        ("todod", "/var/lib/todo-verifierd"),
                        ("todo-verifierd", "/var/lib/todod")):
        r = as_user(outsider, ["ls", d])
        assert r.returncode != 0 and "Permission denied" in r.stderr, \
            (outsider, d, r)

    # Enabled (not started: no tenant yet); metrics stay off.
    wants = Path("/etc/systemd/system")
    for link in ("multi-user.target.wants/todo-verifierd.service",
                 "multi-user.target.wants/todod.service",
                 "sockets.target.wants/todod.socket"):
        assert (wants / link).is_symlink(), link
    assert not list(wants.glob("*/todod-admin.socket"))

    for page in ("todod.8", "verifierd.8", "todo-verify.1", "todod.conf.5",
                 "verifierd.conf.5"):
        name, section = page.rsplit(".", 1)
        r = subprocess.run(["man", "-w", section, name], capture_output=True,
                           text=True)
        assert r.returncode == 0 and r.stdout.startswith("/usr/share/man/"), \
            page


@incremental
def test_03_installed_units(machine, tools, state):
    units = [str(UNITS / u) for u in OUR_UNITS]
    r = subprocess.run(["systemd-analyze", "verify"] + units,
                       capture_output=True, text=True)
    assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), \
        r.stdout + r.stderr
    state.exposure = {}
    for name, limit in EXPOSURE_LIMITS.items():
        level, report = H.exposure(UNITS / name)
        state.exposure[name] = level
        print("%s: exposure %.1f (limit %.1f)" % (name, level, limit))
        assert level <= limit, report


@incremental
def test_04_every_option_documented(machine):
    """Every long option of the installed daemons is in its conffile (as a
    "key =" or "#key =" line) and in the manual pages, and nothing else."""
    pages = {p: subprocess.run(["zcat", "/usr/share/man/%s" % p],
                               capture_output=True, text=True,
                               check=True).stdout
             for p in ("man8/todod.8.gz", "man8/verifierd.8.gz",
                       "man5/todod.conf.5.gz", "man1/todo-verify.1.gz")}
    for binary, conf, page in (("/usr/sbin/todod", "todod.conf",
                                "man8/todod.8.gz"),
                               ("/usr/sbin/verifierd", "verifierd.conf",
                                "man8/verifierd.8.gz")):
        options = set(H.help_options(binary)) - H.CLI_ONLY
        documented = set(re.findall(r"^#?([a-z][a-z0-9-]*) =",
                                    (ETC / conf).read_text(), re.M))
        assert options - documented == set(), "%s lacks %s" % (
            conf, sorted(options - documented))
        assert documented - options == set(), "%s has unknown %s" % (
            conf, sorted(documented - options))
        for opt in sorted(options | H.CLI_ONLY):
            esc = opt.replace("-", "\\-")
            assert "\\-\\-" + esc in pages[page], "%s: no --%s" % (page, opt)
        for opt in sorted(options):
            esc = opt.replace("-", "\\-")
            assert re.search(r'^\.BI %s " =' % re.escape(esc),
                             pages["man5/todod.conf.5.gz"], re.M), \
                "todod.conf(5): no %s" % opt
    for opt in H.help_options("/usr/bin/todo-verify"):
        assert "\\-\\-" + opt.replace("-", "\\-") in \
            pages["man1/todo-verify.1.gz"], "todo-verify(1): no --%s" % opt


@incremental
def test_05_check_config(machine, workdir):
    """--check-config as ExecStartPre= runs it: 0 for a good
    configuration, 78 (and no start) for a bad one, 64 for bad usage."""
    td = H.Service(UNITS / "todod.service", workdir)
    pre = td.exec_lines("ExecStartPre")
    r = td.run(pre[0], td.environment())
    assert r.returncode == 0, r.stderr
    # As shipped, verifierd has no tenant: it must refuse to start, saying
    # why, rather than run unconfigured.
    vd = H.Service(UNITS / "todo-verifierd.service", workdir)
    r = vd.run(vd.exec_lines("ExecStartPre")[0], vd.environment())
    assert r.returncode in (64, 78) and "domain" in r.stderr, r

    bad = workdir / "bad.conf"
    bad.write_text((ETC / "todod.conf").read_text() + "no-such-key = 1\n")
    os.chmod(bad, 0o644)
    r = subprocess.run(["/usr/sbin/todod", "--config", str(bad),
                        "--check-config"], capture_output=True, text=True)
    assert r.returncode == 78 and "no-such-key" in r.stderr, r
    r = subprocess.run(["/usr/sbin/verifierd", "-t", "--no-such-option"],
                       capture_output=True, text=True)
    assert r.returncode == 64, r
    r = subprocess.run(["/usr/sbin/todod", "-t", "--workers", "100000"],
                       capture_output=True, text=True)
    assert r.returncode in (64, 78), r


@incremental
def test_06_start_verifierd(machine, workdir, state):
    machine.idp = H.IdP(workdir, AUDIENCE, USERS.values())
    state.idp = machine.idp
    # What an administrator does: the tenant in the environment file, and
    # (for this private test CA) ca-file in the configuration.
    state.env_lines = ["AUTH0_DOMAIN=" + state.idp.domain,
                       "AUTH0_API_AUDIENCE=" + AUDIENCE]
    with open(ETC / "auth0.env", "a") as f:
        f.write("\n".join(state.env_lines) + "\n")
    state.ca_line = "ca-file = " + state.idp.ca
    with open(ETC / "verifierd.conf", "a") as f:
        f.write(state.ca_line + "\n")
    state.edited = {p: p.read_text() for p in CONFFILES}

    vd = H.Service(UNITS / "todo-verifierd.service", workdir)
    machine.services.append(vd)
    vd.start(timeout=60)
    state.vd = vd
    state.logs = [vd.log_path]
    ids = state.ids["todo-verifierd"]
    st = proc_status(vd.pid)
    assert int(st["Uid"][0]) == ids[0] and int(st["Gid"][0]) == ids[1]

    rundir, sock = Path("/run/todo-verifierd"), \
        Path("/run/todo-verifierd/verifier.sock")
    assert owner(rundir) == ("todo-verifierd", "todo-verifierd")
    assert mode(rundir) == 0o750
    assert stat.S_ISSOCK(os.lstat(sock).st_mode)
    assert owner(sock) == ("todo-verifierd", "todo-verifierd")
    assert mode(sock) == 0o660
    for f in Path("/var/lib/todo-verifierd").rglob("*"):
        assert owner(f)[0] == "todo-verifierd" and mode(f) & 0o077 == 0, f


@incremental
def test_07_start_todod_socket_activated(machine, workdir, state):
    api, admin = H.listening_socket(), H.listening_socket()
    td = H.Service(UNITS / "todod.service", workdir)
    machine.services.append(td)
    # After=todo-verifierd.service: started once verifierd is READY.
    td.start(sockets=[(api, "todod.socket"), (admin, "admin")], timeout=60)
    state.td = td
    state.logs.append(td.log_path)
    state.api = "http://127.0.0.1:%d" % api.getsockname()[1]
    state.admin = "http://127.0.0.1:%d" % admin.getsockname()[1]
    api.close()
    admin.close()

    uid, gid = state.ids["todod"]
    vgid = grp.getgrnam("todo-verifierd").gr_gid
    st = proc_status(td.pid)
    assert int(st["Uid"][0]) == uid and int(st["Gid"][0]) == gid
    assert str(vgid) in st["Groups"]
    workers = children(td.pid)
    assert workers, "no worker processes"
    for w in workers:
        assert int(proc_status(w)["Uid"][0]) == uid
    # NotifyAccess=main: only the master speaks.
    senders = {pid for _, pid, _ in td.notify.snapshot()}
    assert senders == {td.pid}, senders
    status, _, body = wait_http(state.api + "/")
    assert status == 200 and "todo" in body
    for f in Path("/var/lib/todod").rglob("*"):
        assert owner(f)[0] == "todod" and mode(f) & 0o077 == 0, f


@incremental
def test_08_api(state):
    tokens = {u: state.idp.token(*USERS[u]) for u in USERS}
    state.tokens = tokens
    api = state.api
    status, hdrs, body = H.http("GET", api + "/todo/")
    assert status == 401 and hdrs["WWW-Authenticate"].startswith("Bearer")
    made = {}
    for user, title in (("alice", "buy milk"), ("alice", "walk the dog"),
                        ("bob", "fix the bike")):
        status, hdrs, body = H.http("POST", api + "/todo/", tokens[user],
                                    {"title": title})
        assert status == 201 and body["title"] == title, body
        made.setdefault(user, []).append(body)
    alice_id = made["alice"][0]["id"]
    status, _, body = H.http("PATCH", "%s/todo/%d/" % (api, alice_id),
                             tokens["alice"], {"title": "buy oat milk"})
    assert status == 200 and body["title"] == "buy oat milk"
    status, _, body = H.http("GET", "%s/todo/%d/" % (api, alice_id),
                             tokens["bob"])
    assert status == 404
    lists = {}
    for user in USERS:
        status, _, body = H.http("GET", api + "/todo/", tokens[user])
        assert status == 200
        lists[user] = body
    assert [t["title"] for t in lists["alice"]] == ["buy oat milk",
                                                    "walk the dog"]
    assert [t["title"] for t in lists["bob"]] == ["fix the bike"]
    state.lists = lists
    for path in ("/healthz", "/readyz"):
        status, _, body = H.http("GET", api + path)
        if status == 404:
            continue        # not in this todod yet
        assert status == 200, (path, body)


@incremental
def test_09_verifier_socket_is_todods_alone(state):
    token = state.tokens["alice"]
    rc, verdict, r = todo_verify("todod", token)
    assert rc == 0 and verdict["outcome"] == "accepted", r
    assert verdict["user"] == state.lists["alice"][0]["user"]
    # Anyone else cannot even reach it (0750 directory)...
    rc, verdict, r = todo_verify("nobody", token, groups=False)
    assert rc == 2 and "Permission denied" in verdict["detail"], r
    # ...and verifierd's own user, which can, is not an allowed peer.
    rc, verdict, r = todo_verify("todo-verifierd", token)
    assert rc != 0 and (verdict or {}).get("outcome") != "accepted", r


@incremental
def test_10_reload(state):
    for svc, probe in ((state.td, True), (state.vd, False)):
        since = len(svc.notify.snapshot())
        results = svc.reload()
        assert [r.returncode for r in results] == [0, 0], \
            [(r.args, r.stdout, r.stderr) for r in results]
        i = svc.notify.wait_for("RELOADING", pid=svc.pid, since=since)
        svc.notify.wait_for("READY", pid=svc.pid, since=i + 1)
        assert svc.alive()
        if probe:
            status, _, body = H.http("GET", state.api + "/todo/",
                                     state.tokens["alice"])
            assert status == 200 and body == state.lists["alice"]

    # A broken configuration is caught by ExecReload='s check: the daemon
    # is never signalled and keeps serving.
    conf = ETC / "todod.conf"
    good = conf.read_text()
    try:
        conf.write_text(good + "workers = many\n")
        since = len(state.td.notify.snapshot())
        results = state.td.reload()
        assert [r.returncode for r in results] == [78], \
            [(r.returncode, r.stderr) for r in results]
        time.sleep(1)
        assert not any("RELOADING" in f for _, _, f in
                       state.td.notify.snapshot()[since:])
    finally:
        conf.write_text(good)
    status, _, _ = H.http("GET", state.api + "/todo/", state.tokens["bob"])
    assert status == 200


@incremental
def test_11_watchdog(state):
    for svc in (state.td, state.vd):
        period = H.parse_seconds(svc.unit.get("Service", "WatchdogSec"))
        deadline = time.monotonic() + 10
        while True:
            pings = [(t, pid) for t, pid, f in svc.notify.snapshot()
                     if f.get("WATCHDOG") == "1"]
            if len(pings) >= 3 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert len(pings) >= 3, "%s: WATCHDOG=1 %d times" % (svc.name,
                                                              len(pings))
        assert {pid for _, pid in pings} == {svc.pid}
        gaps = [b[0] - a[0] for a, b in zip(pings, pings[1:])]
        assert max(gaps) <= period / 2, (svc.name, gaps)


@incremental
def test_12_metrics_socket(state):
    if "admin-listen" not in H.help_options("/usr/sbin/todod"):
        pytest.skip("this todod has no metrics")
    status, hdrs, body = H.http("GET", state.admin + "/metrics")
    if status != 200:
        pytest.skip("todod does not serve /metrics on the socket passed as "
                    "LISTEN_FDNAMES=admin (todod-admin.socket): got %d" %
                    status)
    assert hdrs["Content-Type"].startswith("text/plain")
    assert b"# TYPE" in body
    status, _, _ = H.http("GET", state.api + "/metrics")
    assert status == 404, "metrics must not be served on the API socket"


@incremental
def test_13_stop(state):
    rcs = stop_both(state)
    assert rcs == {"todod.service": 0, "todo-verifierd.service": 0}, rcs
    for svc in (state.td, state.vd):
        assert any(f.get("STOPPING") == "1" and pid == svc.last_pid
                   for _, pid, f in svc.messages), svc.name
    for user in ("todod", "todo-verifierd"):
        assert pids_of_uid(state.ids[user][0]) == [], user


@incremental
def test_14_upgrade_keeps_the_todos(debs, machine, workdir, state):
    r = H.dpkg("-i", str(debs["pkgtest2"].deb))
    assert r.returncode == 0, r.stdout + r.stderr
    assert H.installed_version("todod") == debs["pkgtest2"].version
    # Local changes to the conffiles are kept, without a prompt.
    for path, text in state.edited.items():
        assert path.read_text() == text, path
    leftovers = [p.name for p in ETC.iterdir() if ".dpkg-" in p.name]
    assert not leftovers, leftovers
    for user, ids in state.ids.items():
        assert (pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid) == ids
    for d, user in STATE_DIRS.items():
        assert owner(d) == (user, user) and mode(d) == 0o700

    start_both(state, machine, workdir)
    for user in USERS:
        status, _, body = H.http("GET", state.api + "/todo/",
                                 state.tokens[user])
        assert status == 200 and body == state.lists[user], (user, body)
    status, _, body = H.http("POST", state.api + "/todo/",
                             state.tokens["alice"], {"title": "after"})
    assert status == 201
    assert body["id"] > max(t["id"] for ts in state.lists.values()
                            for t in ts)
    assert body["user"] == state.lists["alice"][0]["user"]
    rc, verdict, r = todo_verify("todod", state.tokens["bob"])
    assert rc == 0 and verdict["user"] == state.lists["bob"][0]["user"], r
    rcs = stop_both(state)
    assert rcs == {"todod.service": 0, "todo-verifierd.service": 0}, rcs


@incremental
def test_15_remove_keeps_configuration_and_data(machine, state):
    r = H.dpkg("--remove", "todod")
    assert r.returncode == 0, r.stdout + r.stderr
    assert H.dpkg_status("todod") == "rc"
    for path in BINARIES:
        assert not path.exists(), path
    for path, text in state.edited.items():
        assert path.read_text() == text, path
    for d in STATE_DIRS:
        assert d.is_dir() and any(d.iterdir()), d
    for user in state.ids:
        pwd.getpwnam(user)


@incremental
def test_16_purge_removes_the_package_and_nothing_else(machine, state):
    # Files of the administrator's that purge must leave alone.
    note = ETC / "README.local"
    dropin = Path("/etc/systemd/system/todod.socket.d/local.conf")
    machine.paths += [note, dropin, dropin.parent]
    note.write_text("local notes\n")
    dropin.parent.mkdir(exist_ok=True)
    dropin.write_text("[Socket]\nBacklog=128\n")

    r = H.dpkg("--purge", "todod")
    assert r.returncode == 0, r.stdout + r.stderr
    assert H.dpkg_status("todod") in ("", "un", "pn")
    for path in PACKAGE_FILES:
        assert not path.exists() and not path.is_symlink(), path
    for d in list(STATE_DIRS) + [Path("/run/todo-verifierd")]:
        assert not d.exists(), d
    for user in ("todod", "todo-verifierd"):
        with pytest.raises(KeyError):
            pwd.getpwnam(user)
        with pytest.raises(KeyError):
            grp.getgrnam(user)
    links = [p for p in Path("/etc/systemd/system").glob("*.wants/todo*")]
    assert not links, links
    helper = Path("/var/lib/systemd/deb-systemd-helper-enabled")
    if helper.exists():
        left = [str(p) for p in helper.rglob("todo*")]
        assert not left, left

    # Nothing else: the administrator's files stay, and /etc is as it was
    # before installation but for them.
    assert note.read_text() == "local notes\n"
    assert dropin.exists()
    files, accounts = etc_snapshot()
    before_files, before_accounts = state.before
    extra = files - before_files - {str(note), str(ETC), str(dropin),
                                    str(dropin.parent)}
    gone = before_files - files
    assert not extra and not gone, (sorted(extra), sorted(gone))
    assert accounts == before_accounts


def test_99_daemons_log_with_priority_prefixes(state):
    """Every line on stderr carries an sd-daemon <N> prefix, which journald
    turns into the message priority (SyslogLevelPrefix=yes)."""
    logs = getattr(state, "logs", [])
    if not logs:
        pytest.skip("no daemon ran")
    bad = []
    for path in logs:
        for line in Path(path).read_text(errors="replace").splitlines():
            if line and not re.match(r"<[0-7]>", line):
                bad.append("%s: %s" % (Path(path).name, line))
    assert not bad, "lines without a priority prefix:\n" + "\n".join(bad[:20])
