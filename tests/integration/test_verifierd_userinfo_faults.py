"""/userinfo failing: 429 with Retry-After gives "unavailable" with
retry_after (and verifierd honours it), other failures give "unavailable";
once the IdP is fine again the user is accepted."""

import time

import pytest

import harness as H


def test_userinfo_429_retry_after(idp, verifierd):
    vd = verifierd()
    sub = H.new_sub()
    idp.fault("userinfo", "429", retry_after=2)
    t0 = time.monotonic()
    obj = H.assert_unavailable(vd.verify(idp.mint(idp.claims(sub=sub))))
    assert isinstance(obj.get("retry_after"), int), obj
    assert 1 <= obj["retry_after"] <= 2, obj
    # more requests inside the Retry-After window do not hit the IdP again
    for _ in range(4):
        H.assert_unavailable(vd.verify(idp.mint(idp.claims(sub=sub))))
    assert idp.userinfo_calls(sub) == 1
    idp.clear()
    tok = idp.mint(idp.claims(sub=sub))

    def accepted():
        return vd.verify(tok)[0] == 0
    H.wait_until(accepted, timeout=5, interval=0.2, what="accepted after Retry-After")
    # whole-second clocks may shorten the wait by up to a second
    assert time.monotonic() - t0 >= 0.9, "Retry-After was not honoured"
    assert idp.userinfo_calls(sub) == 2
    # a twin user created after the fault is accepted straight away
    H.assert_accepted(vd.verify(idp.mint(idp.claims())))


@pytest.mark.parametrize("mode", ["500", "garbage", "bigdoc", "redirect", "hang", "drop"])
def test_userinfo_failure_unavailable(idp, verifierd, mode):
    vd = verifierd("--fetch-timeout", "1")
    sub = H.new_sub()
    idp.fault("userinfo", mode)
    t0 = time.monotonic()
    H.assert_unavailable(vd.verify(idp.mint(idp.claims(sub=sub))))
    assert time.monotonic() - t0 < 3
    assert idp.counters()["redirect_followed"] == 0
    idp.clear()
    tok = idp.mint(idp.claims(sub=sub))
    H.wait_until(lambda: vd.verify(tok)[0] == 0, timeout=6, interval=0.3,
                 what="accepted after the fault")


def test_userinfo_401_is_not_an_identity(idp, verifierd):
    """userinfo refusing the token (it was signed by a key the IdP no longer
    honours for userinfo) never yields an accepted user."""
    vd = verifierd()
    idp.settings(userinfo_strict=True)
    claims = idp.claims(aud=idp.audience)  # no userinfo audience
    rc, obj = vd.verify(idp.mint(claims))
    assert obj["outcome"] != "accepted", obj
