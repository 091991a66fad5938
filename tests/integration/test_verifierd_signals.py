"""SIGTERM exits 0 promptly (also with an IdP request in flight); SIGHUP
keeps serving."""

import signal
import threading
import time

import harness as H


def test_sigterm_idle(idp, verifierd):
    vd = verifierd()
    H.assert_accepted(vd.verify(idp.mint()))
    t0 = time.monotonic()
    vd.send_signal(signal.SIGTERM)
    assert vd.daemon.reap_expected(timeout=5) == 0
    assert time.monotonic() - t0 < 2


def test_sigterm_with_request_in_flight(idp, verifierd):
    vd = verifierd("--fetch-timeout", "30")
    idp.fault("userinfo", "hang")
    result = {}

    def client():
        try:
            result["res"] = H.run_verify(vd.socket, idp.mint(), timeout=20)
        except Exception as e:  # noqa: BLE001 - reported below
            result["err"] = e
    th = threading.Thread(target=client)
    th.start()
    H.wait_until(lambda: idp.userinfo_calls() >= 1, timeout=5, what="userinfo in flight")
    t0 = time.monotonic()
    vd.send_signal(signal.SIGTERM)
    assert vd.daemon.reap_expected(timeout=5) == 0
    assert time.monotonic() - t0 < 2
    th.join(10)
    # the waiting client got an answer that is not "accepted"
    assert "err" not in result, result["err"]
    rc, obj = result["res"]
    assert obj["outcome"] == "unavailable", obj


def test_sighup_keeps_serving(idp, verifierd):
    vd = verifierd()
    sub = H.new_sub()
    u = H.assert_accepted(vd.verify(idp.mint(idp.claims(sub=sub))))["user"]
    pid = vd.daemon.pid
    for _ in range(3):
        vd.send_signal(signal.SIGHUP)
        time.sleep(0.1)
        assert H.assert_accepted(vd.verify(idp.mint(idp.claims(sub=sub))))["user"] == u
    assert vd.daemon.pid == pid and vd.daemon.alive()
    H.assert_rejected(vd.verify(idp.mint(idp.claims(exp=int(time.time()) - 3600))),
                      "expired")


def test_sighup_storm(idp, verifierd):
    vd = verifierd()
    for _ in range(20):
        vd.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    H.assert_accepted(vd.verify(idp.mint()))


def test_unreachable_socket(tmp_path):
    H.require(H.TODO_VERIFY)
    rc, obj = H.run_verify(str(tmp_path / "nothing.sock"), "x.y.z")
    assert rc == 2 and obj["outcome"] == "unavailable" and obj["reason"] == "unavailable"
