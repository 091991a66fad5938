"""todod: the respawn back-off grows once per incident.

Workers that die young (under 2 s) are respawned after 1 s, then 2 s,
4 s, ... up to a cap.  When both workers die together that is one
incident: one respawn starts them both, and the delay doubles once, not
once per dead worker (which would make it 1 s, 2 s, then 4 s, 8 s).
"""

import re

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
