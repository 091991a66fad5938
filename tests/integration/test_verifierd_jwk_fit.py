"""A JWK must fit the token: kty/alg/use of the published key decide, not
the token header.  Junk entries in the JWKS do not hide good keys."""


import pytest

import harness as H


def start_with_extra(idp, verifierd, extra):
    idp.extra_jwks(extra)
    return verifierd()


def same_key_as(idp, kid, **over):
    return H.public_jwk(idp.key(), kid, **over)


CASES = {
    # name: (JWK overrides for the attack kid, expected reasons)
    "use_enc": ({"use": "enc"}, ("malformed", "unknown_kid")),
    "alg_RS512": ({"alg": "RS512"}, ("malformed", "unknown_kid")),
    "alg_HS256": ({"alg": "HS256"}, ("malformed", "unknown_kid")),
    "kty_EC": ({"kty": "EC"}, ("malformed", "unknown_kid")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_jwk_must_fit(idp, verifierd, case):
    over, reasons = CASES[case]
    vd = start_with_extra(idp, verifierd, [
        same_key_as(idp, "attack-" + case, **over),
        same_key_as(idp, "twin-" + case),
    ])
    claims = idp.claims()
    bad = H.sign_raw(idp.header(kid="attack-" + case), claims, "RS256", idp.key())
    good = H.sign_raw(idp.header(kid="twin-" + case), claims, "RS256", idp.key())
    H.assert_rejected(vd.verify(bad), *reasons)
    H.assert_accepted(vd.verify(good))


def test_oct_key_in_jwks_does_not_enable_hmac(idp, verifierd):
    secret = b"jwks-published-secret"
    vd = start_with_extra(idp, verifierd, [
        {"kty": "oct", "kid": "hmac", "k": H.b64u(secret), "alg": "HS256", "use": "sig"}])
    claims = idp.claims()
    bad = H.sign_raw({"alg": "HS256", "typ": "JWT", "kid": "hmac"}, claims, "HS256",
                     secret=secret)
    H.assert_rejected(vd.verify(bad), "malformed", "unknown_kid")
    H.assert_accepted(vd.verify(H.sign_raw(idp.header(), claims, "RS256", idp.key())))


def test_junk_entries_do_not_hide_good_keys(idp, verifierd):
    junk = [
        {"kty": "RSA", "kid": "no-n", "e": "AQAB", "use": "sig", "alg": "RS256"},
        {"kty": "RSA", "kid": "bad-b64", "n": "!!!", "e": "AQAB", "use": "sig"},
        {"kty": "RSA", "kid": 7, "n": "AQAB", "e": "AQAB"},
        {"kty": "FOO", "kid": "foo"},
        "not-an-object",
        {"kid": "no-kty"},
    ]
    vd = start_with_extra(idp, verifierd, junk)
    H.assert_accepted(vd.verify(idp.mint()))
    H.assert_rejected(vd.verify(H.sign_raw(idp.header(kid="no-n"), idp.claims(), "RS256",
                                           idp.key())), "malformed", "unknown_kid")


def test_weak_rsa_key_refused(idp, verifierd):
    """A 1024-bit RSA key published in the JWKS is not good enough."""
    weak = H.new_rsa_key(1024, cached="weak")
    vd = start_with_extra(idp, verifierd, [H.public_jwk(weak, "weak"),
                                           same_key_as(idp, "strong")])
    claims = idp.claims()
    H.assert_rejected(vd.verify(H.sign_raw(idp.header(kid="weak"), claims, "RS256", weak)),
                      "malformed", "unknown_kid")
    H.assert_accepted(vd.verify(H.sign_raw(idp.header(kid="strong"), claims, "RS256",
                                           idp.key())))
