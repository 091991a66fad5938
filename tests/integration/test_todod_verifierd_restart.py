"""todod scenario 6: verifierd SIGKILLed and restarted under a running todod.

While verifierd is gone, every request that needs a verdict answers 503
{"detail": "Authentication service unavailable."} with Retry-After, at
once (never 500, never a hang) - also for a token a worker had cached,
because the workers drop their verdict cache when the link breaks.
Requests that need no verdict are unaffected (twins: anonymous GET /,
401 without a header, 404 for unknown paths).  Once verifierd is back on
the same socket path, todod answers normally again without a restart, and
the user keeps its todos.  Run with the default --auth-cache-ttl and with
--auth-cache-ttl 0.

A frozen verifierd (SIGSTOP) is the other half: requests wait at most
--verify-timeout, then 503; after SIGCONT they succeed.
"""

import signal
import time

import pytest

import harness as H
import todod_util as U
from todod_util import todod  # noqa: F401  (fixture: closes sessions first)

PROBES = 8        # fresh connections per check: both workers get some


def probe(srv, user, n=PROBES, timeout=6.0):
    out = []
    for _ in range(n):
        t0 = time.monotonic()
        r = U.call(srv, "GET", "/todo/", user, session=U.new_session(), timeout=timeout)
        out.append((r, time.monotonic() - t0))
    return out


def all_ok(srv, user):
    return all(r.status_code == 200 for r, _ in probe(srv, user))


def sigkill(vd):
    vd.daemon.stopping = True          # we cause this exit; do not report it
    U.kill_pid(vd.daemon.pid, signal.SIGKILL)
    rc = vd.daemon.reap_expected()
    assert rc == -signal.SIGKILL


@pytest.mark.parametrize("ttl", [None, 0], ids=["default-cache", "cache-off"])
def test_verifierd_sigkill_and_restart(idp, verifierd, todod, ttl):
    vd = verifierd()
    args = [] if ttl is None else ["--auth-cache-ttl", ttl]
    srv = todod(vd.socket, workers=2, args=args)
    cached, fresh = U.User(idp), U.User(idp)
    t = U.create(srv, cached, "before the outage")
    # warm every worker's cache for `cached`
    assert all_ok(srv, cached)
    if ttl is None:
        H.wait_until(lambda: all_ok(srv, cached), timeout=5, what="cache warm")

    sigkill(vd)
    time.sleep(0.3)                 # let the workers see the link drop
    for user in (cached, fresh, U.User(idp)):
        for r, took in probe(srv, user):
            U.assert_503_unavailable(r)
            assert took < 2.0, "503 should be immediate, took %.1fs" % took
    for method, kw in (("POST", {"json": {"title": "during"}}), ("DELETE", {})):
        path = "/todo/" if method == "POST" else "/todo/%d/" % t["id"]
        U.assert_503_unavailable(U.call(srv, method, path, cached, session=U.new_session(),
                                        **kw))
    # twins that need no verdict
    r = U.call(srv, "GET", "/", session=U.new_session())
    assert r.status_code == 200
    U.assert_401(U.call(srv, "GET", "/todo/", session=U.new_session()), U.AUTH_MISSING, False)
    U.assert_401(U.call(srv, "GET", "/todo/", headers={"Authorization": "Bearer a b"},
                        session=U.new_session()), U.AUTH_BAD_HEADER, True)
    U.assert_detail(U.call(srv, "GET", "/nope", cached, session=U.new_session()), 404,
                    "Not found.")
    srv.daemon.assert_alive()

    # back on the same socket path; todod is not restarted
    vd.start()
    t0 = time.monotonic()
    H.wait_until(lambda: all_ok(srv, cached), timeout=12, interval=0.2,
                 what="todod answering again after verifierd restart")
    assert time.monotonic() - t0 < 12
    assert all_ok(srv, fresh)
    # the same user as before: the todo is still theirs, the delete never ran
    assert U.call(srv, "GET", "/todo/", cached).json() == [t]
    assert U.call(srv, "GET", "/todo/", fresh).json() == []
    U.create(srv, fresh, "after the outage")
    assert "verifier: connection lost" in srv.daemon.stderr()


def test_frozen_verifierd_answers_503_after_verify_timeout(idp, verifierd, todod):
    vd = verifierd()
    srv = todod(vd.socket, workers=2, args=["--verify-timeout", "1", "--auth-cache-ttl", "0"])
    user = U.User(idp)
    assert all_ok(srv, user)
    vd.daemon.send_signal(signal.SIGSTOP)
    try:
        for r, took in probe(srv, user, n=3, timeout=8):
            U.assert_503_unavailable(r)
            assert 0.5 < took < 4.0, took
    finally:
        vd.daemon.send_signal(signal.SIGCONT)
    H.wait_until(lambda: all_ok(srv, user), timeout=10, interval=0.2,
                 what="answers after SIGCONT")
