"""SO_PEERCRED: a peer whose uid/gid is not allowed is refused, even when
file permissions would let it connect.  Needs root (setpriv to nobody).
An explicit allow list replaces the default (own uid and root), so the lists
here keep uid 0 for the harness's readiness probe."""

import os
import pwd

import pytest

import harness as H

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to nobody")


def open_socket(vd):
    # take file permissions out of the picture: only SO_PEERCRED decides
    os.chmod(vd.socket, 0o777)
    os.chmod(os.path.dirname(vd.socket), 0o755)


def test_nobody_refused_root_accepted(idp, verifierd):
    vd = verifierd()
    open_socket(vd)
    tok = idp.mint()
    H.assert_accepted(vd.verify(tok))
    rc, obj = vd.verify(tok, prefix=H.as_nobody())
    assert rc == 2 and obj["outcome"] == "unavailable", obj
    assert "user" not in obj
    vd.daemon.assert_alive()
    H.assert_accepted(vd.verify(tok))


def test_allow_uid(idp, verifierd):
    nobody = pwd.getpwnam("nobody").pw_uid
    vd = verifierd("--allow-uid", "0", "--allow-uid", str(nobody))
    open_socket(vd)
    H.assert_accepted(vd.verify(idp.mint(), prefix=H.as_nobody()))


def test_allow_gid(idp, verifierd):
    import grp
    nogroup = grp.getgrnam("nogroup").gr_gid
    vd = verifierd("--allow-uid", "0", "--allow-gid", str(nogroup))
    open_socket(vd)
    H.assert_accepted(vd.verify(idp.mint(), prefix=H.as_nobody()))


def test_other_uid_still_refused(idp, verifierd):
    """--allow-uid for someone else does not let nobody in."""
    vd = verifierd("--allow-uid", "0", "--allow-uid", "4242")
    open_socket(vd)
    rc, obj = vd.verify(idp.mint(), prefix=H.as_nobody())
    assert rc == 2 and obj["outcome"] == "unavailable", obj
