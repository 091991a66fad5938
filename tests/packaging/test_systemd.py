"""The packaged units under a real systemd: this machine has no systemd
as PID 1, so container_init.sh boots one as PID 1 of a throw-away
container made of this machine's own root under a tmpfs overlay (nothing
reaches the disk; it shares only the loopback network).  Inside it,
container_drive.py installs the package and drives the units with
systemctl: socket activation, Type=notify readiness, reload (also a
refused one), watchdog, the sandbox actually applied (seccomp,
NoNewPrivileges, no capabilities, PrivateUsers/PrivateNetwork not breaking
the verifier socket), verifierd restarts, an upgrade while running (the
maintainer scripts restart the services, not the socket), removal (which
stops everything cleanly) and purge.

Root only.  Skipped where systemd already runs (use the real thing
there) or with TODOD_PKG_SYSTEMD=0."""

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import pkgharness as H

HERE = Path(__file__).resolve().parent
AUDIENCE = "https://todo.ctest.test/"
USER = ["carol@example.com", "carol-password"]

CTEST_TARGET = """[Unit]
Description=todod packaging test (container)
Requires=basic.target ctest.service
After=basic.target ctest.service
AllowIsolate=yes
"""

CTEST_SERVICE = """[Unit]
Description=todod packaging test driver
After=basic.target
[Service]
Type=oneshot
ExecStart=/usr/bin/python3 /ctest/container_drive.py
StandardOutput=file:/ctest/out/drive.log
StandardError=inherit
TimeoutStartSec=240
ExecStopPost=/bin/systemctl --no-block poweroff
"""


def cgroup_dirs(name):
    """Cgroups to put the container in, for the host's cgroup layout."""
    root = Path("/sys/fs/cgroup")
    if (root / "cgroup.controllers").exists():
        return [root / name]
    if (root / "systemd").is_dir():
        dirs = [root / "systemd" / name]
        if (root / "unified").is_dir():
            dirs.append(root / "unified" / name)
        return dirs
    return None


def remove_cgroups(dirs):
    for top in dirs:
        if not top.exists():
            continue
        for d in sorted((p for p in top.rglob("*") if p.is_dir()),
                        key=lambda p: -len(p.parts)) + [top]:
            try:
                d.rmdir()
            except OSError:
                pass


def free_port():
    s = H.listening_socket()
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def run(debs, workdir):
    if os.environ.get("TODOD_PKG_SYSTEMD") == "0":
        pytest.skip("TODOD_PKG_SYSTEMD=0")
    if os.geteuid() != 0:
        pytest.skip("booting a container needs root")
    if Path("/run/systemd/system").exists():
        pytest.skip("systemd runs this machine: test the units with it")
    for tool in ("/usr/bin/unshare", "/lib/systemd/systemd"):
        if not Path(tool).exists():
            pytest.skip("%s is missing" % tool)
    cgroups = cgroup_dirs("todod-pkgtest-%d" % os.getpid())
    if cgroups is None:
        pytest.skip("unknown cgroup layout")

    ctest = workdir / "ctest"
    (ctest / "out").mkdir(parents=True)
    os.chmod(ctest, 0o755)
    shutil.copy(debs["pkgtest1"].deb, ctest / "todod.deb")
    shutil.copy(debs["pkgtest2"].deb, ctest / "todod-new.deb")
    for f in ("container_drive.py", "pkgharness.py"):
        shutil.copy(HERE / f, ctest / f)
    shutil.copy(H.TOP / "tests/idp/idp.py", ctest / "idp.py")
    (ctest / "ctest.target").write_text(CTEST_TARGET)
    (ctest / "ctest.service").write_text(CTEST_SERVICE)
    (ctest / "params.json").write_text(json.dumps({
        "port": free_port(), "admin_port": free_port(),
        "audience": AUDIENCE, "user": USER}))

    for d in cgroups:
        d.mkdir()
    console = workdir / "container-console.log"
    started = time.monotonic()
    try:
        with open(console, "wb") as out:
            r = subprocess.run(
                ["/bin/sh", "-c",
                 'for f in $CGROUP_PROCS; do echo $$ >"$f"; done; '
                 'exec unshare --pid --fork --mount --uts --ipc --cgroup '
                 '--propagation private /bin/sh "$@"', "sh",
                 str(HERE / "container_init.sh"), str(workdir / "scratch"),
                 str(ctest)],
                env=dict(os.environ, CGROUP_PROCS=" ".join(
                    str(d / "cgroup.procs") for d in cgroups)),
                stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                timeout=300)
    finally:
        remove_cgroups(cgroups)
        shutil.rmtree(workdir / "scratch", ignore_errors=True)
    print("container ran %.1fs, exit %d" % (time.monotonic() - started,
                                            r.returncode))
    path = ctest / "out/result.json"
    if not path.exists():
        drive = ctest / "out/drive.log"
        pytest.fail("the container driver wrote no result; console:\n%s\n"
                    "driver:\n%s" % (
                        console.read_text(errors="replace")[-3000:],
                        drive.read_text(errors="replace")[-3000:]
                        if drive.exists() else "(none)"))
    result = json.loads(path.read_text())
    if not result.get("done"):
        pytest.fail("the container driver did not finish: %s" %
                    json.dumps(result, indent=1)[-4000:])
    journal = result["steps"].get("journal", {}).get("out", "")
    print(journal)
    return result["steps"]


def ok(run, name):
    s = run.get(name)
    assert s is not None and "exception" not in s, \
        "%s: %s" % (name, s and s.get("exception"))
    return s


def test_install(run):
    s = ok(run, "install")
    assert s["rc"] == 0, s
    assert "todo-verifierd" in s["id_todod"]


def test_verifierd_ready_by_notify(run):
    s = ok(run, "start")
    assert s["start"]["rc"] == 0, s["start"]
    assert s["verifierd"]["ActiveState"] == "active"
    assert "keys loaded" in s["verifierd"]["StatusText"]


def test_socket_activation_starts_todod(run):
    before = ok(run, "start")["todod_before"]
    s = ok(run, "socket_activation")
    assert before["ActiveState"] == "inactive"
    assert s["todod"]["ActiveState"] == "active", s
    assert s["todod"]["SubState"] == "running"
    assert "todod.socket" in s["todod"]["TriggeredBy"]
    assert s["todod"]["StatusText"] == "serving"
    assert s["readyz"][0] == 200, s


def test_first_request_after_socket_activation_is_served(run):
    """The connection that activates todod is served, not answered 503
    (workers connect to verifierd before serving; requests queue behind
    the HELLO while the connection is made)."""
    s = ok(run, "socket_activation")
    assert s["first"][0] == 200, s["first"]


def test_api_in_the_sandbox(run):
    s = ok(run, "api")
    assert s["post"][0] == 201, s
    assert s["list"][0] == 200 and any(
        t["title"] == "under systemd" for t in s["list"][1]), s
    assert s["anonymous"][0] == 401


def test_sandbox_is_applied(run):
    s = ok(run, "process")
    for unit in ("todod.service", "todo-verifierd.service"):
        p = s[unit]
        assert p["NoNewPrivs"] == ["1"], (unit, p)
        assert p["Seccomp"] == ["2"], (unit, p)
        assert int(p["CapBnd"][0], 16) == 0 and int(p["CapEff"][0], 16) == 0
        assert p["Uid"][0] != "0" and len(set(p["Uid"])) == 1
    # todod: its own group and the verifier's.
    assert len(s["todod.service"]["Groups"]) == 2
    assert "verifier.sock" in s["rundir"]


def test_todo_verify_as_todod(run):
    s = ok(run, "todo_verify")
    assert s["rc"] == 0 and '"accepted"' in s["out"], s


def test_reload(run):
    s = ok(run, "reload")
    for unit in ("todod.service", "todo-verifierd.service"):
        assert s[unit]["rc"] == 0, (unit, s[unit])
    assert s["after"][0] == 200
    # ExecReload='s --check-config refuses the bad file; todod keeps
    # running on the old one.
    assert s["bad"]["rc"] != 0
    assert s["bad_state"]["ActiveState"] == "active"
    assert s["bad_after"][0] == 200


def test_todod_survives_a_verifierd_restart(run):
    s = ok(run, "verifier_restart")
    assert s["restart"]["rc"] == 0, s
    assert s["after"][0] == 200, s


def test_watchdog(run):
    s = ok(run, "watchdog")
    for unit, p in s.items():
        assert p["WatchdogUSec"] == "30s", (unit, p)
        assert p["WatchdogTimestampMonotonic"] not in ("", "0"), (unit, p)
        assert p["NRestarts"] == "0" and p["ActiveState"] == "active", \
            (unit, p)


def test_metrics_socket(run):
    s = ok(run, "metrics")
    if s["admin"][0] != 200:
        pytest.skip("todod does not serve /metrics on todod-admin.socket "
                    "(LISTEN_FDNAMES=admin) yet: %d" % s["admin"][0])
    assert "# TYPE" in s["admin"][1]
    assert s["api"][0] == 404


def test_upgrade_restarts_the_services_and_keeps_the_socket(run, debs):
    s = ok(run, "upgrade")
    assert s["dpkg"]["rc"] == 0, s["dpkg"]
    assert s["version"] == debs["pkgtest2"].version
    for unit in ("todod.service", "todo-verifierd.service"):
        b, a = s["before"][unit], s["after"][unit]
        assert a["ActiveState"] == "active", (unit, a)
        assert a["MainPID"] != b["MainPID"], (unit, "not restarted")
    sb, sa = s["before"]["todod.socket"], s["after"]["todod.socket"]
    assert sa["ActiveState"] == "active"
    assert sa["ActiveEnterTimestampMonotonic"] == \
        sb["ActiveEnterTimestampMonotonic"], "todod.socket was restarted"
    assert s["list"][0] == 200 and any(
        t["title"] == "under systemd" for t in s["list"][1]), s["list"]


def test_remove_stops_cleanly(run):
    s = ok(run, "remove")
    assert s["dpkg"]["rc"] == 0, s["dpkg"]
    for unit in ("todod", "verifierd"):
        assert s[unit]["ActiveState"] == "inactive", s
        assert s[unit]["Result"] == "success", s
        assert s[unit]["ExecMainStatus"] == "0", s
    assert s["socket"]["ActiveState"] == "inactive"
    assert s["processes"]["out"] == "", s["processes"]


def test_purge(run):
    s = ok(run, "purge")
    assert s["dpkg"]["rc"] == 0, s["dpkg"]
    assert s["id"]["rc"] != 0
    assert s["state"]["rc"] != 0


def test_journal_shows_no_sandbox_denials(run):
    journal = ok(run, "journal")["out"]
    bad = [line for line in journal.splitlines()
           if re.search(r"seccomp|Bad system call|Operation not permitted|"
                        r"core dumped|Watchdog timeout|Failed with result",
                        line)]
    assert not bad, "\n".join(bad)
