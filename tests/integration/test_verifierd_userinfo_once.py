"""Provisioning: /userinfo is called exactly once per (iss, sub), however
many tokens and requests, also concurrently, also across restarts."""

import concurrent.futures

import harness as H


def test_once_sequential(idp, verifierd):
    vd = verifierd()
    sub = H.new_sub()
    tokens = [idp.mint(idp.claims(sub=sub)) for _ in range(5)]
    users = set()
    for t in tokens + tokens[:2]:
        users.add(H.assert_accepted(vd.verify(t), sub=sub)["user"])
    assert len(users) == 1
    assert idp.userinfo_calls(sub) == 1
    c = idp.counters()
    # the token goes in the Authorization header, not in the URL as the seed did
    assert c["userinfo_header_token"] == 1 and c["userinfo_query_token"] == 0


def test_once_per_password_grant_user(idp, verifierd):
    vd = verifierd()
    u = idp.info["users"][1]
    for _ in range(3):
        H.assert_accepted(vd.verify(idp.access_token(u["email"], u["password"])),
                          sub=u["sub"], email=u["email"])
    assert idp.userinfo_calls(u["sub"]) == 1


def test_once_concurrent(idp, verifierd):
    vd = verifierd()
    sub = H.new_sub()
    # userinfo is slow, so all 20 requests arrive while the first call is
    # in flight
    idp.fault("userinfo", "delay", delay=0.7)
    tokens = [idp.mint(idp.claims(sub=sub)) for _ in range(20)]
    with concurrent.futures.ThreadPoolExecutor(20) as ex:
        results = list(ex.map(vd.verify, tokens))
    users = {H.assert_accepted(r, sub=sub)["user"] for r in results}
    assert len(users) == 1
    assert idp.userinfo_calls(sub) == 1


def test_concurrent_distinct_users(idp, verifierd):
    """Single-flight is per user: 10 new users -> 10 calls, 10 ids."""
    vd = verifierd()
    idp.fault("userinfo", "delay", delay=0.3)
    subs = [H.new_sub() for _ in range(10)]
    tokens = [idp.mint(idp.claims(sub=s)) for s in subs for _ in range(2)]
    with concurrent.futures.ThreadPoolExecutor(20) as ex:
        results = list(ex.map(vd.verify, tokens))
    ids = {}
    for r in results:
        o = H.assert_accepted(r)
        ids.setdefault(o["sub"], set()).add(o["user"])
    assert all(len(v) == 1 for v in ids.values())
    assert len({next(iter(v)) for v in ids.values()}) == 10
    c = idp.counters()
    assert all(c["userinfo_by_sub"].get(s) == 1 for s in subs), c["userinfo_by_sub"]


def test_once_across_restart(idp, verifierd, tmp_path):
    vd = verifierd(state_dir=tmp_path / "st")
    sub = H.new_sub()
    u1 = H.assert_accepted(vd.verify(idp.mint(idp.claims(sub=sub))))
    assert vd.restart() == 0
    u2 = H.assert_accepted(vd.verify(idp.mint(idp.claims(sub=sub))))
    assert u1["user"] == u2["user"]
    assert idp.userinfo_calls(sub) == 1
