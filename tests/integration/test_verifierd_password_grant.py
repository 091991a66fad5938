"""The seed's flow: a password-grant access_token is accepted; the id_token
from the same answer is not (its aud is the client id)."""

import jwt

import harness as H


def test_access_token_accepted(idp, verify):
    tok = idp.tokens()
    claims = jwt.decode(tok["access_token"], options={"verify_signature": False})
    user = idp.info["users"][0]
    obj = H.assert_accepted(verify(tok["access_token"]), sub=user["sub"],
                            email=user["email"])
    assert obj["iss"] == idp.issuer
    assert obj["exp"] == claims["exp"]
    assert obj["scope"] == claims["scope"] == "openid profile email"
    assert obj["user"] > 0
    # again (verification cache) and with a new token: same local user
    assert H.assert_accepted(verify(tok["access_token"]))["user"] == obj["user"]
    assert H.assert_accepted(verify(idp.access_token()))["user"] == obj["user"]


def test_id_token_rejected_access_token_twin(idp, verify):
    tok = idp.tokens()
    H.assert_accepted(verify(tok["access_token"]))
    H.assert_rejected(verify(tok["id_token"]), "claims")


def test_two_users_two_ids(idp, verify):
    a, b = idp.info["users"][:2]
    ua = H.assert_accepted(verify(idp.access_token(a["email"], a["password"])),
                           sub=a["sub"], email=a["email"])
    ub = H.assert_accepted(verify(idp.access_token(b["email"], b["password"])),
                           sub=b["sub"], email=b["email"])
    assert ua["user"] != ub["user"]


def test_bearer_prefix_is_not_part_of_the_token(idp, verify):
    tok = idp.access_token()
    H.assert_accepted(verify(tok))
    H.assert_rejected(verify("Bearer " + tok), "malformed")
