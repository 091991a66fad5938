"""The systemd units, sysusers.d, tmpfiles.d, configuration files and
manual pages in packaging/, checked as files (no root, nothing installed).

The same units are checked again once installed, by test_lifecycle.py,
which also runs the daemons the way these units say."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import pkgharness as H

UNITS = H.SRC_UNITS
CONFIG = H.PACKAGING / "config"
MAN = H.PACKAGING / "man"

# The limits, as systemd-analyze prints them (0.0 .. 10.0).
EXPOSURE_LIMITS = {"todod.service": 1.0, "todo-verifierd.service": 2.0}


def unit(name):
    return H.Unit(UNITS / name)


def conf_settings(path):
    """Active (uncommented) key = value lines of a daemon config file."""
    out = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, "%s: not key = value: %r" % (path, line)
        out.setdefault(key.strip(), []).append(value.split(" #")[0].strip())
    return out


def conf_documented(path):
    """Keys that appear as "key = ..." or "#key = ..." lines."""
    return set(re.findall(r"^#?([a-z][a-z0-9-]*) =", Path(path).read_text(),
                          re.M))


@pytest.mark.parametrize("name", sorted(EXPOSURE_LIMITS))
def test_security_exposure(tools, name):
    level, report = H.exposure(UNITS / name)
    limit = EXPOSURE_LIMITS[name]
    print("%s: exposure %.1f (limit %.1f)" % (name, level, limit))
    assert level <= limit, report
    # The same through systemd-analyze's own threshold (in tenths).
    r = subprocess.run(["systemd-analyze", "security", "--offline=true",
                        "--threshold=%d" % round(limit * 10),
                        str(UNITS / name)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_units_verify(tools, tmp_path):
    """systemd-analyze verify on a scratch root holding the host's units,
    ours, and stand-ins for the binaries they run (the installed package
    is verified for real, man pages included, by test_lifecycle.py)."""
    root = tmp_path / "root"
    shutil.copytree(H.SYSTEM_UNITS, root / "lib/systemd/system",
                    symlinks=True)
    ours = sorted(p.name for p in UNITS.glob("*.service")) + \
        sorted(p.name for p in UNITS.glob("*.socket"))
    for name in ours:
        shutil.copy(UNITS / name, root / "lib/systemd/system" / name)
    for name in ours:
        u = unit(name)
        for key in ("ExecStartPre", "ExecStart", "ExecReload"):
            for line in u.all("Service", key):
                exe = H.split_exec(line, {})[1][0]
                dst = root / exe.lstrip("/")
                if not dst.exists():
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy("/bin/true", dst)
    r = subprocess.run(["systemd-analyze", "verify", "--root=%s" % root,
                        "--man=no"] +
                       ["lib/systemd/system/" + n for n in ours],
                       cwd=root, capture_output=True, text=True)
    assert r.returncode == 0 and not r.stdout.strip() and \
        not r.stderr.strip(), r.stdout + r.stderr


def test_notify_reload_watchdog():
    for name in ("todod.service", "todo-verifierd.service"):
        u = unit(name)
        binary = H.split_exec(u.get("Service", "ExecStart"), {})[1][0]
        assert u.get("Service", "Type") == "notify", name
        assert u.get("Service", "NotifyAccess") == "main", name
        assert H.parse_seconds(u.get("Service", "WatchdogSec", "0")) > 0
        assert u.get("Service", "Restart") == "on-failure", name
        start = H.split_exec(u.get("Service", "ExecStart"), {})[1]
        pre = [H.split_exec(x, {})[1] for x in u.all("Service",
                                                     "ExecStartPre")]
        reload_ = [H.split_exec(x, {"MAINPID": "$MAINPID"})[1]
                   for x in u.all("Service", "ExecReload")]
        # --check-config with exactly ExecStart='s options, first; then the
        # signal.
        assert pre == [start + ["--check-config"]], name
        assert reload_[0] == start + ["--check-config"], name
        assert reload_[1:] == [["/bin/kill", "-HUP", "$MAINPID"]], name
        assert binary.startswith("/usr/sbin/"), name


def test_socket_activation():
    svc, sock = unit("todod.service"), unit("todod.socket")
    assert "todod.socket" in svc.words("Unit", "Requires")
    assert "todod.socket" in svc.words("Unit", "After")
    # todod's own default, so that --listen and the socket agree.
    assert sock.all("Socket", "ListenStream") == ["127.0.0.1:8000"]
    assert sock.get("Socket", "Accept", "no") == "no"
    assert sock.get("Install", "WantedBy") == "sockets.target"
    admin = unit("todod-admin.socket")
    assert admin.get("Socket", "Service") == "todod.service"
    assert admin.get("Socket", "FileDescriptorName") == "admin"
    assert "todod-admin.socket" in svc.words("Unit", "After")
    # Socket activation is what lets todod live without a network.
    assert svc.get("Service", "PrivateNetwork") == "yes"
    assert svc.words("Service", "RestrictAddressFamilies") == ["AF_UNIX"]


def test_todod_waits_for_the_verifier():
    svc = unit("todod.service")
    assert "todo-verifierd.service" in svc.words("Unit", "After")
    assert "todo-verifierd.service" in svc.words("Unit", "Wants")
    vd = unit("todo-verifierd.service")
    assert "network-online.target" in vd.words("Unit", "After")
    # verifierd must see real uids through SO_PEERCRED (allow-uid).
    assert vd.get("Service", "PrivateUsers", "no") == "no"


def test_users_groups_and_directories():
    svc, vd = unit("todod.service"), unit("todo-verifierd.service")
    sysusers = (UNITS / "todod.sysusers").read_text()
    entries = [line.split() for line in sysusers.splitlines()
               if line.strip() and not line.startswith("#")]
    users = {e[1] for e in entries if e[0] == "u"}
    assert users == {svc.get("Service", "User"), vd.get("Service", "User")}
    assert svc.get("Service", "User") != vd.get("Service", "User")
    # todod's user joins the verifier's group, and the unit says so too.
    assert ["m", "todod", "todo-verifierd"] in entries
    assert svc.words("Service", "SupplementaryGroups") == ["todo-verifierd"]
    assert vd.get("Service", "Group") == "todo-verifierd"

    assert svc.words("Service", "StateDirectory") == ["todod"]
    assert vd.words("Service", "StateDirectory") == ["todo-verifierd"]
    assert vd.words("Service", "RuntimeDirectory") == ["todo-verifierd"]
    assert vd.get("Service", "RuntimeDirectoryMode") == "0750"
    tmpfiles = {}
    for line in (UNITS / "todod.tmpfiles").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            kind, path, mode, user, group = line.split()[:5]
            tmpfiles[path] = (kind, mode, user, group)
    for u in (svc, vd):
        for d in u.words("Service", "StateDirectory"):
            user = u.get("Service", "User")
            mode = u.get("Service", "StateDirectoryMode")
            assert mode == "0700"
            assert tmpfiles["/var/lib/" + d] == ("d", mode, user,
                                                 u.get("Service", "Group"))
    for u in (svc, vd):
        assert u.get("Service", "UMask") == "0077"


def test_config_files_fit_the_units():
    vd_conf = conf_settings(CONFIG / "verifierd.conf")
    assert conf_settings(CONFIG / "todod.conf") == {}
    # The socket lives in the RuntimeDirectory=, where todod looks for it.
    assert vd_conf["socket"] == ["/run/todo-verifierd/verifier.sock"]
    assert "#verifier = /run/todo-verifierd/verifier.sock" in \
        (CONFIG / "todod.conf").read_text()
    assert vd_conf["allow-uid"] == [unit("todod.service").get("Service",
                                                              "User")]
    env = H.parse_env_file(CONFIG / "auth0.env")
    assert env == {}, "auth0.env ships with every variable commented out"
    text = (CONFIG / "auth0.env").read_text()
    for var in ("AUTH0_DOMAIN", "AUTH0_API_AUDIENCE"):
        assert re.search(r"^#%s=" % var, text, re.M), var
    for name in ("todod.service", "todo-verifierd.service"):
        for line in unit(name).all("Service", "ExecStart"):
            argv = H.split_exec(line, {})[1]
            conf = argv[argv.index("--config") + 1]
            assert conf.startswith("/etc/todod/")
            assert (CONFIG / Path(conf).name).exists(), conf
    assert unit("todo-verifierd.service").all("Service", "EnvironmentFile") \
        == ["-/etc/todod/auth0.env"]


@pytest.mark.parametrize("page", sorted(p.name for p in MAN.iterdir()))
def test_man_page_renders_cleanly(tools, page):
    r = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8",
                        str(MAN / page)], capture_output=True, text=True,
                       env={"PATH": H.PATH, "MANWIDTH": "80",
                            "LC_ALL": "C.UTF-8"})
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr
    text = re.sub(r".\x08", "", r.stdout)       # overstrike bold
    assert "NAME" in text and "SEE ALSO" in text
    r = subprocess.run(["lexgrog", str(MAN / page)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_build_script_is_posix_sh():
    r = subprocess.run(["sh", "-n", str(H.PACKAGING / "build-deb.sh")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for script in ("todod.postrm", "todod.prerm"):
        r = subprocess.run(["sh", "-n", str(H.PACKAGING / "debian" / script)],
                           capture_output=True, text=True)
        assert r.returncode == 0, script + ": " + r.stderr
