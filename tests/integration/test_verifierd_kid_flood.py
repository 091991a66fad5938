"""Unknown-kid flood: 200 tokens with made-up kids cause at most one or two
JWKS fetches within the refetch cooldown; valid tokens keep working."""

import uuid

import harness as H


def test_unknown_kid_flood(idp, verifierd):
    vd = verifierd("--jwks-cooldown", "30")
    claims = idp.claims()
    H.assert_accepted(vd.verify(H.sign_raw(idp.header(), claims, "RS256", idp.key())))
    idp.reset_counters()
    tokens = [H.sign_raw(idp.header(kid="made-up-" + uuid.uuid4().hex), claims, "RS256",
                         idp.key()) for _ in range(200)]
    results = vd.verify_many(tokens, parallel=8)
    for res in results:
        H.assert_rejected(res, "unknown_kid")
    fetches = idp.jwks_fetches()
    assert fetches <= 2, "%d JWKS fetches for 200 unknown kids" % fetches
    # the twin: same claims, the real kid -> still accepted, no new fetch
    H.assert_accepted(vd.verify(H.sign_raw(idp.header(), idp.claims(sub=claims["sub"]),
                                           "RS256", idp.key())))
    assert idp.jwks_fetches() == fetches
