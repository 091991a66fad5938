"""todod: the respawn back-off grows once per incident.

Workers that die young (under 2 s) are respawned after 1 s, then 2 s,
4 s, ... up to a cap.  When both workers die together that is one
incident: one respawn starts them both, and the delay doubles once, not
once per dead worker (which would make it 1 s, 2 s, then 4 s, 8 s).
A worker that had lived, though, is respawned at once, back-off or not.

Workers are killed only once the master has logged them ready: one killed
while it opens the database may leave Berkeley DB needing recovery, and
recovery restarts every worker, which is another scenario
(test_todod_worker_kill.py).
"""

import re
import time

import harness as H
import todod_util as U
from todod_util import todod  # noqa: F401  (fixture: closes sessions first)


def delays(srv):
    return [int(d) for d in
            re.findall(r"respawning in (\d+)s", srv.daemon.all_stderr())]


def ready_workers(srv, n, exclude=(), timeout=15.0):
    """n live workers, none in exclude, each logged ready by the master."""
    def ok():
        ready = {int(p) for p in re.findall(r"worker ready pid=(\d+)",
                                            srv.daemon.all_stderr())}
        w = {p for p in U.worker_pids(srv) if p in ready} - set(exclude)
        return w if len(w) == n else None
    return H.wait_until(ok, timeout=timeout, what="%d ready workers" % n)


def recoveries(srv):
    return srv.daemon.all_stderr().count("database needs recovery")


def test_backoff_doubles_once_per_incident(vd, todod):
    srv = todod(vd.socket, workers=2)
    old = set()
    for want in (1, 2):
        # both young workers at once: one incident
        pids = ready_workers(srv, 2, exclude=old)
        for p in pids:
            U.kill_pid(p)
        U.log_grep(srv.daemon, r"respawning in %ds" % want)
        old |= pids
    ready_workers(srv, 2, exclude=old)
    U.wait_answering(srv)
    assert recoveries(srv) == 0
    # the twin of "not per worker": the second incident did double it
    assert delays(srv) == [1, 2]


def test_a_worker_that_lived_is_respawned_at_once(vd, todod):
    """A back-off is pending for a worker that keeps dying young; a
    long-lived worker that dies meanwhile does not wait for it."""
    srv = todod(vd.socket, workers=2)
    a, b = sorted(ready_workers(srv, 2))
    time.sleep(2.5)                      # both workers have lived
    gone = {b}
    U.kill_pid(b)                        # lived: respawned at once
    for want in (1, 2, 4):
        nb = ready_workers(srv, 2, exclude=gone) - {a}
        gone |= nb
        for p in nb:
            U.kill_pid(p)                # young: 1 s, 2 s, then 4 s
        U.log_grep(srv.daemon, r"respawning in %ds" % want)
    assert U.pid_alive(a) and recoveries(srv) == 0
    t0 = time.monotonic()
    U.kill_pid(a)
    gone.add(a)
    U.workers(srv, 2, exclude=gone, timeout=15)
    waited = time.monotonic() - t0
    # both back well before the 4 s back-off would have let them
    assert waited < 2.5, waited
    assert delays(srv) == [1, 2, 4]
