"""IdP outage while keys are cached: tokens by known keys are still
accepted, promptly, whatever the JWKS endpoint does."""

import time

import pytest

import harness as H

MODES = ["500", "429", "hang", "garbage", "bigdoc", "redirect", "drop"]


@pytest.mark.parametrize("mode", MODES)
def test_known_key_accepted_during_jwks_outage(idp, verifierd, mode):
    # small TTL/cooldown so that verifierd really goes back to the IdP
    vd = verifierd("--jwks-cooldown", "1", "--jwks-min-ttl", "1", "--jwks-max-ttl", "1",
                   "--fetch-timeout", "1")
    sub = H.new_sub()
    H.assert_accepted(vd.verify(idp.mint(idp.claims(sub=sub))))
    idp.fault("jwks", mode, retry_after=1)
    idp.reset_counters()
    time.sleep(1.2)  # the cached JWKS is now past its TTL
    for _ in range(3):
        t0 = time.monotonic()
        H.assert_accepted(vd.verify(idp.mint(idp.claims(sub=sub))))
        assert time.monotonic() - t0 < 1.5, "verification waited for the IdP"
    # verifierd did try to refresh (and kept the last good keys)
    H.wait_until(lambda: idp.jwks_fetches() >= 1, timeout=3, what="a JWKS refresh attempt")
    # an unknown kid during the outage is refused or unavailable, never accepted
    rc, obj = vd.verify(H.sign_raw(idp.header(kid="unknown-during-outage"),
                                   idp.claims(sub=sub), "RS256", idp.key()))
    assert obj["outcome"] in ("rejected", "unavailable"), obj
    if obj["outcome"] == "rejected":
        assert obj["reason"] == "unknown_kid", obj
    assert idp.counters()["redirect_followed"] == 0
    idp.clear()
    H.assert_accepted(vd.verify(idp.mint(idp.claims(sub=sub))))


def test_known_user_accepted_during_full_outage(idp, verifierd):
    vd = verifierd()
    sub = H.new_sub()
    H.assert_accepted(vd.verify(idp.mint(idp.claims(sub=sub))))
    idp.fault("all", "500")
    H.assert_accepted(vd.verify(idp.mint(idp.claims(sub=sub))))
    # a user never seen before needs /userinfo: unavailable, not rejected
    obj = H.assert_unavailable(vd.verify(idp.mint(idp.claims())))
    assert obj.get("retry_after", 0) >= 0
