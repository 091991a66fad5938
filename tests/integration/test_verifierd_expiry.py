"""exp is enforced also for tokens in the verification cache; --leeway."""

import time

import harness as H


def test_cached_token_expires(idp, verifierd):
    vd = verifierd("--leeway", "0")
    exp = int(time.time()) + 2
    tok = idp.mint(idp.claims(exp=exp))
    obj = H.assert_accepted(vd.verify(tok))
    assert obj["exp"] == exp
    time.sleep(max(0, exp - time.time()) + 0.2)
    H.assert_rejected(vd.verify(tok), "expired")


def test_leeway(idp, verifierd):
    vd = verifierd("--leeway", "30")
    now = int(time.time())
    sub = H.new_sub()
    # provision the user first: the IdP's /userinfo (like Auth0's) refuses
    # tokens that are expired or not yet valid, whatever verifierd's leeway
    H.assert_accepted(vd.verify(idp.mint(idp.claims(sub=sub))))
    H.assert_accepted(vd.verify(idp.mint(idp.claims(sub=sub, exp=now - 10))))
    H.assert_rejected(vd.verify(idp.mint(idp.claims(sub=sub, exp=now - 60))), "expired")
    H.assert_accepted(vd.verify(idp.mint(idp.claims(sub=sub, nbf=now + 10))))
    rc, obj = vd.verify(idp.mint(idp.claims(sub=sub, nbf=now + 120)))
    assert rc == 1, obj
