"""todod: the respawn back-off grows once per incident.

Workers that die young (under 2 s) are respawned after 1 s, then 2 s,
4 s, ... up to a cap.  When both workers die together that is one
incident: one respawn starts them both, and the delay doubles once, not
once per dead worker (which would make it 1 s, 2 s, then 4 s, 8 s).
A worker that had lived, though, is respawned at once, back-off or not.
"""

import re
import time

import todod_util as U
from todod_util import todod  # noqa: F401  (fixture: closes sessions first)


def delays(srv):
    return [int(d) for d in
            re.findall(r"respawning in (\d+)s", srv.daemon.all_stderr())]


def test_backoff_doubles_once_per_incident(vd, todod):
    srv = todod(vd.socket, workers=2)
    old = set()
    for want in ([1], [1, 2]):
        # both young workers at once: one incident
        pids = U.workers(srv, 2, exclude=old)
        for p in pids:
            U.kill_pid(p)
        U.log_grep(srv.daemon, r"respawning in %ds" % want[-1])
        old |= pids
    U.workers(srv, 2, exclude=old, timeout=15)
    U.wait_answering(srv)
    # the twin of "not per worker": the second incident did double it
    assert delays(srv) == [1, 2]


def test_a_worker_that_lived_is_respawned_at_once(vd, todod):
    """A back-off is pending for a worker that keeps dying young; a
    long-lived worker that dies meanwhile does not wait for it."""
    srv = todod(vd.socket, workers=2)
    time.sleep(2.5)                      # both workers have lived
    a, b = sorted(U.workers(srv, 2))
    gone = {b}
    U.kill_pid(b)                        # lived: respawned at once
    for want in (1, 2, 4):
        nb = U.workers(srv, 2, exclude=gone) - {a}
        gone |= nb
        for p in nb:
            U.kill_pid(p)                # young: 1 s, 2 s, then 4 s
        U.log_grep(srv.daemon, r"respawning in %ds" % want)
    t0 = time.monotonic()
    U.kill_pid(a)
    gone.add(a)
    U.workers(srv, 2, exclude=gone, timeout=15)
    waited = time.monotonic() - t0
    # both back well before the 4 s back-off would have let them
    assert waited < 2.5, waited
    assert delays(srv) == [1, 2, 4]
