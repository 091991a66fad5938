"""verifierd starting while the JWKS endpoint misbehaves and nothing is
cached: it starts, answers "unavailable" (never accepts, never crashes), and
recovers once the IdP does."""

import time

import pytest

import harness as H

CASES = {
    "500": {},
    "429": {"retry_after": 1},
    "garbage": {},
    "bigdoc_jsonl": {"mode": "bigdoc", "size": 16 << 20},
    "bigdoc_valid_json": {"mode": "bigdoc", "size": 8 << 20, "shape": "json"},
    "redirect": {},
    "hang": {},
    "drop": {},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_start_without_keys(idp, verifierd, case):
    params = dict(CASES[case])
    mode = params.pop("mode", case)
    idp.fault("jwks", mode, **params)
    vd = verifierd("--jwks-cooldown", "1", "--fetch-timeout", "1")
    tok = idp.mint()
    t0 = time.monotonic()
    obj = H.assert_unavailable(vd.verify(tok))
    assert time.monotonic() - t0 < 3
    assert isinstance(obj.get("retry_after"), int) and obj["retry_after"] >= 0, obj
    assert idp.counters()["redirect_followed"] == 0
    idp.clear()

    def accepted():
        rc, o = vd.verify(tok)
        return rc == 0
    H.wait_until(accepted, timeout=6, interval=0.3, what="recovery after the fault")
    assert idp.counters()["redirect_followed"] == 0
