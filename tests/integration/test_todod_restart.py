"""todod scenario 7: restarts keep the data.

- SIGTERM: the master exits 0 within a few seconds; a new todod on the
  same --data-dir (and port) serves every todo, ids keep counting up.
- SIGKILL of the master and every worker at once (the whole process
  group) while a client is writing: a new todod on the same --data-dir
  recovers and every todo that was answered 201 is there.
"""

import os
import signal
import threading
import time

import requests

import harness as H
import todod_util as U
from todod_util import todod  # noqa: F401  (fixture: closes sessions first)


def restart(srv):
    """A new master on the same argv: same port, same --data-dir."""
    srv.daemon.start()
    srv.wait_ready()


def snapshot(srv, users):
    return {u.sub: U.call(srv, "GET", "/todo/", u, session=U.new_session()).json()
            for u in users}


def test_sigterm_then_restart_keeps_todos(idp, vd, todod):
    srv = todod(vd.socket, workers=2)
    users = [U.User(idp), U.User(idp)]
    for i in range(5):
        for u in users:
            U.create(srv, u, "%s-%d ✓" % (u.sub[-4:], i), "2026-06-%02d" % (i + 1))
    t = U.call(srv, "GET", "/todo/", users[0]).json()[0]
    U.call(srv, "PATCH", "/todo/%d/" % t["id"], users[0], json={"title": "edited"})
    gone = U.call(srv, "GET", "/todo/", users[1]).json()[-1]
    assert U.call(srv, "DELETE", "/todo/%d/" % gone["id"], users[1]).status_code == 204
    before = snapshot(srv, users)
    old_workers = U.workers(srv, 2)
    t0 = time.monotonic()
    rc = srv.stop(timeout=U.STOP_PROMPTLY + 5)
    took = time.monotonic() - t0
    assert rc == 0 and took < U.STOP_PROMPTLY, (rc, took)
    assert not any(U.pid_alive(p) for p in old_workers)
    assert "stopped" in srv.daemon.stderr()

    restart(srv)
    assert snapshot(srv, users) == before
    assert before[users[0].sub][0]["title"] == "edited"
    assert gone["id"] not in [x["id"] for x in before[users[1].sub]]
    newer = U.create(srv, users[0], "after restart")
    assert newer["id"] > max(x["id"] for ts in before.values() for x in ts)
    assert newer["id"] != gone["id"]


def test_sigkill_everything_then_restart_keeps_acknowledged(idp, vd, todod):
    srv = todod(vd.socket, workers=2)
    user = U.User(idp)
    pre = [U.create(srv, user, "pre %d" % i) for i in range(3)]
    stop = threading.Event()
    acked, cut = [], []

    def writer(k):
        n = 0
        while not stop.is_set():
            n += 1
            try:
                r = U.call(srv, "POST", "/todo/", user, session=U.new_session(),
                           json={"title": "w%d-%d" % (k, n)}, timeout=10)
            except requests.RequestException as e:
                cut.append(repr(e))
                return
            if r.status_code == 201:
                acked.append(r.json())
            else:
                cut.append(r.status_code)

    threads = [threading.Thread(target=writer, args=(k,), daemon=True) for k in range(3)]
    for th in threads:
        th.start()
    H.wait_until(lambda: len(acked) >= 40, timeout=15, what="writes before the kill")
    workers = U.workers(srv, 2)
    # master and workers share the process group (harness: new session)
    os.killpg(srv.daemon.pid, signal.SIGKILL)
    srv.daemon.stopping = True
    assert srv.daemon.reap_expected() == -signal.SIGKILL
    for p in workers:
        U.wait_gone(p)
    stop.set()
    for th in threads:
        th.join(15)
    assert not any(th.is_alive() for th in threads)
    n_acked = len(acked)

    restart(srv)
    listed = {t["id"]: t for t in U.call(srv, "GET", "/todo/", user).json()}
    for t in pre + acked[:n_acked]:
        assert listed.get(t["id"]) == t, ("acknowledged todo lost", t)
    # at most the requests cut by the kill can have committed unseen
    assert len(listed) - len(pre) - n_acked <= len(cut) + 3
    # and the restarted service writes normally
    assert U.create(srv, user, "after")["id"] > max(listed)
    log = srv.daemon.stderr()
    assert "ready workers=2" in log
