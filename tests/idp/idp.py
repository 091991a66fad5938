#!/usr/bin/python3
"""Local Auth0-like test tenant, served over real TLS.

This is a TEST TOOL.  It stands in for an Auth0 tenant so that verifierd and
todod can be driven end to end without the internet.  Never expose it: the
/_control/ endpoints change its behaviour and mint tokens WITHOUT ANY
AUTHENTICATION, by design.

Usage:
    /usr/bin/python3 tests/idp/idp.py --dir DIR [--port 0] [--host 127.0.0.1]
        [--audience AUD] [--user EMAIL:PASSWORD ...] [--max-age N]
        [--client-id ID] [--client-secret SECRET] [--reuse]

On start it writes into DIR:
    ca.pem, ca-key.pem          a throw-away test CA
    server.pem, server-key.pem  TLS certificate for 127.0.0.1, ::1, localhost
                                (and --host) signed by the CA
    key-<kid>.pem               one RSA-2048 private signing key per kid
    state.json                  what --reuse needs to come back with the same
                                CA, keys, client and users
    idp.json                    written atomically (rename) once the server
                                listens; removed at start, so its appearance
                                means "ready".  Rewritten after every change
                                of keys or users.

idp.json:
    {"port", "host", "domain": "HOST:PORT", "issuer": "https://HOST:PORT/",
     "ca": ca.pem path, "keys": [{"kid", "pem", "published", "current"}],
     "current_kid", "audience", "client_id", "client_secret",
     "users": [{"email", "password", "sub"}], "jwks_uri", "token_url",
     "userinfo_url", "control_url", "pid"}

Tenant endpoints (Auth0 shapes):
    GET  /.well-known/jwks.json   {"keys": [...]} published RSA public keys
                                  (kty, kid, use=sig, alg=RS256, n, e, x5c,
                                  x5t); Cache-Control: public, max-age=N
    POST /oauth/token             grant_type=password, form or JSON body with
                                  username, password, audience, client_id,
                                  client_secret, scope (as in the seed's curl)
                                  -> {"access_token", "id_token", "scope",
                                  "expires_in", "token_type": "Bearer"};
                                  bad client -> 401, bad password -> 403
                                  invalid_grant
    GET  /userinfo                Authorization: Bearer TOKEN (or, as the
                                  seed does, ?access_token=TOKEN); the token
                                  is verified here (signature by one of our
                                  keys, iss, exp) -> {"sub", "email",
                                  "email_verified", "name", ...}.  Calls are
                                  counted per sub.  Unknown subs (tokens minted
                                  by tests) get a synthesised profile with
                                  email "<sub, sanitised>@users.test".
    GET  /_redirected/...         target of the "redirect" fault: serves the
                                  real document and counts redirect_followed

Control API (JSON POST bodies, JSON answers; GET works for read-only ones):
    POST /_control/fault     {"group": "jwks"|"userinfo"|"token"|"all",
                              "mode": "ok"|"500"|"429"|"hang"|"garbage"|
                                      "bigdoc"|"redirect"|"delay"|"drop",
                              "retry_after": N     (429: Retry-After, def. 1)
                              "count": N           (only the next N requests,
                                                    then back to ok)
                              "delay": S           (delay: sleep S then serve)
                              "hang_max": S        (hang: at most S, def. 60)
                              "size": BYTES        (bigdoc size, def. 8 MiB)
                              "shape": "jsonl"|"json" (bigdoc: JSON lines, or
                                                    one valid but padded doc)
                              "location": URL}     (redirect target; default
                                                    /_redirected<path> here)
                             "hang" answers once the fault is changed or
                             after hang_max seconds; "drop" closes the
                             connection without an answer.
    POST /_control/clear     every group back to ok (releases hangs)
    POST /_control/rotate    {"drop_old": false, "make_current": true,
                              "publish": true} -> {"kid", "pem", "dropped"}
                             adds a new RSA key; drop_old removes every other
                             key from the JWKS (private PEMs stay on disk)
    POST /_control/publish   {"kid", "published": bool} (un)publish one key
    POST /_control/jwks_extra {"keys": [raw JWK objects], "replace": bool}
                             extra raw entries appended to the JWKS
    POST /_control/host      {"path": "/x/jwks.json", "body": str|obj,
                              "content_type": ...} -> {"url"}: serve a document
                             (attacker-controlled jku/x5u targets); hits are
                             counted in counters["hosted"][path]; any other
                             unknown path counts in counters["not_found"]
    POST /_control/max_age   {"max_age": N}
    POST /_control/settings  {"max_age": N, "expires_in": N,
                              "userinfo_strict": bool (require the userinfo
                              audience in tokens, like real Auth0)}
    POST /_control/user      {"email", "password", "sub", "name",
                              "no_email": bool, "email_verified": bool}
                             add or update a user (keyed by sub if given,
                             else by email); no_email makes /userinfo omit
                             the email.  Users known only by sub (no
                             password) serve minted tokens.
    GET  /_control/counters  {"jwks", "jwks_served", "token", "userinfo",
                              "userinfo_by_sub": {sub: n},
                              "userinfo_header_token", "userinfo_query_token",
                              "userinfo_invalid", "redirect_followed",
                              "hosted": {path: n}, "not_found"}
    POST /_control/reset_counters
    POST /_control/reset     faults ok, counters 0, settings and extra JWKs
                             back to defaults (keys and users stay)
    POST /_control/mint      {"header": obj|str, "claims": obj|str,
                              "key": kid (default: current), "alg": "RS256"
                              (RS*/PS*/HS*/none), "secret": str (HS*),
                              "defaults": bool (fill iss/sub/aud/iat/exp
                              when absent)} -> {"token"}
                             A str header/claims is used verbatim as the JSON
                             text (for duplicate keys and other oddities).
    GET  /_control/state     keys, faults, settings, users

One line per request goes to stderr; tokens are never logged (query strings
are dropped and anything token-shaped is redacted).  SIGTERM/SIGINT stop it
cleanly (exit 0).
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import ipaddress
import json
import os
import re
import secrets
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

GROUPS = ("jwks", "userinfo", "token")
MODES = ("ok", "500", "429", "hang", "garbage", "bigdoc", "redirect", "delay",
         "drop")
DEFAULT_MAX_AGE = 600
DEFAULT_EXPIRES_IN = 86400
ID_TOKEN_LIFETIME = 36000

_TOKENISH = re.compile(r"[A-Za-z0-9_\-]{6,}\.[A-Za-z0-9_\-]{6,}\.[A-Za-z0-9_\-]*")


def redact(text):
    return _TOKENISH.sub("<redacted>", text)


def log(msg):
    try:
        sys.stderr.write("idp: %s\n" % redact(msg))
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_uint(n):
    return b64u(n.to_bytes((n.bit_length() + 7) // 8 or 1, "big"))


def json_bytes(obj):
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def write_atomic(path, data, mode=0o644):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def pem_private(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_private(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


# --------------------------------------------------------------------------
# Compact JWS signing by hand, so that tests can get anything they ask for.

_HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


def sign_compact(header, claims, alg, key=None, secret=None):
    """header/claims: dict (serialised compactly) or str/bytes (verbatim)."""
    def enc(part):
        if isinstance(part, str):
            part = part.encode("utf-8")
        elif not isinstance(part, bytes):
            part = json_bytes(part)
        return b64u(part)

    signing_input = (enc(header) + "." + enc(claims)).encode("ascii")
    if alg == "none" or alg is None:
        return signing_input.decode("ascii") + "."
    family, bits = alg[:2], alg[2:]
    if bits not in _HASHES:
        raise ValueError("unsupported alg %r" % alg)
    h = _HASHES[bits]()
    if family == "HS":
        if secret is None:
            raise ValueError("HS* needs a secret")
        if isinstance(secret, str):
            secret = secret.encode("utf-8")
        sig = hmac.new(secret, signing_input, getattr(hashlib, h.name)).digest()
    elif family == "RS":
        sig = key.sign(signing_input, padding.PKCS1v15(), h)
    elif family == "PS":
        sig = key.sign(signing_input,
                       padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size),
                       h)
    elif family == "ES":
        from cryptography.hazmat.primitives.asymmetric.utils import \
            decode_dss_signature
        der = key.sign(signing_input, ec.ECDSA(h))
        r, s = decode_dss_signature(der)
        size = (key.curve.key_size + 7) // 8
        sig = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    else:
        raise ValueError("unsupported alg %r" % alg)
    return signing_input.decode("ascii") + "." + b64u(sig)


# --------------------------------------------------------------------------
# Certificates

def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "todod test IdP"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca():
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder()
            .subject_name(_name("todod test CA"))
            .issuer_name(_name("todod test CA"))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_server_cert(ca_key, ca_cert, hosts):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    sans = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    cert = (x509.CertificateBuilder()
            .subject_name(_name(hosts[0]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def self_signed_for_jwk(key, cn):
    """Auth0 publishes an x5c certificate for each signing key; so do we."""
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def rsa_thumbprint(pub):
    nums = pub.public_numbers()
    canon = '{"e":"%s","kty":"RSA","n":"%s"}' % (b64u_uint(nums.e), b64u_uint(nums.n))
    return b64u(hashlib.sha256(canon.encode("ascii")).digest())


# --------------------------------------------------------------------------
# Tenant state

class SigningKey:
    def __init__(self, kid, key, pem_path, published=True):
        self.kid = kid
        self.key = key
        self.pem = pem_path
        self.published = published
        self._jwk = None

    def jwk(self, cn):
        if self._jwk is None:
            nums = self.key.public_key().public_numbers()
            der = self_signed_for_jwk(self.key, cn)
            self._jwk = {
                "alg": "RS256", "kty": "RSA", "use": "sig",
                "n": b64u_uint(nums.n), "e": b64u_uint(nums.e),
                "kid": self.kid,
                "x5t": b64u(hashlib.sha1(der).digest()),
                "x5c": [base64.b64encode(der).decode("ascii")],
            }
        return dict(self._jwk)


def user_sub_for(email):
    return "auth0|" + hashlib.sha256(email.lower().encode("utf-8")).hexdigest()[:24]


class Fault:
    def __init__(self, mode="ok", **params):
        self.mode = mode
        self.params = params
        self.count = params.get("count")

    def describe(self):
        d = {"mode": self.mode}
        d.update({k: v for k, v in self.params.items() if v is not None})
        if self.count is not None:
            d["count"] = self.count
        return d


class Tenant:
    def __init__(self, args):
        self.dir = os.path.abspath(args.dir)
        self.host = args.host
        self.audience = args.audience
        self.lock = threading.Condition()
        self.keys = []           # SigningKey, in creation order
        self.current = None      # kid
        self.users = {}          # sub -> dict
        self.client_id = args.client_id
        self.client_secret = args.client_secret
        self.port = None
        self.default_max_age = args.max_age
        self.reset_settings()
        self.reset_counters()
        self.faults = {g: Fault() for g in GROUPS}
        self.fault_gen = 0
        self.stopping = False
        self._big_cache = {}

    # -- setup -----------------------------------------------------------
    def reset_settings(self):
        self.max_age = self.default_max_age
        self.expires_in = DEFAULT_EXPIRES_IN
        self.userinfo_strict = False
        self.extra_jwks = []
        self.hosted = {}         # path -> (content type, bytes)

    def reset_counters(self):
        self.counters = {"jwks": 0, "jwks_served": 0, "token": 0, "userinfo": 0,
                         "userinfo_by_sub": {}, "userinfo_header_token": 0,
                         "userinfo_query_token": 0, "userinfo_invalid": 0,
                         "redirect_followed": 0, "hosted": {}, "not_found": 0}

    def path(self, name):
        return os.path.join(self.dir, name)

    def setup_files(self, reuse, users):
        os.makedirs(self.dir, exist_ok=True)
        state_path = self.path("state.json")
        if reuse and os.path.exists(state_path):
            with open(state_path) as f:
                st = json.load(f)
            self.client_id = self.client_id or st["client_id"]
            self.client_secret = self.client_secret or st["client_secret"]
            self.audience = self.audience or st.get("audience")
            for k in st["keys"]:
                self.keys.append(SigningKey(k["kid"], load_private(k["pem"]), k["pem"],
                                            k.get("published", True)))
            self.current = st["current"]
            for u in st.get("users", []):
                self.users[u["sub"]] = u
            self.ca_path = self.path("ca.pem")
            self.cert_path = self.path("server.pem")
            self.certkey_path = self.path("server-key.pem")
            log("reusing state from %s" % state_path)
        else:
            ca_key, ca_cert = make_ca()
            hosts = ["127.0.0.1", "::1", "localhost"]
            if self.host not in hosts:
                hosts.insert(0, self.host)
            srv_key, srv_cert = make_server_cert(ca_key, ca_cert, hosts)
            self.ca_path = self.path("ca.pem")
            self.cert_path = self.path("server.pem")
            self.certkey_path = self.path("server-key.pem")
            write_atomic(self.path("ca-key.pem"), pem_private(ca_key), 0o600)
            write_atomic(self.ca_path, ca_cert.public_bytes(serialization.Encoding.PEM))
            write_atomic(self.certkey_path, pem_private(srv_key), 0o600)
            write_atomic(self.cert_path, srv_cert.public_bytes(serialization.Encoding.PEM))
            self.client_id = self.client_id or b64u(secrets.token_bytes(24))
            self.client_secret = self.client_secret or b64u(secrets.token_bytes(48))
            self.add_key(make_current=True, publish=True)
        if not self.audience:
            self.audience = "https://todo.example.test/api"
        if not users and not self.users:
            users = ["alice@example.com:alice-password", "bob@example.com:bob-password"]
        for spec in users:
            email, sep, password = spec.partition(":")
            if not sep or not email:
                raise SystemExit("idp: --user wants EMAIL:PASSWORD")
            self.upsert_user({"email": email, "password": password})

    def save_state(self):
        st = {"client_id": self.client_id, "client_secret": self.client_secret,
              "audience": self.audience, "current": self.current,
              "keys": [{"kid": k.kid, "pem": k.pem, "published": k.published}
                       for k in self.keys],
              "users": list(self.users.values())}
        write_atomic(self.path("state.json"), json_bytes(st), 0o600)

    def add_key(self, make_current=True, publish=True):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        kid = rsa_thumbprint(key.public_key())[:32]
        pem_path = self.path("key-%s.pem" % kid)
        write_atomic(pem_path, pem_private(key), 0o600)
        sk = SigningKey(kid, key, pem_path, publish)
        self.keys.append(sk)
        if make_current or self.current is None:
            self.current = kid
        return sk

    def key_by_kid(self, kid):
        for k in self.keys:
            if k.kid == kid:
                return k
        return None

    def upsert_user(self, spec):
        sub = spec.get("sub")
        email = spec.get("email")
        existing = None
        if sub and sub in self.users:
            existing = self.users[sub]
        elif not sub and email:
            for u in self.users.values():
                if u.get("email", "").lower() == email.lower():
                    existing = u
                    break
        if existing is None:
            if not sub:
                if not email:
                    raise ValueError("user needs sub or email")
                sub = user_sub_for(email)
            existing = {"sub": sub, "email": email or "", "password": None,
                        "name": email or sub, "no_email": False,
                        "email_verified": True}
            self.users[sub] = existing
        for k in ("email", "password", "name", "no_email", "email_verified"):
            if k in spec:
                existing[k] = spec[k]
        return existing

    @property
    def domain(self):
        h = self.host
        if ":" in h:
            h = "[%s]" % h
        return "%s:%d" % (h, self.port)

    @property
    def issuer(self):
        return "https://%s/" % self.domain

    def write_info(self):
        with self.lock:
            info = {
                "port": self.port, "host": self.host, "domain": self.domain,
                "issuer": self.issuer, "ca": self.ca_path,
                "keys": [{"kid": k.kid, "pem": k.pem, "published": k.published,
                          "current": k.kid == self.current} for k in self.keys],
                "current_kid": self.current,
                "audience": self.audience, "client_id": self.client_id,
                "client_secret": self.client_secret,
                "users": [{"email": u.get("email"), "password": u.get("password"),
                           "sub": u["sub"]} for u in self.users.values()
                          if u.get("password") is not None],
                "jwks_uri": self.issuer + ".well-known/jwks.json",
                "token_url": self.issuer + "oauth/token",
                "userinfo_url": self.issuer + "userinfo",
                "control_url": self.issuer + "_control/",
                "pid": os.getpid(),
            }
            self.save_state()
        write_atomic(self.path("idp.json"), json.dumps(info, indent=1).encode())

    # -- documents ---------------------------------------------------------
    def jwks_doc(self):
        with self.lock:
            keys = [k.jwk(self.domain) for k in self.keys if k.published]
            keys += json.loads(json.dumps(self.extra_jwks))
        return {"keys": keys}

    def bigdoc(self, size, shape):
        ck = (size, shape)
        if ck not in self._big_cache:
            if shape == "json":
                head = json.dumps(self.jwks_doc())[:-1] + ', "x-pad": "'
                tail = '"}'
                body = head + "x" * max(0, size - len(head) - len(tail)) + tail
                data = body.encode()
            else:
                line = json_bytes({"i": 0, "pad": "y" * 1000}) + b"\n"
                data = line * (size // len(line) + 1)
                data = data[:size]
            self._big_cache = {ck: data}
        return self._big_cache[ck]

    # -- tokens --------------------------------------------------------------
    def sign(self, claims, kid=None, header=None, alg="RS256", secret=None):
        with self.lock:
            sk = self.key_by_kid(kid or self.current)
        if alg.startswith(("RS", "PS")) and sk is None:
            raise ValueError("unknown key %r" % kid)
        if header is None:
            header = {"alg": alg, "typ": "JWT"}
            if sk is not None and alg != "none":
                header["kid"] = sk.kid
        return sign_compact(header, claims, alg, sk.key if sk else None, secret)

    def issue(self, user, scope, audience):
        now = int(time.time())
        exp = now + self.expires_in
        access = {
            "iss": self.issuer, "sub": user["sub"],
            "aud": [audience, self.issuer + "userinfo"],
            "iat": now, "exp": exp, "azp": self.client_id, "scope": scope,
            "gty": "password",
        }
        idt = {
            "iss": self.issuer, "sub": user["sub"], "aud": self.client_id,
            "iat": now, "exp": now + ID_TOKEN_LIFETIME,
            "name": user.get("name") or user.get("email"),
            "nickname": (user.get("email") or "").split("@")[0],
            "updated_at": datetime.datetime.now(datetime.timezone.utc)
            .strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        }
        if not user.get("no_email"):
            idt["email"] = user.get("email")
            idt["email_verified"] = bool(user.get("email_verified", True))
        return {"access_token": self.sign(access), "id_token": self.sign(idt),
                "scope": scope, "expires_in": self.expires_in, "token_type": "Bearer"}

    def verify_own(self, token):
        """Verify a token the way Auth0's /userinfo would; claims or None."""
        try:
            hdr = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        if hdr.get("alg") != "RS256":
            return None
        with self.lock:
            sk = self.key_by_kid(hdr.get("kid")) if hdr.get("kid") else None
            cands = [sk] if sk else list(self.keys)
            strict = self.userinfo_strict
        for k in cands:
            try:
                return jwt.decode(
                    token, k.key.public_key(), algorithms=["RS256"],
                    issuer=self.issuer,
                    audience=(self.issuer + "userinfo") if strict else None,
                    options={"verify_aud": strict, "require": ["exp", "sub"]})
            except jwt.PyJWTError:
                continue
        return None

    def profile_for(self, sub):
        with self.lock:
            u = self.users.get(sub)
            u = dict(u) if u else None
        if u is None:
            local = re.sub(r"[^A-Za-z0-9._-]", "_", sub)
            u = {"sub": sub, "email": "%s@users.test" % local, "name": sub,
                 "no_email": False, "email_verified": True}
        prof = {"sub": sub, "name": u.get("name") or sub,
                "nickname": (u.get("email") or sub).split("@")[0],
                "picture": "https://example.invalid/avatar.png",
                "updated_at": "2020-05-08T00:00:00.000Z"}
        if not u.get("no_email"):
            prof["email"] = u.get("email")
            prof["email_verified"] = bool(u.get("email_verified", True))
        return prof

    # -- faults --------------------------------------------------------------
    def set_fault(self, group, mode, params):
        if mode not in MODES:
            raise ValueError("unknown mode %r" % mode)
        groups = GROUPS if group == "all" else (group,)
        for g in groups:
            if g not in GROUPS:
                raise ValueError("unknown group %r" % g)
        with self.lock:
            for g in groups:
                self.faults[g] = Fault(mode, **params)
            self.fault_gen += 1
            self.lock.notify_all()

    def take_fault(self, group):
        """The fault to apply to this request (consumes one of `count`)."""
        with self.lock:
            f = self.faults[group]
            if f.mode == "ok":
                return f, self.fault_gen
            if f.count is not None:
                f.count -= 1
                if f.count <= 0:
                    self.faults[group] = Fault()
            return f, self.fault_gen

    def wait_hang(self, group, gen, limit):
        deadline = time.monotonic() + limit
        with self.lock:
            while not self.stopping and self.fault_gen == gen:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.lock.wait(left)
            return True

    def stop(self):
        with self.lock:
            self.stopping = True
            self.lock.notify_all()


# --------------------------------------------------------------------------
# HTTP

class DropConnection(Exception):
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "todod-test-idp/1"
    timeout = 30

    # never let http.server log request lines: they may hold tokens
    def log_request(self, code="-", size="-"):
        pass

    def log_message(self, fmt, *args):
        try:
            msg = fmt % args
        except TypeError:
            msg = fmt
        log("%s %s" % (self.client_address[0], redact(msg.split("?")[0])))

    @property
    def tenant(self):
        return self.server.tenant

    def _send(self, status, body, ctype="application/json; charset=utf-8",
              headers=None):
        if isinstance(body, (dict, list)):
            body = json_bytes(body)
        elif isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            try:
                self.wfile.write(body)
            except OSError:
                pass
        self._status = status
        self._size = len(body)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 1 << 20:
            raise ValueError("body too large")
        return self.rfile.read(n) if n else b""

    def _json_body(self):
        raw = self._body()
        if not raw.strip():
            return {}
        v = json.loads(raw)
        if not isinstance(v, dict):
            raise ValueError("JSON object expected")
        return v

    def _dispatch(self):
        self._status = "-"
        self._size = 0
        self._note = ""
        t0 = time.monotonic()
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        try:
            self.route(path, url.query)
        except DropConnection:
            self._status = "dropped"
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self._status = "client-gone"
            self.close_connection = True
        except Exception as e:  # noqa: BLE001 - a test tool must answer
            log("handler error on %s: %s: %s" % (path, type(e).__name__, e))
            if self._status == "-":
                self._send(500, {"error": "idp_internal", "error_description": str(e)})
        log('%s "%s %s" %s %s %.3fs%s' % (
            self.client_address[0], self.command, path, self._status, self._size,
            time.monotonic() - t0, self._note))

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = _dispatch

    # -- routing -------------------------------------------------------------
    def route(self, path, query):
        redirected = False
        if path.startswith("/_redirected/"):
            path = path[len("/_redirected"):]
            redirected = True
            with self.tenant.lock:
                self.tenant.counters["redirect_followed"] += 1
        if path.startswith("/_control/"):
            return self.control(path[len("/_control/"):])
        if path == "/.well-known/jwks.json":
            return self.jwks(redirected)
        if path == "/oauth/token":
            return self.token(redirected)
        if path == "/userinfo":
            return self.userinfo(query, redirected)
        if path == "/.well-known/openid-configuration":
            t = self.tenant
            return self._send(200, {
                "issuer": t.issuer, "jwks_uri": t.issuer + ".well-known/jwks.json",
                "token_endpoint": t.issuer + "oauth/token",
                "userinfo_endpoint": t.issuer + "userinfo",
                "id_token_signing_alg_values_supported": ["RS256"]})
        t = self.tenant
        with t.lock:
            doc = t.hosted.get(path)
            if doc is not None:
                t.counters["hosted"][path] = t.counters["hosted"].get(path, 0) + 1
            else:
                t.counters["not_found"] += 1
        if doc is not None:
            return self._send(200, doc[1], ctype=doc[0])
        self._send(404, {"error": "not_found"})

    def apply_fault(self, group, redirected=False):
        """Returns True when the fault produced the answer already."""
        t = self.tenant
        f, gen = t.take_fault(group)
        if f.mode == "ok" or (redirected and f.mode == "redirect"):
            return False
        self._note = " fault=%s" % f.mode
        p = f.params
        if f.mode == "500":
            self._send(500, {"error": "server_error",
                             "error_description": "injected fault"})
        elif f.mode == "429":
            ra = int(p.get("retry_after") or 1)
            self._send(429, {"error": "too_many_requests",
                             "error_description": "Global limit has been reached"},
                       headers={"Retry-After": str(ra),
                                "X-RateLimit-Limit": "10",
                                "X-RateLimit-Remaining": "0",
                                "X-RateLimit-Reset": str(int(time.time()) + ra)})
        elif f.mode == "hang":
            released = t.wait_hang(group, gen, float(p.get("hang_max") or 60))
            if t.stopping:
                raise DropConnection()
            if not released:
                self._send(504, {"error": "hang_timeout"})
                return True
            return self.apply_fault(group, redirected)
        elif f.mode == "delay":
            time.sleep(float(p.get("delay") or 1))
            return False
        elif f.mode == "garbage":
            self._send(200, "<html><body>this is not JSON {{{ \x00\x01",
                       ctype="application/json")
        elif f.mode == "bigdoc":
            body = t.bigdoc(int(p.get("size") or 8 << 20), p.get("shape") or "jsonl")
            self._send(200, body, ctype="application/json")
        elif f.mode == "redirect":
            loc = p.get("location") or (t.issuer.rstrip("/") + "/_redirected" + self.path)
            self._send(302, {"redirect": loc}, headers={"Location": loc})
        elif f.mode == "drop":
            raise DropConnection()
        return True

    def jwks(self, redirected):
        t = self.tenant
        with t.lock:
            t.counters["jwks"] += 1
        if self.command not in ("GET", "HEAD"):
            return self._send(405, {"error": "method_not_allowed"})
        if self.apply_fault("jwks", redirected):
            return
        doc = t.jwks_doc()
        with t.lock:
            t.counters["jwks_served"] += 1
            max_age = t.max_age
        self._send(200, doc, headers={"Cache-Control": "public, max-age=%d" % max_age})

    def token(self, redirected):
        t = self.tenant
        with t.lock:
            t.counters["token"] += 1
        if self.command != "POST":
            return self._send(405, {"error": "method_not_allowed"})
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        raw = self._body()
        if self.apply_fault("token", redirected):
            return
        try:
            if ctype == "application/json":
                form = json.loads(raw or b"{}")
                if not isinstance(form, dict):
                    raise ValueError
            else:
                form = {k: v[0] for k, v in
                        urllib.parse.parse_qs(raw.decode("utf-8"),
                                              keep_blank_values=True).items()}
        except (ValueError, UnicodeDecodeError):
            return self._send(400, {"error": "invalid_request",
                                    "error_description": "malformed body"})
        if (form.get("client_id") != t.client_id
                or not hmac.compare_digest(str(form.get("client_secret", "")),
                                           t.client_secret)):
            return self._send(401, {"error": "access_denied",
                                    "error_description": "Unauthorized"})
        gt = form.get("grant_type")
        if gt != "password":
            return self._send(403, {"error": "unsupported_grant_type",
                                    "error_description": "Grant type '%s' not allowed for the client." % gt})
        audience = form.get("audience") or t.audience
        if audience != t.audience:
            return self._send(403, {"error": "access_denied",
                                    "error_description": "Service not found: %s" % audience})
        username = str(form.get("username", ""))
        password = str(form.get("password", ""))
        with t.lock:
            user = None
            for u in t.users.values():
                if (u.get("password") is not None
                        and (u.get("email") or "").lower() == username.lower()):
                    user = dict(u)
                    break
        if user is None or not hmac.compare_digest(user["password"], password):
            return self._send(403, {"error": "invalid_grant",
                                    "error_description": "Wrong email or password."})
        scope = form.get("scope") or "openid profile email"
        self._send(200, t.issue(user, scope, audience),
                   headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def userinfo(self, query, redirected):
        t = self.tenant
        token = None
        via = None
        auth = self.headers.get("Authorization") or ""
        parts = auth.split()
        if len(parts) == 2 and parts[0].lower() == "bearer":
            token, via = parts[1], "header"
        else:
            q = urllib.parse.parse_qs(query)
            if "access_token" in q:
                token, via = q["access_token"][0], "query"
        if token is None and self.command == "POST":
            raw = self._body()
            q = urllib.parse.parse_qs(raw.decode("utf-8", "replace"))
            if "access_token" in q:
                token, via = q["access_token"][0], "body"
        claims = t.verify_own(token) if token else None
        with t.lock:
            c = t.counters
            c["userinfo"] += 1
            if via == "header":
                c["userinfo_header_token"] += 1
            elif via:
                c["userinfo_query_token"] += 1
            if claims:
                by = c["userinfo_by_sub"]
                by[claims["sub"]] = by.get(claims["sub"], 0) + 1
            else:
                c["userinfo_invalid"] += 1
        if self.apply_fault("userinfo", redirected):
            return
        if not claims:
            return self._send(401, "Unauthorized", ctype="text/plain",
                              headers={"WWW-Authenticate":
                                       'Bearer realm="test-idp", error="invalid_token"'})
        self._send(200, t.profile_for(claims["sub"]))

    # -- control ----------------------------------------------------------------
    def control(self, name):
        t = self.tenant
        try:
            body = self._json_body() if self.command == "POST" else {}
        except ValueError as e:
            return self._send(400, {"error": "bad control body: %s" % e})
        try:
            ans = self.control_op(t, name, body)
        except (ValueError, KeyError, TypeError) as e:
            return self._send(400, {"error": "%s: %s" % (type(e).__name__, e)})
        if ans is None:
            return self._send(404, {"error": "unknown control endpoint"})
        self._send(200, ans)

    def control_op(self, t, name, body):
        changed = False
        if name == "fault":
            params = {k: body.get(k) for k in ("retry_after", "count", "delay",
                                               "hang_max", "size", "shape",
                                               "location")}
            t.set_fault(body.get("group", "all"), str(body.get("mode", "ok")), params)
            ans = self.state_doc()
        elif name == "clear":
            t.set_fault("all", "ok", {})
            ans = self.state_doc()
        elif name == "rotate":
            with t.lock:
                old = [k.kid for k in t.keys]
                sk = t.add_key(make_current=body.get("make_current", True),
                               publish=body.get("publish", True))
                dropped = []
                if body.get("drop_old"):
                    for k in t.keys:
                        if k.kid in old and k.published:
                            k.published = False
                            dropped.append(k.kid)
            changed = True
            ans = {"kid": sk.kid, "pem": sk.pem, "dropped": dropped,
                   "current": t.current}
        elif name == "publish":
            with t.lock:
                sk = t.key_by_kid(body["kid"])
                if sk is None:
                    raise KeyError("unknown kid")
                sk.published = bool(body.get("published", True))
            changed = True
            ans = self.state_doc()
        elif name == "jwks_extra":
            keys = body.get("keys", [])
            if not isinstance(keys, list):
                raise ValueError("keys must be a list")
            with t.lock:
                if body.get("replace", True):
                    t.extra_jwks = []
                t.extra_jwks.extend(keys)
            ans = self.state_doc()
        elif name in ("max_age", "settings"):
            with t.lock:
                if "max_age" in body:
                    t.max_age = int(body["max_age"])
                if "expires_in" in body:
                    t.expires_in = int(body["expires_in"])
                if "userinfo_strict" in body:
                    t.userinfo_strict = bool(body["userinfo_strict"])
            ans = self.state_doc()
        elif name == "host":
            path = body["path"]
            if not path.startswith("/") or path.startswith("/_control/"):
                raise ValueError("bad path")
            doc = body.get("body", "")
            if not isinstance(doc, str):
                doc = json.dumps(doc)
            with t.lock:
                t.hosted[path] = (body.get("content_type", "application/json"),
                                  doc.encode("utf-8"))
            ans = {"url": t.issuer.rstrip("/") + path}
        elif name == "user":
            with t.lock:
                u = dict(t.upsert_user(body))
            changed = True
            ans = {"user": u}
        elif name == "counters":
            with t.lock:
                ans = json.loads(json.dumps(t.counters))
        elif name == "reset_counters":
            with t.lock:
                t.reset_counters()
            ans = {"ok": True}
        elif name == "reset":
            t.set_fault("all", "ok", {})
            with t.lock:
                t.reset_counters()
                t.reset_settings()
            ans = self.state_doc()
        elif name == "mint":
            claims = body.get("claims", {})
            if body.get("defaults") and isinstance(claims, dict):
                now = int(time.time())
                base = {"iss": t.issuer, "sub": "auth0|minted",
                        "aud": [t.audience, t.issuer + "userinfo"], "iat": now,
                        "exp": now + 3600, "scope": "openid profile email"}
                base.update(claims)
                claims = base
            alg = body.get("alg", "RS256")
            ans = {"token": t.sign(claims, kid=body.get("key"), header=body.get("header"),
                                   alg=alg, secret=body.get("secret"))}
        elif name == "state":
            ans = self.state_doc()
        else:
            return None
        if changed:
            t.write_info()
        return ans

    def state_doc(self):
        t = self.tenant
        with t.lock:
            return {
                "issuer": t.issuer, "audience": t.audience, "current_kid": t.current,
                "keys": [{"kid": k.kid, "pem": k.pem, "published": k.published}
                         for k in t.keys],
                "faults": {g: f.describe() for g, f in t.faults.items()},
                "max_age": t.max_age, "expires_in": t.expires_in,
                "userinfo_strict": t.userinfo_strict,
                "extra_jwks": len(t.extra_jwks),
                "users": [{k: v for k, v in u.items() if k != "password"}
                          for u in t.users.values()],
            }


class TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, tenant, ctx, family):
        self.address_family = family
        self.tenant = tenant
        self.ssl_ctx = ctx
        super().__init__(addr, handler)

    def finish_request(self, request, client_address):
        # TLS handshake in the connection's own thread, never in accept()
        try:
            request.settimeout(10)
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = self.ssl_ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            log("%s TLS handshake failed: %s" % (client_address[0],
                                                 getattr(e, "reason", None) or e))
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        log("%s connection error: %s" % (client_address[0], sys.exc_info()[1]))


def main(argv=None):
    ap = argparse.ArgumentParser(description="Local Auth0-like test IdP (TEST TOOL: "
                                 "/_control/ is unauthenticated)")
    ap.add_argument("--dir", required=True, help="directory for certs, keys, idp.json")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--audience", default=None,
                    help="API identifier (default https://todo.example.test/api)")
    ap.add_argument("--user", action="append", default=[], metavar="EMAIL:PASSWORD")
    ap.add_argument("--max-age", type=int, default=DEFAULT_MAX_AGE,
                    help="JWKS Cache-Control max-age (default %d)" % DEFAULT_MAX_AGE)
    ap.add_argument("--client-id", default=None)
    ap.add_argument("--client-secret", default=None)
    ap.add_argument("--reuse", action="store_true",
                    help="reuse CA, keys, client and users from a previous run in --dir")
    args = ap.parse_args(argv)

    os.makedirs(args.dir, exist_ok=True)
    info_path = os.path.join(os.path.abspath(args.dir), "idp.json")
    try:
        os.unlink(info_path)
    except FileNotFoundError:
        pass

    tenant = Tenant(args)
    tenant.setup_files(args.reuse, args.user)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(tenant.cert_path, tenant.certkey_path)

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    server = TLSServer((args.host, args.port), Handler, tenant, ctx, family)
    tenant.port = server.server_address[1]
    tenant.write_info()

    stopping = threading.Event()

    def on_signal(signum, frame):
        if stopping.is_set():
            return
        stopping.set()
        log("signal %d: stopping" % signum)
        tenant.stop()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log("listening on %s (issuer %s, audience %s, current kid %s)" % (
        tenant.domain, tenant.issuer, tenant.audience, tenant.current))
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
