"""RFC 8725 attack classes against one verifierd.  Every case builds the
attack token and its accepted twin with the same code, the same key and the
same claims; exactly one thing differs."""

import base64
import json
import time

import pytest

import harness as H

MAL = ("malformed",)
KID = ("unknown_kid", "malformed")
CLAIMS = ("claims",)
CLAIMS_OR_MAL = ("claims", "malformed")


@pytest.fixture(scope="module")
def mvd(verifierd_module):
    return verifierd_module()


def rs256(idp, header, claims):
    return H.sign_raw(header, claims, "RS256", idp.key())


def pair_claims(idp, attack_over, twin_over=None, header=None):
    """Same header and key; claims differ only by attack_over/twin_over."""
    base = idp.claims()
    bad = dict(base)
    good = dict(base)
    for d, over in ((bad, attack_over), (good, twin_over or {})):
        for k, v in over.items():
            if v is None:
                d.pop(k, None)
            else:
                d[k] = v
    h = header or idp.header()
    return rs256(idp, h, bad), rs256(idp, h, good)


def pair_header(idp, attack_over, key=None, alg="RS256"):
    """Same claims and key; header differs by attack_over."""
    claims = idp.claims()
    bad_h = idp.header(**attack_over)
    bad = H.sign_raw(bad_h, claims, alg, key or idp.key())
    return bad, rs256(idp, idp.header(), claims)


def pair_raw(idp, bad_header_text, good_header_text, bad_claims_text, good_claims_text):
    return (H.sign_raw(bad_header_text, bad_claims_text, "RS256", idp.key()),
            H.sign_raw(good_header_text, good_claims_text, "RS256", idp.key()))


# -- alg ------------------------------------------------------------------

def alg_none(variant, keep_sig=False):
    def build(idp):
        claims = idp.claims()
        h = idp.header(alg=variant)
        if keep_sig:
            bad = H.sign_raw(h, claims, "RS256", idp.key())
        else:
            bad = H.sign_raw(h, claims, "none")
        return bad, rs256(idp, idp.header(), claims)
    return build


def hmac_with_public(form):
    def build(idp):
        from cryptography.hazmat.primitives import serialization as ser
        pub = idp.key().public_key()
        secret = {
            "spki_pem": pub.public_bytes(ser.Encoding.PEM,
                                         ser.PublicFormat.SubjectPublicKeyInfo),
            "pkcs1_pem": pub.public_bytes(ser.Encoding.PEM, ser.PublicFormat.PKCS1),
            "spki_der": pub.public_bytes(ser.Encoding.DER,
                                         ser.PublicFormat.SubjectPublicKeyInfo),
            "jwk_json": json.dumps(H.public_jwk(pub, idp.current_kid)).encode(),
            "modulus": pub.public_numbers().n.to_bytes(256, "big"),
        }[form]
        claims = idp.claims()
        bad = H.sign_raw(idp.header(alg="HS256"), claims, "HS256", secret=secret)
        return bad, rs256(idp, idp.header(), claims)
    return build


def other_alg_same_key(alg):
    def build(idp):
        claims = idp.claims()
        bad = H.sign_raw(idp.header(alg=alg), claims, alg, idp.key())
        return bad, rs256(idp, idp.header(), claims)
    return build


def alg_missing(idp):
    return pair_header(idp, {"alg": None})


def alg_es256_header(idp):
    return pair_header(idp, {"alg": "ES256"})


# -- keys -------------------------------------------------------------------

def foreign_key_known_kid(idp):
    claims = idp.claims()
    bad = H.sign_raw(idp.header(), claims, "RS256", H.new_rsa_key(cached="attacker"))
    return bad, rs256(idp, idp.header(), claims)


def tampered_payload(idp):
    claims = idp.claims()
    good = rs256(idp, idp.header(), claims)
    h, p, s = good.split(".")
    evil = dict(claims, sub="auth0|admin")
    return "%s.%s.%s" % (h, H.b64u(json.dumps(evil, separators=(",", ":"))), s), good


def signature_variant(kind):
    def build(idp):
        good = rs256(idp, idp.header(), idp.claims())
        h, p, s = good.split(".")
        sig = base64.urlsafe_b64decode(s + "==")
        bad_sig = {
            "empty": "",
            "truncated": H.b64u(sig[:-1]),
            "zeros": H.b64u(bytes(len(sig))),
            "flipped": H.b64u(sig[:-1] + bytes([sig[-1] ^ 1])),
            "longer": H.b64u(b"\x00" + sig),
        }[kind]
        return "%s.%s.%s" % (h, p, bad_sig), good
    return build


def embedded_jwk(kid_choice):
    def build(idp):
        attacker = H.new_rsa_key(cached="attacker")
        kid = idp.current_kid if kid_choice == "known" else "attacker-jwk"
        claims = idp.claims()
        bad = H.sign_raw(idp.header(kid=kid, jwk=H.public_jwk(attacker, kid)), claims,
                         "RS256", attacker)
        return bad, rs256(idp, idp.header(), claims)
    return build


def jku_header(kid_choice):
    def build(idp):
        attacker = H.new_rsa_key(cached="attacker")
        kid = idp.current_kid if kid_choice == "known" else "attacker-jku"
        url = idp.host("/attacker/jwks.json", {"keys": [H.public_jwk(attacker, kid)]})
        claims = idp.claims()
        bad = H.sign_raw(idp.header(kid=kid, jku=url), claims, "RS256", attacker)
        return bad, rs256(idp, idp.header(), claims)
    return build


def x5u_header(idp):
    attacker = H.new_rsa_key(cached="attacker")
    der = H.self_signed_der(attacker)
    pem = "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % (
        base64.encodebytes(der).decode().strip())
    url = idp.host("/attacker/cert.pem", pem, "application/pem-certificate-chain")
    claims = idp.claims()
    bad = H.sign_raw(idp.header(kid="attacker-x5u", x5u=url), claims, "RS256", attacker)
    return bad, rs256(idp, idp.header(), claims)


def x5c_header(kid_choice):
    def build(idp):
        attacker = H.new_rsa_key(cached="attacker")
        der = H.self_signed_der(attacker)
        kid = idp.current_kid if kid_choice == "known" else None
        claims = idp.claims()
        h = idp.header(kid=kid, x5c=[base64.b64encode(der).decode()])
        if kid is None:
            h.pop("kid")
        bad = H.sign_raw(h, claims, "RS256", attacker)
        return bad, rs256(idp, idp.header(), claims)
    return build


def kid_value(value):
    def build(idp):
        v = value(idp) if callable(value) else value
        claims = idp.claims()
        h = idp.header()
        h["kid"] = v
        return rs256(idp, h, claims), rs256(idp, idp.header(), claims)
    return build


# -- crit -----------------------------------------------------------------------

def crit(extra):
    def build(idp):
        return pair_header(idp, extra)
    return build


# -- strict JSON ---------------------------------------------------------------

def _hdr_text(idp, *pairs):
    return "{" + ",".join('"%s":%s' % (k, json.dumps(v)) for k, v in pairs) + "}"


def dup_header(idp):
    kid = idp.current_kid
    bad = _hdr_text(idp, ("alg", "none"), ("typ", "JWT"), ("kid", kid), ("alg", "RS256"))
    good = _hdr_text(idp, ("typ", "JWT"), ("kid", kid), ("alg", "RS256"))
    c = json.dumps(idp.claims())
    return pair_raw(idp, bad, good, c, c)


def dup_header_kid(idp):
    kid = idp.current_kid
    bad = _hdr_text(idp, ("alg", "RS256"), ("kid", "bogus"), ("kid", kid))
    good = _hdr_text(idp, ("alg", "RS256"), ("kid", kid))
    c = json.dumps(idp.claims())
    return pair_raw(idp, bad, good, c, c)


def dup_claim(name, first):
    def build(idp):
        claims = idp.claims()
        items = list(claims.items())
        first_val = first(idp) if callable(first) else first
        bad = "{" + '"%s":%s,' % (name, json.dumps(first_val)) + \
              ",".join('"%s":%s' % (k, json.dumps(v)) for k, v in items) + "}"
        good = "{" + ",".join('"%s":%s' % (k, json.dumps(v)) for k, v in items) + "}"
        h = json.dumps(idp.header())
        return pair_raw(idp, h, h, bad, good)
    return build


def json_oddity(kind):
    def build(idp):
        good = json.dumps(idp.claims())
        bad = {
            "trailing_garbage": good + " x",
            "two_objects": good + good,
            "trailing_comma": good[:-1] + ",}",
            "nan": good[:-1] + ',"x":NaN}',
            "comment": good[:-1] + ' /* c */}',
            "bom": "\ufeff" + good,
            "array": "[" + good + "]",
            "single_quotes": good.replace('"iss"', "'iss'"),
            "bad_utf8": good.encode()[:-1] + b',"x":"\xff\xfe"}',
            "nul_in_sub": good.replace('"sub": "', '"sub": "auth0|admin\\u0000', 1),
        }[kind]
        h = json.dumps(idp.header())
        return pair_raw(idp, h, h, bad, good)
    return build


# -- strict base64url -------------------------------------------------------

def _padded_claims(idp, want_mod):
    """Claims whose JSON length % 3 == want_mod (so that base64 pads)."""
    c = idp.claims()
    pad = ""
    while True:
        c["x"] = pad
        t = json.dumps(c, separators=(",", ":"))
        if len(t.encode()) % 3 == want_mod:
            return t
        pad += "a"


def b64_padding(segment):
    def build(idp):
        header = json.dumps(idp.header(), separators=(",", ":"))
        claims = _padded_claims(idp, 1)
        good = rs256(idp, header, claims)
        h, p, s = good.split(".")
        if segment == "signature":
            return "%s.%s.%s==" % (h, p, s), good
        hp = h + "==" if len(h) % 4 == 2 else h + ("=" if len(h) % 4 == 3 else "")
        pp = p + "=="
        if segment == "header":
            if hp == h:
                pytest.skip("header length needs no padding")
            signing = "%s.%s" % (hp, p)
        else:
            signing = "%s.%s" % (h, pp)
        sig = H.b64u(idp.key().sign(signing.encode(), *_pkcs1()))
        return signing + "." + sig, good
    return build


def _pkcs1():
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    return padding.PKCS1v15(), hashes.SHA256()


def b64_std_alphabet(idp):
    """Payload encoded with '+'/'/' instead of '-'/'_', signed as presented."""
    n = 0
    while True:
        c = idp.claims(x="?" * n + ">" * n)
        t = json.dumps(c, separators=(",", ":")).encode()
        url = H.b64u(t)
        if "-" in url or "_" in url:
            break
        n += 1
    std = base64.b64encode(t).rstrip(b"=").decode()
    h = H.b64u(json.dumps(idp.header(), separators=(",", ":")))
    out = []
    for p in (std, url):
        signing = "%s.%s" % (h, p)
        out.append(signing + "." + H.b64u(idp.key().sign(signing.encode(), *_pkcs1())))
    return tuple(out)


def structure(kind):
    def build(idp):
        good = rs256(idp, idp.header(), idp.claims())
        h, p, s = good.split(".")
        bad = {
            "two_parts": "%s.%s" % (h, p),
            "four_parts": "%s.%s.%s.%s" % (h, p, s, s),
            "five_parts_jwe": "%s.%s.%s.%s.%s" % (h, "", p, "", s),
            "empty_header": ".%s.%s" % (p, s),
            "empty_payload": "%s..%s" % (h, s),
            "newline": "%s.%s\n.%s" % (h, p, s),
            "star": "%s.%s*.%s" % (h, p, s),
            "dot_only": "..",
            "huge": "%s.%s.%s" % (h, "A" * 20000, s),
        }[kind]
        return bad, good
    return build


# -- claims -------------------------------------------------------------------

def now():
    return int(time.time())


def claim_case(attack, twin=None):
    def build(idp):
        a = {k: (v(idp) if callable(v) else v) for k, v in attack.items()}
        t = {k: (v(idp) if callable(v) else v) for k, v in (twin or {}).items()}
        return pair_claims(idp, a, t)
    return build


def big_claim(idp):
    return pair_claims(idp, {"x": "z" * 9000}, {"x": "z" * 100})


CASES = {
    # alg
    "alg_none": (alg_none("none"), MAL),
    "alg_None": (alg_none("None"), MAL),
    "alg_NONE": (alg_none("NONE"), MAL),
    "alg_none_with_rsa_sig": (alg_none("none", keep_sig=True), MAL),
    "alg_missing": (alg_missing, MAL),
    "alg_ES256_rsa_key": (alg_es256_header, MAL),
    "hs256_spki_pem": (hmac_with_public("spki_pem"), MAL),
    "hs256_pkcs1_pem": (hmac_with_public("pkcs1_pem"), MAL),
    "hs256_spki_der": (hmac_with_public("spki_der"), MAL),
    "hs256_jwk_json": (hmac_with_public("jwk_json"), MAL),
    "hs256_modulus": (hmac_with_public("modulus"), MAL),
    "rs384_not_allowed": (other_alg_same_key("RS384"), MAL),
    "rs512_not_allowed": (other_alg_same_key("RS512"), MAL),
    "ps256_not_allowed": (other_alg_same_key("PS256"), MAL),
    # keys and signatures
    "foreign_key_known_kid": (foreign_key_known_kid, MAL),
    "tampered_payload": (tampered_payload, MAL),
    "sig_empty": (signature_variant("empty"), MAL),
    "sig_truncated": (signature_variant("truncated"), MAL),
    "sig_zeros": (signature_variant("zeros"), MAL),
    "sig_flipped": (signature_variant("flipped"), MAL),
    "sig_longer": (signature_variant("longer"), MAL),
    "jwk_header_known_kid": (embedded_jwk("known"), KID),
    "jwk_header_new_kid": (embedded_jwk("new"), KID),
    "jku_header_known_kid": (jku_header("known"), KID),
    "jku_header_new_kid": (jku_header("new"), KID),
    "x5u_header": (x5u_header, KID),
    "x5c_header_known_kid": (x5c_header("known"), KID),
    "x5c_header_no_kid": (x5c_header("none"), KID),
    "kid_path_traversal": (kid_value("../../etc/passwd"), KID),
    "kid_dev_null": (kid_value("/dev/null"), KID),
    "kid_sql_quote": (kid_value("' OR '1'='1"), KID),
    "kid_sql_drop": (kid_value("x'; DROP TABLE keys; --"), KID),
    "kid_known_plus_nul": (kid_value(lambda idp: idp.current_kid + "\u0000junk"), KID),
    "kid_known_plus_space": (kid_value(lambda idp: idp.current_kid + " "), KID),
    "kid_known_prefix": (kid_value(lambda idp: idp.current_kid[:-1]), KID),
    "kid_empty": (kid_value(""), KID),
    "kid_long": (kid_value("k" * 4000), KID),
    "kid_number": (kid_value(1), KID),
    "kid_null": (kid_value(None), KID),
    "kid_list": (kid_value(lambda idp: [idp.current_kid]), KID),
    "kid_object": (kid_value(lambda idp: {"kid": idp.current_kid}), KID),
    # crit
    "crit_unknown": (crit({"crit": ["x-custom"], "x-custom": 1}), MAL),
    "crit_b64_false": (crit({"crit": ["b64"], "b64": False}), MAL),
    "crit_empty_list": (crit({"crit": []}), MAL),
    "crit_not_list": (crit({"crit": "x-custom", "x-custom": 1}), MAL),
    "crit_standard_name": (crit({"crit": ["alg"]}), MAL),
    # strict JSON
    "dup_header_alg": (dup_header, MAL),
    "dup_header_kid": (dup_header_kid, MAL),
    "dup_claim_sub": (dup_claim("sub", "auth0|admin"), MAL),
    "dup_claim_aud": (dup_claim("aud", "https://other.example/api"), MAL),
    "dup_claim_exp": (dup_claim("exp", lambda idp: now() - 3600), MAL),
    "dup_claim_iss": (dup_claim("iss", "https://evil.example/"), MAL),
    "json_trailing_garbage": (json_oddity("trailing_garbage"), MAL),
    "json_two_objects": (json_oddity("two_objects"), MAL),
    "json_trailing_comma": (json_oddity("trailing_comma"), MAL),
    "json_nan": (json_oddity("nan"), MAL),
    "json_comment": (json_oddity("comment"), MAL),
    "json_bom": (json_oddity("bom"), MAL),
    "json_array": (json_oddity("array"), MAL),
    "json_single_quotes": (json_oddity("single_quotes"), MAL),
    "json_bad_utf8": (json_oddity("bad_utf8"), MAL),
    "json_nul_in_sub": (json_oddity("nul_in_sub"), MAL + CLAIMS),
    # strict base64url and structure
    "b64_padding_header": (b64_padding("header"), MAL),
    "b64_padding_payload": (b64_padding("payload"), MAL),
    "b64_padding_signature": (b64_padding("signature"), MAL),
    "b64_std_alphabet": (b64_std_alphabet, MAL),
    "two_parts": (structure("two_parts"), MAL),
    "four_parts": (structure("four_parts"), MAL),
    "five_parts_jwe": (structure("five_parts_jwe"), MAL),
    "empty_header": (structure("empty_header"), MAL),
    "empty_payload": (structure("empty_payload"), MAL),
    "newline_inside": (structure("newline"), MAL),
    "bad_char": (structure("star"), MAL),
    "dots_only": (structure("dot_only"), MAL),
    "oversized": (structure("huge"), MAL),
    "oversized_claim": (big_claim, MAL),
    # claims
    "exp_missing": (claim_case({"exp": None}), CLAIMS_OR_MAL),
    "exp_string": (claim_case({"exp": lambda idp: str(now() + 3600)}), CLAIMS_OR_MAL),
    "exp_bool": (claim_case({"exp": True}), CLAIMS_OR_MAL),
    "exp_list": (claim_case({"exp": lambda idp: [now() + 3600]}), CLAIMS_OR_MAL),
    "expired": (claim_case({"exp": lambda idp: now() - 3600}), ("expired",)),
    "nbf_future": (claim_case({"nbf": lambda idp: now() + 3600},
                              {"nbf": lambda idp: now() - 60}), CLAIMS_OR_MAL),
    "nbf_string": (claim_case({"nbf": lambda idp: str(now() - 60)},
                              {"nbf": lambda idp: now() - 60}), CLAIMS_OR_MAL),
    "iat_future": (claim_case({"iat": lambda idp: now() + 3600}), CLAIMS_OR_MAL),
    "iss_wrong": (claim_case({"iss": "https://evil.example/"}), CLAIMS),
    "iss_no_slash": (claim_case({"iss": lambda idp: idp.issuer.rstrip("/")}), CLAIMS),
    "iss_http": (claim_case({"iss": lambda idp: idp.issuer.replace("https", "http")}),
                 CLAIMS),
    "iss_double_slash": (claim_case({"iss": lambda idp: idp.issuer + "/"}), CLAIMS),
    "iss_missing": (claim_case({"iss": None}), CLAIMS_OR_MAL),
    "iss_number": (claim_case({"iss": 1}), CLAIMS_OR_MAL),
    "aud_wrong": (claim_case({"aud": "https://other.example/api"},
                             {"aud": lambda idp: idp.audience}), CLAIMS),
    "aud_list_without_ours": (
        claim_case({"aud": lambda idp: ["https://other.example/api", idp.issuer + "userinfo"]},
                   {"aud": lambda idp: [idp.issuer + "userinfo", idp.audience]}), CLAIMS),
    "aud_suffix": (claim_case({"aud": lambda idp: idp.audience + "/"}), CLAIMS),
    "aud_prefix": (claim_case({"aud": lambda idp: idp.audience[:-1]}), CLAIMS),
    "aud_userinfo_only": (claim_case({"aud": lambda idp: idp.issuer + "userinfo"}), CLAIMS),
    "aud_missing": (claim_case({"aud": None}), CLAIMS_OR_MAL),
    "aud_empty_list": (claim_case({"aud": []}), CLAIMS_OR_MAL),
    "aud_number": (claim_case({"aud": 1}), CLAIMS_OR_MAL),
    "sub_missing": (claim_case({"sub": None}), CLAIMS_OR_MAL),
    "sub_empty": (claim_case({"sub": ""}), CLAIMS_OR_MAL),
    "sub_number": (claim_case({"sub": 42}), CLAIMS_OR_MAL),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_attack_rejected_twin_accepted(idp, mvd, case):
    build, reasons = CASES[case]
    bad, good = build(idp)
    assert bad != good
    H.assert_rejected(mvd.verify(bad), *reasons)
    H.assert_accepted(mvd.verify(good))
    # nothing token-controlled was ever fetched
    c = idp.counters()
    assert c["hosted"] == {} and c["not_found"] == 0, c
    assert c["redirect_followed"] == 0


def test_algorithms_option_does_not_override_jwk_alg(idp, verifierd):
    """With PS256 allowlisted, a PS256 token by a key published with
    alg=RS256 is still refused (the JWK's alg must fit the token's)."""
    vd = verifierd("--algorithms", "RS256,PS256")
    claims = idp.claims()
    bad = H.sign_raw(idp.header(alg="PS256"), claims, "PS256", idp.key())
    good = H.sign_raw(idp.header(), claims, "RS256", idp.key())
    H.assert_rejected(vd.verify(bad), "malformed")
    H.assert_accepted(vd.verify(good))


def test_pyjwt_minted_token_accepted(idp, mvd):
    """Sanity: PyJWT's own encoding (sorted header) is accepted too."""
    H.assert_accepted(mvd.verify(idp.mint()))
