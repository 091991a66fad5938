"""Fixtures for the packaging tests (run: /usr/bin/python3 -m pytest -q
tests/packaging, as root).

    tools        systemd-analyze and man are there (installed when missing
                 and root); skips otherwise
    debs         the package built twice by packaging/build-deb.sh, as
                 0.1.0+pkgtest1 (lintian checked) and 0.1.0+pkgtest2 (the
                 upgrade), nocheck unless TODOD_PKG_CHECK=1; with
                 TODOD_PKG_DEB_DIR=DIR, the builds already in
                 DIR/deb-pkgtest1 and DIR/deb-pkgtest2 are used instead
    machine      root and a free dpkg; the package is purged and everything
                 the tests started is stopped when the session ends
    state        a namespace that the ordered lifecycle steps share

Tests marked `incremental` (test_lifecycle.py) are steps: once one fails,
the later ones are skipped with the name of the failed step.
"""

import os
import shutil
import subprocess
import tempfile
import types
from pathlib import Path

import pytest

import pkgharness as H

TEST_VERSIONS = ("pkgtest1", "pkgtest2")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "incremental: a step of an ordered scenario; later steps "
        "are skipped once one fails")


def pytest_runtest_makereport(item, call):
    if "incremental" in item.keywords and call.excinfo is not None and \
            not call.excinfo.errisinstance(pytest.skip.Exception):
        item.session._pkg_failed_step = item.name


def pytest_runtest_setup(item):
    if "incremental" in item.keywords:
        failed = getattr(item.session, "_pkg_failed_step", None)
        if failed is not None:
            pytest.skip("an earlier step failed: %s" % failed)


def require_root():
    if os.geteuid() != 0:
        pytest.skip("the packaging tests install a package and create "
                    "system users: run them as root")


@pytest.fixture(scope="session")
def tools():
    missing = H.ensure_packages("systemd", "man-db")
    for tool in ("systemd-analyze", "man"):
        if shutil.which(tool) is None:
            pytest.skip("%s is not installed (packages missing: %s)" %
                        (tool, " ".join(missing) or "-"))


@pytest.fixture(scope="session")
def workdir():
    """A directory the service users can read (the IdP's CA, notify
    sockets and logs live here); removed at the end."""
    d = Path(tempfile.mkdtemp(prefix="todod-pkgtest."))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def debs(workdir):
    require_root()
    env = dict(os.environ)
    if os.environ.get("TODOD_PKG_CHECK") != "1":
        env["DEB_BUILD_OPTIONS"] = (env.get("DEB_BUILD_OPTIONS", "") +
                                    " nocheck").strip()
    built = {}
    prebuilt = os.environ.get("TODOD_PKG_DEB_DIR")
    for i, suffix in enumerate(TEST_VERSIONS):
        out = Path(prebuilt or workdir) / ("deb-" + suffix)
        if prebuilt:
            main = sorted(out.glob("todod_*_*.deb"))
            assert len(main) == 1, "no todod .deb in %s" % out
            built[suffix] = types.SimpleNamespace(
                dir=out, deb=main[0], log="",
                version=main[0].name.split("_")[1])
            continue
        argv = [str(H.PACKAGING / "build-deb.sh")]
        if i > 0:
            argv.append("-L")
        r = subprocess.run(argv + [str(out), suffix], env=env,
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=1500)
        assert r.returncode == 0, "build-deb.sh %s failed:\n%s" % (
            suffix, r.stderr[-6000:])
        main = sorted(out.glob("todod_*_*.deb"))
        assert len(main) == 1, "want one todod .deb in %s: %s" % (
            out, sorted(p.name for p in out.iterdir()))
        built[suffix] = types.SimpleNamespace(
            dir=out, deb=main[0], log=r.stderr,
            version=main[0].name.split("_")[1])
    return built


@pytest.fixture(scope="session")
def machine():
    require_root()
    if not H.wait_dpkg_unlocked(timeout=300):
        pytest.skip("dpkg is locked by another process")
    version = H.installed_version("todod")
    status = H.dpkg_status("todod")
    if version is not None and not any(v in version for v in TEST_VERSIONS):
        pytest.skip("todod %s is installed here and is not a test build: "
                    "the packaging tests would replace it" % version)
    if status and status not in ("un", "pn"):
        # A test build left over from an interrupted run.
        H.dpkg("--purge", "todod")
    cleanup = types.SimpleNamespace(services=[], idp=None, paths=[])
    yield cleanup
    for svc in reversed(cleanup.services):
        svc.stop(timeout=20)
    if cleanup.idp is not None:
        cleanup.idp.stop()
    if H.dpkg_status("todod") not in ("", "un", "pn"):
        H.dpkg("--purge", "todod")
    for p in cleanup.paths:
        p = Path(p)
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        elif p.exists() or p.is_symlink():
            p.unlink()
    # /etc/todod may be left holding only what the tests put there.
    for d in (Path("/etc/todod"), Path("/etc/systemd/system/todod.socket.d")):
        try:
            d.rmdir()
        except OSError:
            pass


@pytest.fixture(scope="session")
def state():
    return types.SimpleNamespace()
