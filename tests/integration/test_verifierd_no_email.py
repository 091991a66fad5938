"""A user whose /userinfo has no email is refused with the seed's
"Invalid token headers"; a user with an email, built the same way, is not."""

import harness as H


def test_minted_user_without_email(idp, verifierd):
    vd = verifierd()
    bad_sub, good_sub = H.new_sub(), H.new_sub()
    idp.add_user(sub=bad_sub, no_email=True)
    idp.add_user(sub=good_sub, email="has-email@example.com")
    H.assert_rejected(vd.verify(idp.mint(idp.claims(sub=bad_sub))), "no_email")
    H.assert_accepted(vd.verify(idp.mint(idp.claims(sub=good_sub))),
                      email="has-email@example.com")


def test_password_user_without_email(idp, verifierd):
    vd = verifierd()
    idp.add_user(email="noemail@example.com", password="pw1", no_email=True)
    idp.add_user(email="email@example.com", password="pw2")
    H.assert_rejected(vd.verify(idp.access_token("noemail@example.com", "pw1")), "no_email")
    H.assert_accepted(vd.verify(idp.access_token("email@example.com", "pw2")),
                      email="email@example.com")


def test_not_provisioned_after_no_email(idp, verifierd):
    """As in the seed, nothing is created for a user without email: once the
    IdP has an email for them, they are accepted."""
    vd = verifierd()
    sub = H.new_sub()
    idp.add_user(sub=sub, no_email=True)
    H.assert_rejected(vd.verify(idp.mint(idp.claims(sub=sub))), "no_email")
    idp.add_user(sub=sub, no_email=False, email="late@example.com")
    tok = idp.mint(idp.claims(sub=sub))
    H.wait_until(lambda: vd.verify(tok)[0] == 0, timeout=4, interval=0.3,
                 what="accepted once the email exists")
    H.assert_accepted(vd.verify(tok), email="late@example.com")
