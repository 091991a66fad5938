"""todod scenario 11: /healthz, /readyz and Prometheus /metrics.

- /healthz is 200 whenever a worker turns; /readyz is 200 with verifierd
  up, 503 while it is down, 200 again once it is back.
- /metrics is served only on --admin-listen, as Prometheus text, and its
  counters move with the requests; without --admin-listen todod listens
  on nothing but its HTTP port.
"""

import signal
import time

import pytest

import harness as H
import todod_util as U
from todod_util import todod  # noqa: F401  (fixture: closes sessions first)


def health(srv, path, method="GET"):
    return U.call(srv, method, path, session=U.new_session(), timeout=5)


def all_ready(srv, want, n=6):
    return all(health(srv, "/readyz").status_code == want for _ in range(n))


def kill_vd(vd):
    vd.daemon.stopping = True
    U.kill_pid(vd.daemon.pid, signal.SIGKILL)
    vd.daemon.reap_expected()


def test_healthz_and_readyz_follow_verifierd(idp, verifierd, todod):
    vd = verifierd()
    srv = todod(vd.socket, workers=2)
    r = health(srv, "/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = health(srv, "/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "verifier": True, "database": True}
    assert health(srv, "/readyz", "HEAD").status_code == 200
    r = health(srv, "/healthz", "POST")
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD"
    assert all_ready(srv, 200)

    kill_vd(vd)
    H.wait_until(lambda: all_ready(srv, 503), timeout=3, what="/readyz 503 on every worker")
    r = health(srv, "/readyz")
    assert r.json() == {"status": "unavailable", "verifier": False, "database": True}
    # liveness is not readiness
    assert all(health(srv, "/healthz").status_code == 200 for _ in range(4))

    vd.start()
    H.wait_until(lambda: all_ready(srv, 200), timeout=12, interval=0.2,
                 what="/readyz 200 after verifierd is back")
    user = U.User(idp)
    assert U.call(srv, "GET", "/todo/", user).status_code == 200


@pytest.fixture
def monitored(idp, verifierd, todod):
    vd = verifierd()
    admin_port = H.free_port()
    srv = todod(vd.socket, workers=2, args=["--admin-listen", "127.0.0.1:%d" % admin_port,
                                           "--auth-cache-ttl", "0"])
    srv.admin = "http://127.0.0.1:%d" % admin_port
    srv.vd = vd
    return srv


def requests_total(samples, route, code):
    return U.metric_sum(samples, "todod_http_requests_total", route=route, code=code)


def test_metrics_is_prometheus_text_and_counts(monitored, idp):
    srv = monitored
    r, before = U.scrape(srv.admin)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    for name in ("todod_http_requests_total", "todod_http_request_duration_seconds",
                 "todod_auth_rejected_total", "todod_workers_started_total"):
        assert "# TYPE %s " % name in r.text, name
    assert U.metric_sum(before, "todod_workers_started_total") == 2
    user = U.User(idp)
    for _ in range(5):
        assert U.call(srv, "GET", "/todo/", user, session=U.new_session()).status_code == 200
    for _ in range(3):
        assert U.call(srv, "GET", "/todo/", session=U.new_session()).status_code == 401
    for _ in range(2):
        assert U.call(srv, "GET", "/", session=U.new_session()).status_code == 200
    t = U.create(srv, user, "counted")
    assert U.call(srv, "GET", "/todo/%d/" % t["id"], user).status_code == 200
    bad = idp.mint(idp.claims(), key=H.new_rsa_key(cached="todod-metrics"))
    assert U.call(srv, "GET", "/todo/", bad).status_code == 401
    _, after = U.scrape(srv.admin)

    def delta(route, code):
        return requests_total(after, route, code) - requests_total(before, route, code)
    assert delta("list", "2xx") == 6            # 5 GETs + the POST
    assert delta("list", "4xx") == 4            # 3 without a header + 1 bad token
    assert delta("root", "2xx") == 2
    assert delta("item", "2xx") == 1
    assert delta("list", "5xx") == delta("item", "5xx") == 0
    assert (U.metric_sum(after, "todod_auth_rejected_total", reason="malformed")
            - U.metric_sum(before, "todod_auth_rejected_total", reason="malformed")) == 1
    hist = "todod_http_request_duration_seconds_count"
    assert U.metric_sum(after, hist) - U.metric_sum(before, hist) >= 13
    # counters never go down between scrapes
    for key, v in before.items():
        if key[0].endswith("_total") or key[0].endswith("_count"):
            assert after.get(key, 0) >= v, key


def test_metrics_only_on_the_admin_listener(monitored, idp):
    srv = monitored
    r = U.call(srv, "GET", "/metrics", session=U.new_session())
    U.assert_detail(r, 404, "Not found.")
    s = U.new_session()
    assert s.get(srv.admin + "/todo/", timeout=5).status_code == 404
    assert s.get(srv.admin + "/", timeout=5).status_code == 404
    assert s.get(srv.admin + "/metrics", timeout=5).status_code == 200
    pids = {srv.daemon.pid} | U.workers(srv)
    assert U.listening_ports(pids) == {srv.port, int(srv.admin.rsplit(":", 1)[1])}


def test_no_admin_listener_unless_configured(idp, vd, todod):
    srv = todod(vd.socket, workers=2)
    U.workers(srv, 2)
    pids = {srv.daemon.pid} | U.workers(srv)
    assert U.listening_ports(pids) == {srv.port}
    U.assert_detail(U.call(srv, "GET", "/metrics"), 404, "Not found.")


def test_worker_respawn_is_counted(monitored):
    srv = monitored
    _, before = U.scrape(srv.admin)
    time.sleep(2.1)                                # not a "young" death
    victim = min(U.workers(srv, 2))
    U.kill_pid(victim)                             # idle: not inside the DB
    U.wait_gone(victim)
    U.workers(srv, 2, exclude=[victim])
    _, after = U.scrape(srv.admin)
    assert U.metric_sum(after, "todod_workers_respawned_total") - \
        U.metric_sum(before, "todod_workers_respawned_total") == 1
    assert U.metric_sum(after, "todod_workers_started_total") == 3
    # the dead worker's request counts are kept (shared memory)
    assert requests_total(after, "health", "2xx") >= requests_total(before, "health", "2xx")


def test_unavailable_503s_are_counted(monitored, idp):
    """(Printed the auth-cache hit count before 31c7873.)"""
    srv = monitored
    user = U.User(idp)
    assert U.call(srv, "GET", "/todo/", user).status_code == 200
    _, before = U.scrape(srv.admin)
    kill_vd(srv.vd)
    time.sleep(0.3)
    for _ in range(4):
        U.assert_503_unavailable(U.call(srv, "GET", "/todo/", user, session=U.new_session()))
    _, after = U.scrape(srv.admin)
    assert requests_total(after, "list", "5xx") - requests_total(before, "list", "5xx") == 4
    srv.vd.start()
    got = (U.metric_sum(after, "todod_auth_unavailable_total")
           - U.metric_sum(before, "todod_auth_unavailable_total"))
    assert got == 4, "todod_auth_unavailable_total moved by %s after 4 503s" % got
