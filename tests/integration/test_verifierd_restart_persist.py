"""Restart of verifierd during an IdP outage: the last good JWKS and the
user table in --state-dir let it start and accept known users."""

import harness as H


def test_restart_while_idp_down(fresh_idp, verifierd, tmp_path):
    idp = fresh_idp
    state = tmp_path / "vstate"
    vd = verifierd(idp=idp, state_dir=state)
    a = idp.info["users"][0]
    ua = H.assert_accepted(vd.verify(idp.access_token(a["email"], a["password"])))
    assert vd.stop() == 0

    kid = idp.current_kid
    key = idp.key()
    port = idp.port
    assert idp.stop() == 0  # connection refused from now on

    vd.start()
    # a new token of the known user, by the known key: accepted
    tok = H.sign_raw(idp.header(kid=kid), idp.claims(sub=a["sub"]), "RS256", key)
    ub = H.assert_accepted(vd.verify(tok), sub=a["sub"], email=a["email"])
    assert ub["user"] == ua["user"]
    # a new user needs the IdP: unavailable
    newcomer = H.sign_raw(idp.header(kid=kid), idp.claims(), "RS256", key)
    H.assert_unavailable(vd.verify(newcomer))

    idp.restart()
    assert idp.port == port and idp.current_kid == kid

    def accepted():
        return vd.verify(newcomer)[0] == 0
    H.wait_until(accepted, timeout=8, interval=0.3, what="newcomer accepted after IdP is back")


def test_restart_while_idp_faulty(idp, verifierd, tmp_path):
    state = tmp_path / "vstate"
    vd = verifierd(state_dir=state)
    sub = H.new_sub()
    u1 = H.assert_accepted(vd.verify(idp.mint(idp.claims(sub=sub))))
    idp.fault("all", "500")
    assert vd.restart() == 0
    u2 = H.assert_accepted(vd.verify(idp.mint(idp.claims(sub=sub))))
    assert u1["user"] == u2["user"]
    calls = idp.userinfo_calls(sub)
    assert calls == 1, "userinfo called %d times for a persisted user" % calls


def test_restart_with_empty_state_during_outage(idp, verifierd, tmp_path):
    """Nothing persisted and the IdP down: starts anyway, unavailable."""
    idp.fault("all", "500")
    vd = verifierd("--fetch-timeout", "1", state_dir=tmp_path / "empty")
    H.assert_unavailable(vd.verify(idp.mint()))
