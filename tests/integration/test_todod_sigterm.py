"""todod scenario 8: SIGTERM drains.

- An idle todod (with idle keep-alive connections open) exits 0 promptly.
- A request in flight when SIGTERM arrives still gets its normal answer:
  (a) one whose body is still arriving (headers + half the body sent,
  then SIGTERM, then the rest), and (b) one that is complete and waiting
  for verifierd (frozen for the moment with SIGSTOP).  The master then
  exits 0, and the todo of a 201 is really stored.  (Case (a) failed - the
  connection was closed unanswered - before 423d0a6.)
- A response being written when SIGTERM arrives (the client reads slowly)
  is delivered whole.
"""

import json
import signal
import time

import pytest

import todod_util as U
from todod_util import todod  # noqa: F401  (fixture: closes sessions first)


def post_head(srv, user, body):
    return (b"POST /todo/ HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n"
            % (user.token.encode(), len(body)))


def restart_and_list(srv, user):
    srv.daemon.start()
    srv.wait_ready()
    return U.call(srv, "GET", "/todo/", user).json()


def test_idle_sigterm_exits_zero_promptly(idp, vd, todod):
    srv = todod(vd.socket, workers=2)
    user = U.User(idp)
    U.create(srv, user, "x")
    idle = [U.raw_connect(srv) for _ in range(4)]
    ka = U.new_session(keep_alive=True)
    assert U.call(srv, "GET", "/todo/", user, session=ka).status_code == 200
    try:
        t0 = time.monotonic()
        srv.daemon.send_signal(signal.SIGTERM)
        rc = srv.daemon.reap_expected(timeout=U.STOP_PROMPTLY + 5)
        took = time.monotonic() - t0
        assert rc == 0 and took < U.STOP_PROMPTLY, (rc, took)
        for s in idle:
            assert U.closed_by_peer(s, 1.0)
    finally:
        for s in idle:
            s.close()
    assert "stopped" in srv.daemon.stderr()


def slow_upload(srv, user, title, during=None):
    """POST in two halves 0.8 s apart; during() runs between them.
    Returns (status, body) - status None if the connection was closed."""
    body = json.dumps({"title": title, "pad": "p" * 2000}).encode()
    with U.raw_connect(srv, timeout=10) as s:
        s.sendall(post_head(srv, user, body) + body[:len(body) // 2])
        time.sleep(0.3)                       # the worker has read the head
        if during is not None:
            during()
        time.sleep(0.5)
        try:
            s.sendall(body[len(body) // 2:])
            status, headers, resp = U.read_response(s, timeout=10)
        except OSError as e:
            status, resp = None, repr(e).encode()
    return status, resp


def test_slow_upload_without_sigterm_is_answered(idp, vd, todod):
    """The twin of the next test: the same slow upload, no signal."""
    srv = todod(vd.socket, workers=1)
    user = U.User(idp)
    U.create(srv, user, "warm")
    status, resp = slow_upload(srv, user, "slow upload")
    assert status == 201, resp
    assert json.loads(resp)["title"] == "slow upload"


def test_sigterm_during_body_upload_still_answers(idp, vd, todod):
    srv = todod(vd.socket, workers=1)
    user = U.User(idp)
    U.create(srv, user, "warm")               # verdict cached, connection up
    status, resp = slow_upload(srv, user, "slow upload",
                               during=lambda: srv.daemon.send_signal(signal.SIGTERM))
    rc = srv.daemon.reap_expected(timeout=10)
    assert rc == 0
    assert status == 201, "in-flight upload cut by SIGTERM: %r %r" % (status, resp)
    t = json.loads(resp)
    assert t["title"] == "slow upload"
    assert t in restart_and_list(srv, user)


def test_sigterm_while_waiting_for_verifierd_still_answers(idp, vd, todod):
    srv = todod(vd.socket, workers=1, args=["--auth-cache-ttl", "0", "--verify-timeout", "5"])
    user = U.User(idp)
    U.create(srv, user, "warm")
    body = json.dumps({"title": "waiting for a verdict"}).encode()
    vd.daemon.send_signal(signal.SIGSTOP)
    try:
        with U.raw_connect(srv, timeout=10) as s:
            s.sendall(post_head(srv, user, body) + body)
            time.sleep(0.3)
            srv.daemon.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            vd.daemon.send_signal(signal.SIGCONT)
            status, headers, resp = U.read_response(s, timeout=10)
    finally:
        vd.daemon.send_signal(signal.SIGCONT)
    assert srv.daemon.reap_expected(timeout=10) == 0
    assert status == 201, (status, resp)
    assert json.loads(resp) in restart_and_list(srv, user)


def test_slow_reader_gets_every_response_whole(idp, vd, todod):
    """The twin of the next test: the same stalled pipeline, no signal."""
    srv = todod(vd.socket, workers=1, args=["--max-body", 200000])
    user = U.User(idp)
    t = U.create(srv, user, U.BIG_TITLE)
    with U.stalled_pipeline(srv, user, t["id"], n=60) as s:
        time.sleep(1.0)
        done, left = U.read_stream(s, want=60)
    assert len(done) == 60 and left == b""
    assert all(st == 200 and json.loads(b) == t for st, _, b in done)


def test_sigterm_while_a_response_is_being_written_delivers_it_whole(idp, vd, todod):
    srv = todod(vd.socket, workers=1, args=["--max-body", 200000])
    user = U.User(idp)
    t = U.create(srv, user, U.BIG_TITLE)
    srv.session.close()
    with U.stalled_pipeline(srv, user, t["id"], n=100) as s:
        time.sleep(1.0)                  # buffers full, a response half written
        srv.daemon.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        done, left = U.read_stream(s)
    assert srv.daemon.reap_expected(timeout=15) == 0
    assert len(done) >= 1 and all(st == 200 and json.loads(b) == t for st, _, b in done)
    assert left == b"", "response cut after %d bytes (after %d whole ones): %r" % (
        len(left), len(done), left[:80])
