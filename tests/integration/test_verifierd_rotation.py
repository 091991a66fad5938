"""Key rotation: a new kid is picked up by a refetch; a key dropped from the
JWKS stops working once the cached JWKS expires (small --jwks-max-ttl)."""

import time

import jwt

import harness as H


def test_new_kid_accepted_after_refetch(fresh_idp, verifierd):
    idp = fresh_idp
    vd = verifierd("--jwks-cooldown", "1", idp=idp)
    started = time.monotonic()
    old_tok = idp.access_token()
    H.assert_accepted(vd.verify(old_tok))
    old_kid = idp.current_kid

    rot = idp.rotate()
    new_tok = idp.access_token()
    assert jwt.get_unverified_header(new_tok)["kid"] == rot["kid"] != old_kid
    # let the unknown-kid cooldown since the start-up fetch pass
    time.sleep(max(0, 1.2 - (time.monotonic() - started)))
    before = idp.jwks_fetches()
    H.assert_accepted(vd.verify(new_tok))
    assert idp.jwks_fetches() == before + 1
    # both keys are published: the old one still works, without a fetch
    H.assert_accepted(vd.verify(idp.mint(kid=old_kid)))
    H.assert_accepted(vd.verify(idp.mint(kid=rot["kid"])))
    assert idp.jwks_fetches() == before + 1


def test_dropped_key_rejected_after_ttl(fresh_idp, verifierd):
    idp = fresh_idp
    vd = verifierd("--jwks-cooldown", "1", "--jwks-min-ttl", "1", "--jwks-max-ttl", "1",
                   idp=idp)
    old_kid = idp.current_kid
    sub = H.new_sub()
    H.assert_accepted(vd.verify(idp.mint(idp.claims(sub=sub), kid=old_kid)))

    rot = idp.rotate(drop_old=True)
    assert rot["dropped"] == [old_kid]
    # the twin: same claims shape, the new (published) key -> accepted
    H.assert_accepted(vd.verify(idp.mint(idp.claims(sub=sub), kid=rot["kid"])))

    # a fresh token (new jti) by the dropped key: refused once the cache
    # (max 1 s) has been refreshed
    def refused():
        rc, obj = vd.verify(idp.mint(idp.claims(sub=sub), kid=old_kid))
        return rc == 1 and obj["reason"] == "unknown_kid"
    H.wait_until(refused, timeout=4, interval=0.2, what="dropped kid refused")
    # and it stays refused, while the new key keeps working
    H.assert_rejected(vd.verify(idp.mint(idp.claims(sub=sub), kid=old_kid)),
                      "unknown_kid")
    H.assert_accepted(vd.verify(idp.mint(idp.claims(sub=sub), kid=rot["kid"])))


def test_previously_accepted_token_after_drop(fresh_idp, verifierd):
    """A token accepted before its key was dropped: report what happens.
    The verification cache must not outlive the key's removal."""
    idp = fresh_idp
    vd = verifierd("--jwks-cooldown", "1", "--jwks-min-ttl", "1", "--jwks-max-ttl", "1",
                   idp=idp)
    tok = idp.mint(kid=idp.current_kid)
    H.assert_accepted(vd.verify(tok))
    idp.rotate(drop_old=True)

    def refused():
        rc, obj = vd.verify(tok)
        return rc == 1
    H.wait_until(refused, timeout=4, interval=0.2,
                 what="cached token of a dropped key refused")
