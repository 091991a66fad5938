"""Command line and config file: --help lists every option and exits 0;
bad usage exits 64; a bad config file exits 78; env defaults as in the seed;
the command line wins over the config file."""

import os
import shutil
import subprocess

import pytest

import harness as H

OPTIONS = ["--socket", "--domain", "--audience", "--ca-file", "--state-dir",
           "--algorithms", "--leeway", "--allow-uid", "--allow-gid", "--jwks-cooldown",
           "--jwks-min-ttl", "--jwks-max-ttl", "--fetch-timeout", "--debug", "--config",
           "--help", "--user", "--version", "--check-config", "--cache-size", "--cache-ttl",
           "--negative-ttl"]


def run(argv, env=None, timeout=10):
    H.require(H.VERIFIERD)
    e = H.sanitizer_env()
    e.pop("AUTH0_DOMAIN", None)
    e.pop("AUTH0_API_AUDIENCE", None)
    e.update(env or {})
    p = subprocess.run([str(H.VERIFIERD)] + [str(a) for a in argv], capture_output=True,
                       timeout=timeout, env=e, stdin=subprocess.DEVNULL)
    out = p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
    assert not H.scan_sanitizers(out), out
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def test_help_lists_every_option():
    rc, out, err = run(["--help"])
    assert rc == 0, err
    missing = [o for o in OPTIONS if o not in out]
    assert not missing, "--help (stdout) does not mention %s" % missing


@pytest.fixture
def short_dir():
    d = H.short_tmpdir("vdcli-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def base_args(idp, tmp_path, short_dir):
    sock = os.path.join(short_dir, "s.sock")
    return ["--socket", sock, "--domain", idp.domain, "--audience", idp.audience,
            "--ca-file", idp.ca, "--state-dir", str(tmp_path / "st")]


USAGE = {
    "unknown_option": ["--no-such-option"],
    "stray_argument": ["stray"],
    "leeway_not_number": ["--leeway", "abc"],
    "leeway_negative": ["--leeway", "-5"],
    "leeway_trailing_junk": ["--leeway", "5s"],
    "cooldown_not_number": ["--jwks-cooldown", "x"],
    "fetch_timeout_zero": ["--fetch-timeout", "0"],
    "allow_uid_not_number": ["--allow-uid", "root!"],
    "allow_gid_overflow": ["--allow-gid", "99999999999999999999"],
    "algorithms_none": ["--algorithms", "none"],
    "algorithms_hs256": ["--algorithms", "HS256"],
    "algorithms_empty": ["--algorithms", ""],
    "missing_value": ["--leeway"],
}


@pytest.mark.parametrize("case", sorted(USAGE))
def test_bad_usage_exits_64(base_args, case):
    argv = base_args + USAGE[case]
    if case == "missing_value":
        argv = base_args + ["--leeway"]
    rc, out, err = run(argv)
    if case.startswith("algorithms_") or case.startswith("allow_"):
        # --allow-uid/--allow-gid take names too: an unknown name may count
        # as bad configuration (78) rather than bad usage (64)
        assert rc in (64, 78), (rc, err)
    else:
        assert rc == 64, (rc, err)
    assert err.strip(), "no message on stderr"


def test_missing_required(idp, short_dir):
    """domain and audience have no default (they may come from the config
    file or the environment, so 78 is as good as 64); --socket has one."""
    sock = os.path.join(short_dir, "s.sock")
    assert run(["--socket", sock, "--audience", idp.audience])[0] in (64, 78)  # no domain
    assert run(["--socket", sock, "--domain", idp.domain])[0] in (64, 78)      # no audience


def write_conf(tmp_path, text):
    p = tmp_path / "verifierd.conf"
    p.write_text(text)
    return str(p)


BAD_CONF = {
    "syntax": "this line has no equals sign\n",
    "unknown_key": "no-such-key = 1\n",
    "bad_value": "leeway = many\n",
    "bad_algorithms": "algorithms = none\n",
}


@pytest.mark.parametrize("case", sorted(BAD_CONF))
def test_bad_config_exits_78(base_args, tmp_path, case):
    conf = write_conf(tmp_path, "# comment\n" + BAD_CONF[case])
    rc, out, err = run(base_args + ["--config", conf])
    assert rc == 78, (rc, err)


def test_missing_config_file_exits_78(base_args, tmp_path):
    rc, out, err = run(base_args + ["--config", str(tmp_path / "nope.conf")])
    assert rc == 78, (rc, err)


def test_config_file_twin_starts(idp, verifierd, tmp_path):
    """The good twin of the bad config files: every key from the file."""
    st = tmp_path / "cst"
    st.mkdir(mode=0o700)
    conf = write_conf(tmp_path, "# verifierd test config\n"
                      "domain = %s\naudience = %s\nca-file = %s\nstate-dir = %s\n"
                      "algorithms = RS256\nleeway = 5\njwks-cooldown = 1\n" % (
                          idp.domain, idp.audience, idp.ca, st))
    vd = verifierd("--config", conf, defaults=False)
    H.assert_accepted(vd.verify(idp.mint()))


def test_command_line_wins(idp, verifierd, tmp_path):
    conf = write_conf(tmp_path, "audience = https://wrong.example/api\n")
    vd = verifierd("--config", conf)  # defaults put the right --audience on the CLI
    H.assert_accepted(vd.verify(idp.mint()))


def test_env_defaults(idp, verifierd, tmp_path):
    st = tmp_path / "est"
    st.mkdir(mode=0o700)
    vd = verifierd("--ca-file", idp.ca, "--state-dir", str(st), defaults=False,
                   env={"AUTH0_DOMAIN": idp.domain, "AUTH0_API_AUDIENCE": idp.audience})
    H.assert_accepted(vd.verify(idp.mint()))


def test_wrong_ca_is_not_trusted(idp, idp_factory, verifierd):
    """Another CA's file: the IdP's certificate is not trusted -> no keys;
    the twin with the right CA accepts."""
    other = idp_factory()
    vd = verifierd("--fetch-timeout", "2", ca=other.ca)
    H.assert_unavailable(vd.verify(idp.mint()))
    H.assert_accepted(verifierd().verify(idp.mint()))


def test_version():
    rc, out, err = run(["--version"])
    assert rc == 0 and out.strip(), (rc, out, err)


def test_check_config(base_args, tmp_path):
    good = write_conf(tmp_path, "leeway = 5\n")
    rc, out, err = run(base_args + ["--config", good, "--check-config"])
    assert rc == 0, (rc, err)
    bad = write_conf(tmp_path, "leeway = many\n")
    rc, out, err = run(base_args + ["--config", bad, "--check-config"])
    assert rc == 78, (rc, err)
