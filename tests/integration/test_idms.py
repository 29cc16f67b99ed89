# SPDX-License-Identifier: AGPL-3.0-or-later
"""mcx-idms: the OIDC provider of TS 33.180 Annex B on its plain HTTP port.

Authorization code + PKCE S256 end to end, tokens checked with PyJWT against
the JWKS the daemon serves, refresh rotation, every refusal with its exact
error and nothing issued, restart persistence, and mcxctl user/client.
"""

import base64
import hashlib
import http.client
import json
import re
import secrets
import sqlite3
import subprocess
import time
import urllib.parse

import jwt
import pytest

from conftest import Daemon, binary, free_port, to_yaml

ISSUER = "https://127.0.0.1:8443/idms"
AUDIENCES = ["cms.alpha.test", "gms.alpha.test", "mcptt.alpha.test"]
CLIENT = "mcx-ue"
REDIRECT = "org.mcxcore.ue:/oauth2redirect"
PTT = "3gpp:mc:ptt_service"
CMS = "3gpp:mc:ptt_config_management_service"
GMS = "3gpp:mc:ptt_group_management_service"
KMS = "3gpp:mc:ptt_key_management_service"
ALLOWED = " ".join(["openid", PTT, CMS, GMS])  # KMS is not allowed to mcx-ue
MAX_BODY = 8192


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def pkce():
    verifier = b64u(secrets.token_bytes(48))  # 64 characters
    return verifier, b64u(hashlib.sha256(verifier.encode()).digest())


def mcxctl(db, *args, input=None):
    p = subprocess.run([str(binary("mcxctl")), "--db", str(db)] + [str(a) for a in args],
                       input=input, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


class Idms:
    def __init__(self, procs, tmp_path, **opts):
        self.procs = procs
        self.dir = tmp_path
        self.db = tmp_path / "idms.db"
        self.key = tmp_path / "idms-key.pem"
        self.jwks_file = tmp_path / "idms-jwks.json"
        self.log = tmp_path / "idms.log"
        self.port = free_port()
        idms = {"issuer": ISSUER, "signing_key": str(self.key), "jwks_out": str(self.jwks_file),
                "audiences": AUDIENCES, "code_lifetime": 60}
        idms.update(opts)
        self.config = tmp_path / "idms.yaml"
        self.config.write_text(to_yaml({
            "http": {"listen": "127.0.0.1", "port": self.port, "threads": 4,
                     "max_body": MAX_BODY},
            "log_level": "info",
            "store": {"path": str(self.db)},
            "idms": idms,
        }) + "\n")
        self.daemon = None

    def provision(self):
        for args in (
            ["user", "add", "--username", "alice", "--password", "alice-secret",
             "--mcptt-id", "sip:alice@alpha.test", "--mcdata-id", "sip:alice.data@alpha.test"],
            ["user", "add", "--username", "bob", "--password", "bob-secret",
             "--mcptt-id", "sip:bob@alpha.test", "--disable"],
            ["client", "add", "--client-id", CLIENT, "--redirect-uri", REDIRECT,
             "--redirect-uri", "org.mcxcore.ue:/other", "--scope", ALLOWED],
        ):
            rc, out, err = mcxctl(self.db, *args)
            assert rc == 0, err
        return self

    def start(self):
        self.daemon = self.procs.add(Daemon("mcx-idms", [binary("mcx-idms"), "-c", self.config],
                                            self.log, self.port)).start()
        return self

    def stop(self):
        return self.daemon.stop()

    # -- HTTP ---------------------------------------------------------------

    def request(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        h = dict(headers or {})
        if isinstance(body, str):
            body = body.encode()
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data.decode(errors="replace")

    def form(self, path, fields, headers=None):
        """POST a urlencoded form; fields is a list of pairs (repeats allowed)."""
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        h.update(headers or {})
        return self.request("POST", path, urllib.parse.urlencode(fields), h)

    def get_json(self, path):
        st, h, body = self.request("GET", path)
        assert st == 200, body
        return json.loads(body)

    def metrics(self):
        return self.request("GET", "/metrics")[2]

    # -- the flow -----------------------------------------------------------

    def authz_fields(self, challenge, **over):
        f = {"response_type": "code", "client_id": CLIENT, "redirect_uri": REDIRECT,
             "scope": " ".join(["openid", PTT, CMS, KMS]), "state": "st-" + secrets.token_hex(4),
             "code_challenge": challenge, "code_challenge_method": "S256", "nonce": "n-0S6",
             "acr_values": "3gpp:acr:password"}
        f.update(over)
        return [(k, v) for k, v in f.items() if v is not None]

    def login(self, username="alice", password="alice-secret", challenge=None, extra=(),
              **over):
        fields = self.authz_fields(challenge, **over) + [("username", username),
                                                          ("password", password)] + list(extra)
        return self.form("/authorize", fields)

    def code(self, **kw):
        verifier, challenge = pkce()
        st, h, body = self.login(challenge=challenge, **kw)
        assert st == 302, body
        q = redirect_query(h["location"])
        assert set(q) == {"code", "state"}, q
        return q["code"][0], verifier

    def token(self, fields, headers=None):
        st, h, body = self.form("/token", fields, headers)
        return st, h, (json.loads(body) if body.startswith("{") else body)

    def redeem(self, code, verifier, redirect_uri=REDIRECT, client_id=CLIENT):
        return self.token([("grant_type", "authorization_code"), ("code", code),
                           ("redirect_uri", redirect_uri), ("client_id", client_id),
                           ("code_verifier", verifier)])

    def refresh(self, rt, client_id=CLIENT, **extra):
        return self.token([("grant_type", "refresh_token"), ("refresh_token", rt),
                           ("client_id", client_id)] + list(extra.items()))

    def tokens(self):
        code, verifier = self.code()
        st, h, t = self.redeem(code, verifier)
        assert st == 200, t
        return t

    def rows(self, sql):
        con = sqlite3.connect(str(self.db))
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()


def redirect_query(location):
    u = urllib.parse.urlsplit(location)
    assert location.startswith(REDIRECT + "?"), location
    return urllib.parse.parse_qs(u.query, keep_blank_values=True)


@pytest.fixture
def idms(procs, tmp_path):
    return Idms(procs, tmp_path).provision().start()


def jwks_key(idms, kid):
    jwks = idms.get_json("/jwks")
    for k in jwks["keys"]:
        if k["kid"] == kid:
            return jwt.PyJWK(k).key
    raise AssertionError("kid %s not in the served JWKS" % kid)


def decode_at(idms, token, audience="cms.alpha.test"):
    hdr = jwt.get_unverified_header(token)
    return hdr, jwt.decode(token, jwks_key(idms, hdr["kid"]), algorithms=["ES256"],
                           audience=audience, issuer=ISSUER)


def assert_token_error(resp, status, error):
    st, h, body = resp
    assert st == status, body
    assert isinstance(body, dict), body
    assert body["error"] == error, body
    assert "access_token" not in body and "refresh_token" not in body
    assert h.get("cache-control") == "no-store"
    assert h.get("pragma") == "no-cache"


def live_refresh_tokens(idms):
    return idms.rows("SELECT count(*) FROM refresh_tokens WHERE revoked = 0")[0][0]


# ----------------------------------------------------------------------------
# Discovery, JWKS, the code flow


def test_discovery_and_jwks(idms):
    d = idms.get_json("/.well-known/openid-configuration")
    assert d["issuer"] == ISSUER
    assert d["authorization_endpoint"] == ISSUER + "/authorize"
    assert d["token_endpoint"] == ISSUER + "/token"
    assert d["jwks_uri"] == ISSUER + "/jwks"
    assert d["response_types_supported"] == ["code"]
    assert d["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert d["code_challenge_methods_supported"] == ["S256"]
    assert d["id_token_signing_alg_values_supported"] == ["ES256"]
    assert d["token_endpoint_auth_methods_supported"] == ["none"]
    assert d["subject_types_supported"] == ["public"]
    assert d["acr_values_supported"] == ["3gpp:acr:password"]
    assert set(d["scopes_supported"]) >= {"openid", PTT, CMS, GMS, KMS}
    served = idms.get_json("/jwks")
    assert len(served["keys"]) == 1
    k = served["keys"][0]
    assert k["kty"] == "EC" and k["crv"] == "P-256" and "d" not in k
    assert json.loads(idms.jwks_file.read_text()) == served
    assert (idms.key.stat().st_mode & 0o777) == 0o600
    st, _, body = idms.request("GET", "/healthz")
    assert st == 200


def test_authorize_get_shows_form(idms):
    _, challenge = pkce()
    q = urllib.parse.urlencode(idms.authz_fields(challenge))
    st, h, body = idms.request("GET", "/authorize?" + q)
    assert st == 200, body
    assert h["content-type"].startswith("text/html")
    assert 'name="password"' in body and 'method="post"' in body
    assert 'name="code_challenge" value="%s"' % challenge in body
    assert h["cache-control"] == "no-store"


def test_code_flow_with_pkce(idms):
    code, verifier = idms.code()
    # Only the hash of the code is stored.
    rows = idms.rows("SELECT hash, username, scope FROM auth_codes")
    assert rows == [(hashlib.sha256(code.encode()).hexdigest(), "alice",
                     "openid %s %s" % (PTT, CMS))]
    assert code not in idms.db.read_bytes().decode(errors="replace")

    st, h, t = idms.redeem(code, verifier)
    assert st == 200, t
    assert h["content-type"].startswith("application/json")
    assert h["cache-control"] == "no-store" and h["pragma"] == "no-cache"
    assert t["token_type"] == "Bearer" and t["expires_in"] == 3600
    granted = "openid %s %s" % (PTT, CMS)  # requested KMS is not allowed to the client
    assert t["scope"] == granted

    hdr, at = decode_at(idms, t["access_token"])
    assert hdr["alg"] == "ES256" and hdr["typ"] == "at+jwt"
    assert at["iss"] == ISSUER and at["sub"] == "alice"
    assert at["aud"] == AUDIENCES
    assert at["client_id"] == CLIENT and at["scope"] == granted
    assert at["mcptt_id"] == "sip:alice@alpha.test"
    assert at["mcdata_id"] == "sip:alice.data@alpha.test"
    assert at["exp"] - at["iat"] == 3600 and at["nbf"] == at["iat"]
    assert re.fullmatch(r"[0-9a-f]{32}", at["jti"])
    for aud in AUDIENCES:
        decode_at(idms, t["access_token"], audience=aud)
    with pytest.raises(jwt.InvalidAudienceError):
        decode_at(idms, t["access_token"], audience="cms.bravo.test")

    ih = jwt.get_unverified_header(t["id_token"])
    assert ih["alg"] == "ES256" and ih["typ"] == "JWT"
    it = jwt.decode(t["id_token"], jwks_key(idms, ih["kid"]), algorithms=["ES256"],
                    audience=CLIENT, issuer=ISSUER)
    assert it["aud"] == CLIENT and it["sub"] == "alice" and it["nonce"] == "n-0S6"
    assert it["mcptt_id"] == "sip:alice@alpha.test" and it["acr"] == "3gpp:acr:password"
    assert abs(it["auth_time"] - time.time()) < 60

    assert live_refresh_tokens(idms) == 1
    m = idms.metrics()
    assert 'mcx_idms_tokens_issued_total{grant_type="authorization_code"} 1' in m
    assert 'mcx_idms_logins_total{result="ok"} 1' in m
    assert "mcx_idms_codes_redeemed_total 1" in m


def test_state_and_redirect_query_are_url_encoded(idms):
    verifier, challenge = pkce()
    st, h, body = idms.login(challenge=challenge, state="a b&c=d/é",
                             redirect_uri="org.mcxcore.ue:/other")
    assert st == 302, body
    assert h["location"].startswith("org.mcxcore.ue:/other?code=")
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(h["location"]).query)
    assert q["state"] == ["a b&c=d/é"]
    assert "a b" not in h["location"]


def test_refresh_rotates(idms):
    t1 = idms.tokens()
    st, h, t2 = idms.refresh(t1["refresh_token"])
    assert st == 200, t2
    assert h["cache-control"] == "no-store"
    assert t2["refresh_token"] != t1["refresh_token"]
    _, at = decode_at(idms, t2["access_token"])
    assert at["sub"] == "alice" and at["scope"] == t1["scope"]

    # A narrower scope may be asked; a wider one is refused.
    st, _, t3 = idms.refresh(t2["refresh_token"], scope="openid " + PTT)
    assert st == 200, t3
    assert t3["scope"] == "openid " + PTT
    assert_token_error(idms.refresh(t3["refresh_token"], scope="openid " + KMS), 400,
                       "invalid_scope")

    # The old refresh token is refused, and its replay revokes the whole family.
    assert_token_error(idms.refresh(t1["refresh_token"]), 400, "invalid_grant")
    assert live_refresh_tokens(idms) == 0
    assert 'mcx_idms_token_refused_total{error="invalid_grant"} 1' in idms.metrics()


def test_refresh_token_of_another_client_or_unknown(idms):
    t = idms.tokens()
    assert_token_error(idms.refresh("x" * 43), 400, "invalid_grant")
    assert_token_error(idms.refresh(t["refresh_token"], client_id="nobody"), 401,
                       "invalid_client")


# ----------------------------------------------------------------------------
# /authorize refusals


def authz_redirect_error(resp, error, state=None):
    st, h, body = resp
    assert st == 302, body
    q = redirect_query(h["location"])
    assert "code" not in q
    assert q["error"] == [error], q
    if state is not None:
        assert q["state"] == [state]
    return q


def assert_no_code(idms):
    assert idms.rows("SELECT count(*) FROM auth_codes")[0][0] == 0


def test_missing_code_challenge(idms):
    resp = idms.login(challenge=None, state="s1")
    authz_redirect_error(resp, "invalid_request", "s1")
    assert_no_code(idms)


def test_plain_or_missing_method_refused(idms):
    v, challenge = pkce()
    authz_redirect_error(idms.login(challenge=v, code_challenge_method="plain", state="s2"),
                         "invalid_request", "s2")
    authz_redirect_error(idms.login(challenge=challenge, code_challenge_method=None),
                         "invalid_request")
    authz_redirect_error(idms.login(challenge="short"), "invalid_request")
    assert_no_code(idms)


def test_scope_without_openid(idms):
    _, challenge = pkce()
    authz_redirect_error(idms.login(challenge=challenge, scope=PTT), "invalid_scope")
    authz_redirect_error(idms.login(challenge=challenge, response_type="token"),
                         "unsupported_response_type")
    assert_no_code(idms)


def test_unknown_client_and_unregistered_redirect_are_not_redirected(idms):
    _, challenge = pkce()
    for over in ({"client_id": "evil"}, {"redirect_uri": "https://evil.example/cb"},
                 {"redirect_uri": REDIRECT + "/x"}, {"redirect_uri": None}):
        st, h, body = idms.login(challenge=challenge, **over)
        assert st == 400, (over, body)
        assert "location" not in h
        assert "refused" in body
    st, h, body = idms.request("GET", "/authorize?" + urllib.parse.urlencode(
        idms.authz_fields(challenge, client_id="evil")))
    assert st == 400 and "location" not in h
    assert_no_code(idms)


def login_failure(idms, username, password):
    st, h, body = idms.login(username=username, password=password, challenge="c" * 43,
                             state="fixed")
    assert st == 401, body
    assert "location" not in h
    assert "Invalid username or password." in body
    assert 'name="password"' in body  # the form again
    return body.replace('value="%s"' % username, 'value="U"')


def test_wrong_password_unknown_user_disabled_user(idms):
    a = login_failure(idms, "alice", "Pw-guess-1")
    b = login_failure(idms, "mallory", "Pw-guess-2")
    c = login_failure(idms, "bob", "bob-secret")  # right password, disabled
    assert a == b == c
    assert_no_code(idms)
    log = idms.daemon.log_text()
    assert "login failed for user 'alice'" in log
    assert "login failed for user 'mallory'" in log
    assert "login failed for user 'bob'" in log
    for secret in ("Pw-guess-1", "Pw-guess-2", "bob-secret"):
        assert secret not in log
    assert 'mcx_idms_logins_total{result="failed"} 3' in idms.metrics()


def test_repeated_parameters(idms):
    _, challenge = pkce()
    # A repeated parameter once client and redirect URI are known: redirected.
    st, h, body = idms.login(challenge=challenge, extra=[("scope", "openid")])
    authz_redirect_error((st, h, body), "invalid_request")
    # A repeated client_id: never redirected.
    st, h, body = idms.login(challenge=challenge, extra=[("client_id", CLIENT)])
    assert st == 400 and "location" not in h
    # In the query of GET too.
    q = urllib.parse.urlencode(idms.authz_fields(challenge) + [("state", "again")])
    authz_redirect_error(idms.request("GET", "/authorize?" + q), "invalid_request")
    assert_no_code(idms)
    # At /token.
    code, verifier = idms.code()
    resp = idms.token([("grant_type", "authorization_code"), ("code", code), ("code", code),
                       ("redirect_uri", REDIRECT), ("client_id", CLIENT),
                       ("code_verifier", verifier)])
    assert_token_error(resp, 400, "invalid_request")
    assert live_refresh_tokens(idms) == 0


def test_state_is_html_escaped(idms):
    _, challenge = pkce()
    evil = '"><script>alert(1)</script>'
    q = urllib.parse.urlencode(idms.authz_fields(challenge, state=evil))
    st, h, body = idms.request("GET", "/authorize?" + q)
    assert st == 200
    assert "<script>" not in body
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in body
    st, h, body = idms.login(username="<b>x</b>", password="bad", challenge=challenge,
                             state=evil)
    assert st == 401
    assert "<script>" not in body and "<b>" not in body


def test_oversized_body(idms):
    _, challenge = pkce()
    fields = idms.authz_fields(challenge) + [("username", "alice"), ("password", "alice-secret"),
                                             ("pad", "x" * (MAX_BODY + 100))]
    st, h, body = idms.form("/authorize", fields)
    assert st == 413
    assert_no_code(idms)
    st, h, body = idms.form("/token", [("grant_type", "refresh_token"),
                                       ("refresh_token", "y" * (MAX_BODY + 100))])
    assert st == 413


# ----------------------------------------------------------------------------
# /token refusals


def test_wrong_code_verifier(idms):
    code, verifier = idms.code()
    other, _ = pkce()
    assert_token_error(idms.redeem(code, other), 400, "invalid_grant")
    assert_token_error(idms.redeem(code, "tooshort"), 400, "invalid_request")
    assert live_refresh_tokens(idms) == 0


def test_code_reused_revokes_its_refresh_tokens(idms):
    code, verifier = idms.code()
    st, _, t = idms.redeem(code, verifier)
    assert st == 200
    st, _, t2 = idms.refresh(t["refresh_token"])  # the family grows by rotation
    assert st == 200
    assert_token_error(idms.redeem(code, verifier), 400, "invalid_grant")
    assert live_refresh_tokens(idms) == 0
    assert_token_error(idms.refresh(t2["refresh_token"]), 400, "invalid_grant")
    assert "mcx_idms_codes_replayed_total 1" in idms.metrics()


def test_expired_code(procs, tmp_path):
    idms = Idms(procs, tmp_path, code_lifetime=1).provision().start()
    code, verifier = idms.code()
    time.sleep(2.2)
    st, _, body = resp = idms.redeem(code, verifier)
    assert_token_error(resp, 400, "invalid_grant")
    assert "expired" in body["error_description"]
    assert live_refresh_tokens(idms) == 0


def test_wrong_redirect_uri_or_client_at_token(idms):
    code, verifier = idms.code()
    assert_token_error(idms.redeem(code, verifier, redirect_uri="org.mcxcore.ue:/other"), 400,
                       "invalid_grant")
    code, verifier = idms.code()
    assert_token_error(idms.redeem(code, verifier, client_id="evil"), 401, "invalid_client")
    assert_token_error(idms.redeem("nonexistent-code", verifier), 400, "invalid_grant")
    assert live_refresh_tokens(idms) == 0


def test_grant_type_and_content_type(idms):
    code, verifier = idms.code()
    assert_token_error(idms.token([("grant_type", "password"), ("client_id", CLIENT),
                                   ("username", "alice"), ("password", "alice-secret")]),
                       400, "unsupported_grant_type")
    assert_token_error(idms.token([("client_id", CLIENT)]), 400, "invalid_request")
    st, h, body = idms.request("POST", "/token", json.dumps({
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "client_id": CLIENT, "code_verifier": verifier}), {"Content-Type": "application/json"})
    assert st == 400 and json.loads(body)["error"] == "invalid_request"
    assert_token_error(idms.token([("grant_type", "authorization_code"), ("code", code),
                                   ("redirect_uri", REDIRECT), ("code_verifier", verifier)]),
                       400, "invalid_request")
    # The code was not spent by malformed requests.
    st, _, t = idms.redeem(code, verifier)
    assert st == 200, t
    st, _, _ = idms.request("GET", "/token")
    assert st == 405
    m = idms.metrics()
    assert 'mcx_idms_token_refused_total{error="unsupported_grant_type"} 1' in m
    assert 'mcx_idms_token_refused_total{error="invalid_request"} 3' in m


def test_user_disabled_after_login(idms):
    code, verifier = idms.code()
    t = None
    rc, _, err = mcxctl(idms.db, "user", "update", "--username", "alice", "--disable")
    assert rc == 0, err
    assert_token_error(idms.redeem(code, verifier), 400, "invalid_grant")
    rc, _, err = mcxctl(idms.db, "user", "update", "--username", "alice", "--enable")
    assert rc == 0
    t = idms.tokens()
    assert t["access_token"]


# ----------------------------------------------------------------------------
# Restart, config, mcxctl


def test_restart_keeps_key_users_and_refresh_tokens(idms):
    kid = idms.get_json("/jwks")["keys"][0]["kid"]
    t = idms.tokens()
    assert idms.stop() == 0
    assert "shutting down" in idms.daemon.log_text()
    idms.start()
    assert idms.get_json("/jwks")["keys"][0]["kid"] == kid
    st, _, t2 = idms.refresh(t["refresh_token"])
    assert st == 200, t2
    hdr, at = decode_at(idms, t2["access_token"])
    assert hdr["kid"] == kid and at["sub"] == "alice"
    assert idms.tokens()["access_token"]  # users still there


def test_check_and_bad_config(procs, tmp_path):
    i = Idms(procs, tmp_path)
    p = subprocess.run([str(binary("mcx-idms")), "-c", str(i.config), "--check"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert "valid" in p.stdout
    assert i.key.exists() and i.jwks_file.exists()
    p = subprocess.run([str(binary("mcx-idms")), "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "Usage" in p.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(i.config.read_text().replace("audiences:", "audience_list:"))
    p = subprocess.run([str(binary("mcx-idms")), "-c", str(bad), "--check"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "audience_list" in p.stderr


def test_sample_config_checks(tmp_path):
    from conftest import REPO
    text = (REPO / "configs" / "mcx-idms.yaml").read_text()
    text = text.replace("/var/lib/mcxcore/alpha", str(tmp_path))
    cfg = tmp_path / "sample.yaml"
    cfg.write_text(text)
    p = subprocess.run([str(binary("mcx-idms")), "-c", str(cfg), "--check"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr


def test_mcxctl_user_and_client(tmp_path):
    db = tmp_path / "idms.db"
    # Bad input on add: exit 1 and not even a database file.
    rc, _, err = mcxctl(db, "user", "add", "--username", "carol", "--password", "pw",
                        "--mcptt-id", "carol@alpha.test")
    assert rc == 1 and err.startswith("mcxctl: --mcptt-id") and err.count("\n") == 1
    assert not db.exists()
    rc, out, err = mcxctl(db, "user", "add", "--username", "carol", "--password", "-",
                          "--mcptt-id", "sip:carol@alpha.test", input="carol-pw\n")
    assert rc == 0, err
    (h,) = sqlite3.connect(str(db)).execute("SELECT pwhash FROM users").fetchone()
    m = re.fullmatch(r"pbkdf2-sha256\$(\d+)\$([A-Za-z0-9+/=]{24})\$([A-Za-z0-9+/=]{44})", h)
    assert m and int(m.group(1)) >= 100000
    before = db.read_bytes()

    for case in (
        (["user", "add", "--username", "carol", "--password", "x", "--mcptt-id",
          "sip:c@alpha.test"], 1),                                        # exists
        (["user", "add", "--username", "bad user", "--password", "x", "--mcptt-id",
          "sip:c@alpha.test"], 1),
        (["user", "add", "--username", "dave", "--password", "", "--mcptt-id",
          "sip:d@alpha.test"], 1),
        (["user", "add", "--username", "dave", "--mcptt-id", "sip:d@alpha.test"], 2),
        (["user", "update", "--username", "nobody", "--disable"], 1),
        (["user", "update", "--username", "carol", "--mcdata-id", "nope"], 1),
        (["user", "update", "--username", "carol", "--enable", "--disable"], 2),
        (["user", "update", "--username", "carol"], 2),
        (["user", "delete", "--username", "nobody"], 1, "--username: nobody: no such user"),
        (["user", "show", "--username", "nobody"], 1, "--username: nobody: no such user"),
        (["client", "add", "--client-id", "c1", "--redirect-uri", "app:/cb#frag", "--scope",
          "openid"], 1),
        (["client", "add", "--client-id", "c1", "--redirect-uri", "app:/cb", "--scope",
          PTT], 1),                                                        # no openid
        (["client", "add", "--client-id", "c1", "--scope", "openid"], 2),
        (["client", "show", "--client-id", "nobody"], 1, "--client-id: nobody: no such client"),
        (["client", "delete", "--client-id", "nobody"], 1,
         "--client-id: nobody: no such client"),
        (["user", "show"], 2),
        (["user", "frobnicate"], 2),
    ):
        args, code, what = case if len(case) == 3 else case + (None,)
        rc, out, err = mcxctl(db, *args)
        assert rc == code, (args, rc, err)
        assert err.startswith("mcxctl: ") and err.count("\n") == 1, (args, err)
        assert what is None or err == "mcxctl: %s\n" % what, (args, err)
    assert db.read_bytes() == before

    rc, out, _ = mcxctl(db, "user", "show", "--username", "carol")
    assert rc == 0 and "sip:carol@alpha.test" in out and "password          set" in out
    assert "pbkdf2" not in out and "carol-pw" not in out
    rc, out, _ = mcxctl(db, "user", "update", "--username", "carol", "--mcvideo-id",
                        "sip:carol.video@alpha.test", "--disable")
    assert rc == 0
    rc, out, _ = mcxctl(db, "user", "list")
    assert out == "carol  sip:carol@alpha.test  disabled\n"
    rc, out, err = mcxctl(db, "client", "add", "--client-id", "c1", "--redirect-uri", "app:/a",
                          "--redirect-uri", "app:/b", "--scope", "openid " + PTT)
    assert rc == 0, err
    rc, out, _ = mcxctl(db, "client", "show", "--client-id", "c1")
    assert "redirect_uri      app:/a\nredirect_uri      app:/b\n" in out
    rc, out, _ = mcxctl(db, "client", "list")
    assert out == "c1  enabled  app:/a app:/b\n"
    assert mcxctl(db, "client", "delete", "--client-id", "c1")[:2] == (0, "deleted client c1\n")
    assert mcxctl(db, "client", "list")[1] == ""
    assert mcxctl(db, "user", "delete", "--username", "carol")[:2] == (0, "deleted user carol\n")
    assert mcxctl(db, "user", "list")[1] == ""


def test_login_lockout(procs, tmp_path):
    idms = Idms(procs, tmp_path, login_attempts=2, lockout_s=3600).provision().start()
    login_failure(idms, "alice", "Pw-guess-1")
    login_failure(idms, "alice", "Pw-guess-2")
    # Locked now: the right password is answered like a wrong one, no code.
    login_failure(idms, "alice", "alice-secret")
    assert_no_code(idms)
    assert "locked after repeated failures" in idms.daemon.log_text()
    rc, out, _ = mcxctl(idms.db, "user", "show", "--username", "alice")
    assert "failed logins     2" in out


# ----------------------------------------------------------------------------
# Durability and group commit


def test_rotated_token_survives_kill_9(idms):
    """An answered refresh is committed: SIGKILL right after the answer loses nothing."""
    t1 = idms.tokens()
    st, _, t2 = idms.refresh(t1["refresh_token"])
    assert st == 200, t2
    idms.daemon.kill()  # SIGKILL, no clean shutdown
    idms.start()
    st, _, t3 = idms.refresh(t2["refresh_token"])
    assert st == 200, t3
    # The presented one was rotated before the kill: a replay is refused.
    assert_token_error(idms.refresh(t1["refresh_token"]), 400, "invalid_grant")


def test_concurrent_refresh_chains_share_commits(idms):
    """Concurrent grants each get their own answer; the writer groups their commits."""
    import concurrent.futures
    starts = [idms.tokens()["refresh_token"] for _ in range(8)]

    def chain(rt):
        for _ in range(10):
            st, _, t = idms.refresh(rt)
            assert st == 200, t
            rt = t["refresh_token"]
        return rt

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        ends = list(ex.map(chain, starts))
    assert len(set(ends)) == 8
    assert live_refresh_tokens(idms) == 8
    m = idms.metrics()
    jobs = int(re.search(r"^mcx_idms_store_write_jobs_total (\d+)$", m, re.M).group(1))
    commits = int(re.search(r"^mcx_idms_store_commits_total (\d+)$", m, re.M).group(1))
    assert jobs >= 8 + 8 * 10 and 0 < commits <= jobs
    assert 'mcx_idms_tokens_issued_total{grant_type="refresh_token"} 80' in m


def test_expiry_sweep_deletes_only_long_expired_rows(procs, tmp_path):
    """The sweep (at start, then every 60 s) is the only purge; live rows stay."""
    idms = Idms(procs, tmp_path).provision()
    now = int(time.time())
    con = sqlite3.connect(str(idms.db))
    rows = [("old", now - 2 * 86400), ("grace", now - 100), ("live", now + 3600)]
    for h, exp in rows:
        con.execute("INSERT INTO refresh_tokens (hash, family, client_id, username, scope, "
                    "auth_time, expires) VALUES (?, 'f', ?, 'alice', 'openid', ?, ?)",
                    (h, CLIENT, now, exp))
        con.execute("INSERT INTO auth_codes (hash, client_id, redirect_uri, username, scope, "
                    "code_challenge, auth_time, expires) VALUES (?, ?, ?, 'alice', 'openid', "
                    "'x', ?, ?)", (h, CLIENT, REDIRECT, now, exp))
    con.commit()
    con.close()
    idms.start()
    deadline = time.time() + 5
    while time.time() < deadline:
        if idms.rows("SELECT count(*) FROM refresh_tokens WHERE hash = 'old'")[0][0] == 0:
            break
        time.sleep(0.05)
    assert [r[0] for r in idms.rows("SELECT hash FROM refresh_tokens ORDER BY hash")] == \
        ["grace", "live"]
    assert [r[0] for r in idms.rows("SELECT hash FROM auth_codes ORDER BY hash")] == \
        ["grace", "live"]
    idx = {r[0] for r in idms.rows("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"refresh_tokens_expires", "auth_codes_expires"} <= idx
