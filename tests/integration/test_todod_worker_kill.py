"""todod scenario 5: SIGKILL of a worker while clients write.

Client threads POST continuously (one keeps its connection, the others
open one per request, so both workers get writes).  One worker is
SIGKILLed, the service recovers, then a worker is SIGKILLed again.  The
scenario runs once (module fixture `run`); the tests below each check
one property of what was observed:

- every POST answered 201 is still there afterwards, unchanged;
- nothing was answered other than 201 or 503 (+ Retry-After), no request
  hung past the client timeout, and the master logged deaths and respawns;
- the service answers again within a few seconds of each kill.

The kills are timed with /proc/PID/syscall (x86_64), so that both hard
cases are covered on every run: kill 1 lands while the worker is in
fdatasync() (a commit; usually failchk then asks for recovery), kill 2
while it waits on a Berkeley DB mutex in futex() (which leaves a
process-shared mutex/condvar unusable: failchk hangs until the master's
deadline, then full recovery).  That deadline was 10 s, during which every
request stalled; it is 2 s since 423d0a6, and the test holds the service
to answering within FEW_SECONDS of each kill.
"""

import platform
import signal
import threading
import time

import pytest
import requests

import harness as H
import todod_util as U

# the harness's client timeout; the recovery time is tested separately,
# with FEW_SECONDS
CLIENT_TIMEOUT = 10.0
# what "within a few seconds" means for the availability test
FEW_SECONDS = 5.0
X86_64 = platform.machine() == "x86_64"


class Poster(threading.Thread):
    def __init__(self, srv, user, name, keep_alive):
        super().__init__(daemon=True, name=name)
        self.srv, self.user, self.keep_alive = srv, user, keep_alive
        self.stop = threading.Event()
        self.acked = []          # 201 bodies
        self.answers = []        # (sent, answered, status, text, Retry-After)
        self.conn_errors = []    # (sent, failed, repr): reset in flight
        self.hangs = []          # (sent, repr): client timeout
        self.n = 0

    def run(self):
        sess = U.new_session(self.keep_alive)
        while not self.stop.is_set():
            self.n += 1
            title = "%s-%d" % (self.name, self.n)
            if not self.keep_alive:
                sess = U.new_session()
            t0 = time.monotonic()
            try:
                r = U.call(self.srv, "POST", "/todo/", self.user, session=sess,
                           json={"title": title}, timeout=CLIENT_TIMEOUT)
            except requests.Timeout as e:
                self.hangs.append((t0, repr(e)))
                sess = U.new_session(self.keep_alive)
                continue
            except requests.ConnectionError as e:
                self.conn_errors.append((t0, time.monotonic(), repr(e)[:120]))
                sess = U.new_session(self.keep_alive)
                time.sleep(0.02)
                continue
            self.answers.append((t0, time.monotonic(), r.status_code, r.text[:200],
                                 r.headers.get("Retry-After")))
            if r.status_code == 201:
                body = r.json()
                assert body["title"] == title
                self.acked.append(body)
        sess.close()


def ok_after(posters, t):
    return sum(1 for p in posters for a in p.answers if a[0] > t and a[2] == 201)


@pytest.fixture(scope="module")
def run(_module_procs, tmp_path_factory, idp_module, verifierd_module):
    H.require(H.TODOD)
    vd = verifierd_module()
    srv = H.Todod(_module_procs, tmp_path_factory.mktemp("wk") / "todod", vd.socket,
                  workers=2)
    users = [U.User(idp_module), U.User(idp_module)]
    original = U.workers(srv, 2)
    posters = [Poster(srv, users[0], "ka", True),
               Poster(srv, users[0], "fresh0", False),
               Poster(srv, users[1], "fresh1", False)]
    kills = []
    for p in posters:
        p.start()
    try:
        H.wait_until(lambda: ok_after(posters, 0) >= 30, timeout=10, what="initial writes")
        for n, when in enumerate(((U.SYS_FDATASYNC, U.SYS_FSYNC), (U.SYS_FUTEX,))):
            # past the master's "died young" threshold (2 s): no respawn backoff
            time.sleep(2.1)
            before = U.workers(srv, 2)
            victim = min(before)
            caught = X86_64 and U.wait_in_syscall(victim, when, timeout=10)
            t_kill = time.monotonic()
            U.kill_pid(victim, signal.SIGKILL)
            U.wait_gone(victim)
            U.workers(srv, 2, timeout=CLIENT_TIMEOUT, exclude=[victim])
            # writes succeed again (on fresh connections and the kept one)
            H.wait_until(lambda: ok_after(posters, max(t_kill, time.monotonic() - 0.5)) >= 10,
                         timeout=CLIENT_TIMEOUT, what="writes after kill %d" % (n + 1))
            first_ok = min(a[1] for p in posters for a in p.answers
                           if a[0] > t_kill and a[2] == 201)
            kills.append({"victim": victim, "in_syscall": caught and when,
                          "t": t_kill, "first_201_after": first_ok - t_kill})
            H.wait_until(lambda: srv.daemon.stderr().count("worker died signal=9") >= n + 1,
                         timeout=5, what="death %d logged" % (n + 1))
    finally:
        for p in posters:
            p.stop.set()
        for p in posters:
            p.join(CLIENT_TIMEOUT + 5)
    assert not any(p.is_alive() for p in posters)
    yield {"srv": srv, "users": users, "posters": posters, "kills": kills,
           "original": original}
    srv.session.close()


def test_every_acknowledged_write_survives(run):
    srv, users, posters = run["srv"], run["users"], run["posters"]
    sess = U.new_session()
    total = 0
    for u in users:
        acked = [t for p in posters if p.user is u for t in p.acked]
        listed = {t["id"]: t for t in U.call(srv, "GET", "/todo/", u, session=sess).json()}
        for t in acked:
            r = U.call(srv, "GET", "/todo/%d/" % t["id"], u, session=sess)
            assert r.status_code == 200 and r.json() == t, (t, r.status_code, r.text)
            assert listed.get(t["id"]) == t
        total += len(acked)
        # a POST cut by a kill may or may not have committed; nothing else
        extra = set(listed) - {t["id"] for t in acked}
        cut = sum(len(p.conn_errors) + len(p.hangs) for p in posters if p.user is u)
        assert len(extra) <= cut, (extra, cut)
    assert total >= 60


def test_no_500_no_hang_past_client_timeout(run):
    problems = []
    for p in run["posters"]:
        if p.hangs:
            problems.append("%s: requests hung past %.0fs: %r" % (p.name, CLIENT_TIMEOUT, p.hangs))
        for a in p.answers:
            if a[2] == 201:
                continue
            if a[2] != 503:
                problems.append("%s: answer neither 201 nor 503: %r" % (p.name, a))
            elif not (a[4] and a[4].isdigit()):
                problems.append("%s: 503 without Retry-After: %r" % (p.name, a))
    assert not problems, "\n".join(problems)


def test_master_logged_and_respawned(run):
    srv = run["srv"]
    log = srv.daemon.stderr()
    assert log.count("worker died signal=9") == 2, H.tail(log)
    assert log.count("worker started pid=") >= 4, H.tail(log)
    srv.daemon.assert_alive()
    now = U.workers(srv, 2)
    assert not (now & {k["victim"] for k in run["kills"]})
    # and it serves
    r = U.call(srv, "POST", "/todo/", run["users"][0], session=U.new_session(),
               json={"title": "after"})
    assert r.status_code == 201


def test_service_answers_within_a_few_seconds_of_each_kill(run):
    if not X86_64 or not all(k["in_syscall"] for k in run["kills"]):
        pytest.skip("kills could not be timed to a syscall: %r" % run["kills"])
    slow = [(p.name, round(a[1] - a[0], 1)) for p in run["posters"] for a in p.answers
            if a[1] - a[0] > FEW_SECONDS]
    slow += [(p.name, round(e[1] - e[0], 1), e[2]) for p in run["posters"]
             for e in p.conn_errors if e[1] - e[0] > FEW_SECONDS]
    late = [k for k in run["kills"] if k["first_201_after"] > FEW_SECONDS]
    assert not late and not slow, "recovery after kills: %r; requests taking > %ss: %r" % (
        [(k["in_syscall"], round(k["first_201_after"], 1)) for k in run["kills"]],
        FEW_SECONDS, slow)
