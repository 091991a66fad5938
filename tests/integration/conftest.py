"""Fixtures for the integration suite.

    idp              the session's shared test IdP, reset (faults, counters,
                     settings, extra JWKs) before each test; do not rotate
                     its keys or stop it (use fresh_idp for that)
    idp_module       the same IdP without the per-test reset (session scope)
    fresh_idp        a new IdP process for this test only (rotate, stop, ...)
    idp_factory      idp_factory(users=(), audience=None, max_age=None) -> IdP
    procs            this test's ProcessGroup (stopped and checked afterwards)
    verifierd        factory: verifierd(*extra_cli_args, idp=None, state_dir=None,
                     socket_path=None, env=None, defaults=True, wait=True) ->
                     harness.Verifierd; waits until the socket answers
    verifierd_module the same factory with module scope (on idp_module)
    vd               one default verifierd on `idp`
    verify           vd.verify: verify(token) -> (exit_code, dict)
    todod            factory: todod(verifier_socket, workers=2, args=()) -> Todod

Every daemon is stopped (SIGTERM, wait, SIGKILL on timeout) when its scope
ends; the test then fails if a daemon exited by itself, exited non-zero on
SIGTERM, or printed a sanitizer report.
"""

import itertools

import pytest

import harness as H


def pytest_report_header(config):
    return "todod build dir: %s (verifierd %s, todo-verify %s, todod %s)" % (
        H.BUILD, *("yes" if p.exists() else "missing"
                   for p in (H.VERIFIERD, H.TODO_VERIFY, H.TODOD)))


def _finish(group):
    problems = group.finish()
    if problems:
        pytest.fail("daemon problems:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def procs():
    g = H.ProcessGroup()
    yield g
    _finish(g)


@pytest.fixture(scope="module")
def _module_procs():
    g = H.ProcessGroup()
    yield g
    _finish(g)


@pytest.fixture(scope="session")
def _session_procs():
    g = H.ProcessGroup()
    yield g
    _finish(g)


@pytest.fixture(scope="session")
def idp_module(_session_procs, tmp_path_factory):
    """One IdP shared by the whole session (starting one costs ~1 s)."""
    return H.IdP(_session_procs, tmp_path_factory.mktemp("idp"))


@pytest.fixture
def idp(idp_module):
    idp_module.daemon.assert_alive()
    idp_module.reset()
    yield idp_module
    # leave no hanging requests behind for the next test
    if idp_module.daemon.alive():
        idp_module.reset()


@pytest.fixture
def idp_factory(procs, tmp_path):
    n = itertools.count()

    def start(**kw):
        return H.IdP(procs, tmp_path / ("idp%d" % next(n)), **kw)
    return start


@pytest.fixture
def fresh_idp(idp_factory):
    return idp_factory()


def _vd_factory(group, base, default_idp):
    H.require(H.VERIFIERD)
    H.require(H.TODO_VERIFY)
    n = itertools.count()

    def start(*args, idp=None, **kw):
        return H.Verifierd(group, base / ("vd%d" % next(n)),
                           idp if idp is not None else default_idp(), args=args, **kw)
    return start


@pytest.fixture
def verifierd(procs, tmp_path, request):
    return _vd_factory(procs, tmp_path, lambda: request.getfixturevalue("idp"))


@pytest.fixture(scope="module")
def verifierd_module(_module_procs, tmp_path_factory, idp_module):
    return _vd_factory(_module_procs, tmp_path_factory.mktemp("vdm"), lambda: idp_module)


@pytest.fixture
def vd(verifierd):
    return verifierd()


@pytest.fixture
def verify(vd):
    return vd.verify


@pytest.fixture
def todod(procs, tmp_path):
    H.require(H.TODOD)
    n = itertools.count()

    def start(verifier_socket, **kw):
        return H.Todod(procs, tmp_path / ("todod%d" % next(n)), verifier_socket, **kw)
    return start
