# SPDX-License-Identifier: AGPL-3.0-or-later
"""mcx-ue's MC service lifecycle (TS 23.280 10.1.1.1): IdM client, configuration
and group management clients, SIP registration and service authorization.

Part 1 runs mcx-ue against stand-ins written here: one HTTPS server (Python's
http.server + ssl, certificate from a throwaway CA made with `cryptography`)
plays the proxy with /idms/, /cms/ and /gms/ behind it, and records every
request so the tests can check what the UE sent (PKCE S256 challenge against
the verifier, state echoed, Bearer token, If-None-Match on the second run).
A scripted registrar (test_ue_register.FakeRegistrar) answers REGISTER and,
here, PUBLISH.

Part 2 runs the real daemons (mcx-idms, mcx-cms, mcx-gms) when they are built.
"""

import base64
import datetime
import hashlib
import ipaddress
import json
import re
import ssl
import subprocess
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import conftest
from conftest import binary, free_port, to_yaml
import tokens
from test_ue_register import FakeRegistrar, SipMsg, IMPI, IMPU, PASSWORD

conftest.BINARIES.setdefault("mcx-ue", "src/mcx-ue/mcx-ue")

USER = "alice"
USER_PW = "alice-mc-secret"
MCPTT_ID = "sip:alice@alpha.test"
CLIENT_ID = "mcx-ue"
REDIRECT = "org.mcxcore.ue:/oauth2redirect"
GROUPS = ["sip:fire-1@alpha.test", "sip:police-2@alpha.test"]
PSI = "sip:mcptt-server@alpha.test"


# ----------------------------------------------------------------------------
# Certificates


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(tmp, name):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .sign(key, hashes.SHA256()))
    p = tmp / ("%s.pem" % name)
    p.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, p


def make_server_cert(tmp, ca_key, ca_cert):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name("127.0.0.1"))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .sign(ca_key, hashes.SHA256()))
    cp, kp = tmp / "server.pem", tmp / "server.key"
    cp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    kp.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    return cp, kp


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pki")
    ca_key, ca_cert, ca = make_ca(tmp, "test-ca")
    _, _, other_ca = make_ca(tmp, "other-ca")
    cert, key = make_server_cert(tmp, ca_key, ca_cert)
    return {"ca": ca, "other_ca": other_ca, "cert": cert, "key": key}


# ----------------------------------------------------------------------------
# HTTPS stand-in: IdMS, CMS and GMS behind one "proxy"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def profile_xml(groups):
    entries = "".join("<entry><uri-entry>%s</uri-entry></entry>" % g for g in groups)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<mcptt-user-profile xmlns="urn:3gpp:mcptt:user-profile:1.0" XUI-URI="%s" '
            'user-profile-index="0"><Name>Alice</Name><Common/>'
            '<OnNetwork><MCPTTGroupInfo>%s</MCPTTGroupInfo></OnNetwork>'
            '</mcptt-user-profile>\n' % (MCPTT_ID, entries))


def group_xml(uri, name, members):
    es = "".join('<entry uri="%s"/>' % m for m in members)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<group xmlns="urn:oma:xml:poc:list-service"><list-service uri="%s">'
            '<display-name>%s</display-name><list>%s</list></list-service></group>\n'
            % (uri, name, es))


class StandIn:
    """The IdMS, CMS and GMS a UE sees through the proxy, in one HTTPS server."""

    def __init__(self, pki):
        self.port = free_port()
        self.base = "https://127.0.0.1:%d" % self.port
        self.issuer = tokens.Issuer(self.base + "/idms")
        self.requests = []          # (method, path, headers dict, body)
        self.codes = {}             # code -> authorization request params
        self.access_tokens = []
        self.refresh_tokens = set()
        self.password = USER_PW
        self.expires_in = 3600
        self.cms_status = None      # force a status on every CMS request
        self.bad_scope = False
        self.docs = {
            "/cms/org.openmobilealliance.xcap-directory/users/%s/directory.xml" % MCPTT_ID:
                ('<?xml version="1.0" encoding="UTF-8"?>\n'
                 '<xcap-directory xmlns="urn:oma:xml:xdm:xcap-directory">'
                 '<folder auid="org.3gpp.mcptt.user-profile"><entry uri="%s/cms/'
                 'org.3gpp.mcptt.user-profile/users/%s/user-profile-0.xml" etag="p0"/>'
                 '</folder></xcap-directory>\n' % (self.base, MCPTT_ID)),
            "/cms/org.3gpp.mcptt.user-profile/users/%s/user-profile-0.xml" % MCPTT_ID:
                profile_xml(GROUPS),
            "/cms/org.3gpp.mcptt.service-config/global/service-config.xml":
                '<?xml version="1.0"?><service-configuration-info '
                'xmlns="urn:3gpp:ns:mcpttServiceConfig:1.0"/>\n',
            "/gms/org.openmobilealliance.groups/global/byGroupID/%s" % GROUPS[0]:
                group_xml(GROUPS[0], "Fire crew 1", ["sip:alice@alpha.test",
                                                     "sip:bob@alpha.test",
                                                     "sip:carol@alpha.test"]),
            "/gms/org.openmobilealliance.groups/global/byGroupID/%s" % GROUPS[1]:
                group_xml(GROUPS[1], "Police 2", ["sip:alice@alpha.test"]),
        }
        self.etags = {p: '"%s"' % hashlib.sha256(d.encode()).hexdigest()[:16]
                      for p, d in self.docs.items()}
        standin = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                standin._handle(self, "GET")

            def do_POST(self):
                standin._handle(self, "POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(pki["cert"]), str(pki["key"]))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def of(self, method, prefix):
        return [r for r in self.requests if r[0] == method and r[1].startswith(prefix)]

    # -- plumbing --------------------------------------------------------------

    def _send(self, h, code, body=b"", ctype="text/plain", headers=()):
        if isinstance(body, str):
            body = body.encode()
        h.send_response(code)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def _json(self, h, code, obj):
        self._send(h, code, json.dumps(obj), "application/json",
                   [("Cache-Control", "no-store")])

    def _handle(self, h, method):
        n = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(n).decode() if n else ""
        url = urllib.parse.urlsplit(h.path)
        path = urllib.parse.unquote(url.path)
        self.requests.append((method, path, dict(h.headers.items()), body, url.query))
        if path.startswith("/idms/"):
            return self._idms(h, method, path[5:], url.query, body)
        if path.startswith("/cms/") or path.startswith("/gms/"):
            return self._xcap(h, method, path)
        self._send(h, 404)

    # -- IdMS ------------------------------------------------------------------

    def _idms(self, h, method, path, query, body):
        iss = self.issuer.iss
        if path == "/.well-known/openid-configuration":
            return self._json(h, 200, {
                "issuer": iss, "authorization_endpoint": iss + "/authorize",
                "token_endpoint": iss + "/token", "jwks_uri": iss + "/jwks",
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
                "scopes_supported": tokens.ALL_SCOPES.split()})
        if path == "/authorize":
            q = dict(urllib.parse.parse_qsl(query if method == "GET" else body))
            if q.get("client_id") != CLIENT_ID or q.get("redirect_uri") != REDIRECT:
                return self._json(h, 400, {"error": "invalid_request",
                                           "error_description": "unknown client"})
            if self.bad_scope:
                loc = REDIRECT + "?" + urllib.parse.urlencode({
                    "error": "invalid_scope",
                    "error_description": "scope 3gpp:mc:ptt_service not allowed",
                    "state": q.get("state", "")})
                return self._send(h, 302, headers=[("Location", loc)])
            if method == "GET":
                return self._send(h, 200, "<html><body><form method='post'>"
                                  "<input name='username'/><input name='password'/>"
                                  "</form></body></html>", "text/html")
            if q.get("username") != USER or q.get("password") != self.password:
                return self._send(h, 401, "<html><head><title>Log in</title></head><body>"
                                  "<p class='error'>Invalid username or password</p>"
                                  "<form method='post'></form></body></html>", "text/html")
            code = uuid.uuid4().hex
            self.codes[code] = q
            loc = REDIRECT + "?" + urllib.parse.urlencode({"code": code,
                                                           "state": q["state"]})
            return self._send(h, 302, headers=[("Location", loc)])
        if path == "/token" and method == "POST":
            f = dict(urllib.parse.parse_qsl(body))
            if f.get("grant_type") == "authorization_code":
                req = self.codes.pop(f.get("code"), None)
                if not req or f.get("client_id") != CLIENT_ID or \
                        f.get("redirect_uri") != REDIRECT:
                    return self._json(h, 400, {"error": "invalid_grant"})
                want = b64u(hashlib.sha256(f.get("code_verifier", "").encode()).digest())
                if want != req.get("code_challenge"):
                    return self._json(h, 400, {"error": "invalid_grant",
                                               "error_description": "PKCE verification failed"})
                return self._tokens(h, req.get("scope"), req.get("nonce"))
            if f.get("grant_type") == "refresh_token":
                if f.get("refresh_token") not in self.refresh_tokens:
                    return self._json(h, 400, {"error": "invalid_grant"})
                return self._tokens(h, tokens.ALL_SCOPES, None)
            return self._json(h, 400, {"error": "unsupported_grant_type"})
        self._send(h, 404)

    def _tokens(self, h, scope, nonce):
        at = self.issuer.token(MCPTT_ID, ["cms.alpha.test", "gms.alpha.test",
                                          "mcptt.alpha.test"], scope=scope,
                               lifetime=self.expires_in, sub=USER)
        self.access_tokens.append(at)
        idc = {"iss": self.issuer.iss, "sub": USER, "aud": CLIENT_ID, "mcptt_id": MCPTT_ID,
               "iat": int(time.time()), "exp": int(time.time()) + 300,
               "auth_time": int(time.time()), "acr": "3gpp:acr:password"}
        if nonce:
            idc["nonce"] = nonce
        import jwt
        idt = jwt.encode(idc, self.issuer.key, algorithm="ES256",
                         headers={"kid": self.issuer.kid, "typ": "JWT"})
        rt = uuid.uuid4().hex
        self.refresh_tokens.add(rt)
        return self._json(h, 200, {"access_token": at, "token_type": "Bearer",
                                   "expires_in": self.expires_in, "refresh_token": rt,
                                   "id_token": idt, "scope": scope})

    # -- XCAP ------------------------------------------------------------------

    def _xcap(self, h, method, path):
        if self.cms_status and path.startswith("/cms/"):
            return self._send(h, self.cms_status, "",
                              headers=[("WWW-Authenticate",
                                        'Bearer realm="cms", error="invalid_token"')])
        auth = h.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.access_tokens:
            return self._send(h, 401, headers=[("WWW-Authenticate", 'Bearer realm="xcap"')])
        if method != "GET" or path not in self.docs:
            return self._send(h, 404)
        etag = self.etags[path]
        if h.headers.get("If-None-Match") == etag:
            return self._send(h, 304, headers=[("ETag", etag)])
        ctype = "application/vnd.oma.poc.groups+xml" if path.startswith("/gms/") \
            else "application/xml"
        self._send(h, 200, self.docs[path], ctype, [("ETag", etag)])


@pytest.fixture
def standin(pki):
    s = StandIn(pki)
    yield s
    s.close()


# ----------------------------------------------------------------------------
# SIP: the scripted registrar, answering PUBLISH too


class PublishRegistrar(FakeRegistrar):
    """FakeRegistrar (Digest) that also plays S-CSCF + MC service server for PUBLISH."""

    def __init__(self, publish_code=200, warning=None, **kw):
        super().__init__(None, scheme="digest", algorithms=("SHA-256",), **kw)
        self.publish_code = publish_code
        self.warning = warning
        self.publishes = []        # (SipMsg, body)
        self.etag_n = 0

    def _handle(self, text, transport):
        if not text.startswith("PUBLISH "):
            return super()._handle(text, transport)
        req = SipMsg(text)
        body = text.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in text else ""
        self.publishes.append((req, body))
        if self.publish_code != 200:
            extra = ['Warning: 399 mcx-server "%s"' % self.warning] if self.warning else []
            return self._reply(req, self.publish_code, "Forbidden", extra)
        self.etag_n += 1
        exp = req.get("Expires")
        return self._reply(req, 200, "OK", ["SIP-ETag: e%d" % self.etag_n, "Expires: %s" % exp])


@pytest.fixture
def sipreg():
    made = []

    def make(**kw):
        r = PublishRegistrar(**kw)
        made.append(r)
        return r
    yield make
    for r in made:
        r.close()


# ----------------------------------------------------------------------------
# mcx-ue runner


class Run:
    def __init__(self, p):
        self.rc = p.returncode
        self.out = p.stdout.decode(errors="replace")
        self.err = p.stderr.decode(errors="replace")

    def __repr__(self):
        return "rc=%s\n--- stdout ---\n%s--- stderr ---\n%s" % (self.rc, self.out, self.err)


class Ue:
    def __init__(self, tmp, standin, ca, sip_port=None, **mc):
        self.tmp = Path(tmp)
        self.cfg = self.tmp / "ue.yaml"
        base = standin.base if standin else "https://127.0.0.1:1"
        self.mc = {"idms_url": base + "/idms", "cms_url": base + "/cms",
                   "gms_url": base + "/gms", "ca_file": str(ca), "username": USER,
                   "password": USER_PW, "state_dir": str(self.tmp / "state")}
        self.mc.update(mc)
        self.mc = {k: v for k, v in self.mc.items() if v is not None}
        self.sip = {"proxy": "127.0.0.1", "port": sip_port or 9, "timeout_seconds": 10}

    def run(self, *args, timeout=60):
        self.cfg.write_text(to_yaml({
            "isim": {"impi": IMPI, "impu": IMPU, "password": PASSWORD},
            "sip": self.sip, "mc": self.mc}) + "\n")
        p = subprocess.run([str(binary("mcx-ue")), "-c", str(self.cfg)] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        r = Run(p)
        print(r)
        return r


HTTP_ONLY = ("--phases", "idm,cmc,gmc", "--once")


def secrets_absent(r, standin):
    for t in standin.access_tokens + list(standin.refresh_tokens):
        assert t not in r.out + r.err
    assert USER_PW not in r.out + r.err


# ----------------------------------------------------------------------------
# Part 1: stand-ins


def test_http_phases_pkce_state_bearer(tmp_path, pki, standin):
    ue = Ue(tmp_path, standin, pki["ca"])
    r = ue.run(*HTTP_ONLY)
    assert r.rc == 0, r
    # PKCE: the challenge of the GET equals S256(verifier of the token request)
    get = standin.of("GET", "/idms/authorize")
    assert len(get) == 1
    q = dict(urllib.parse.parse_qsl(get[0][4]))
    assert q["response_type"] == "code" and q["client_id"] == CLIENT_ID
    assert q["redirect_uri"] == REDIRECT and q["code_challenge_method"] == "S256"
    assert q["scope"] == ("openid 3gpp:mc:ptt_service 3gpp:mc:ptt_config_management_service "
                          "3gpp:mc:ptt_group_management_service")
    assert q["acr_values"] == "3gpp:acr:password" and q["nonce"] and len(q["state"]) >= 16
    post = dict(urllib.parse.parse_qsl(standin.of("POST", "/idms/authorize")[0][3]))
    assert post["username"] == USER and post["password"] == USER_PW
    assert post["state"] == q["state"] and post["code_challenge"] == q["code_challenge"]
    tok = dict(urllib.parse.parse_qsl(standin.of("POST", "/idms/token")[0][3]))
    assert tok["grant_type"] == "authorization_code" and tok["client_id"] == CLIENT_ID
    assert 43 <= len(tok["code_verifier"]) <= 128
    assert b64u(hashlib.sha256(tok["code_verifier"].encode()).digest()) == q["code_challenge"]
    # every XCAP request carried the access token as Bearer
    xcap = [x for x in standin.requests if x[1].startswith(("/cms/", "/gms/"))]
    assert xcap and all(x[2].get("Authorization") == "Bearer " + standin.access_tokens[0]
                        for x in xcap)
    paths = [x[1] for x in xcap]
    assert paths[0].endswith("xcap-directory/users/%s/directory.xml" % MCPTT_ID)
    assert any(p.endswith("user-profile-0.xml") for p in paths)
    assert any(p.endswith("global/service-config.xml") for p in paths)
    assert ["/gms/org.openmobilealliance.groups/global/byGroupID/" + g for g in GROUPS] == \
        [p for p in paths if p.startswith("/gms/")]
    # the ladder
    assert "authorization request" in r.out and "200 login form" in r.out
    assert "token 200: access token for alice" in r.out and "expires in 3600 s" in r.out
    assert "nonce matches" in r.out
    assert 'group %s "Fire crew 1": 3 member(s)' % GROUPS[0] in r.out
    assert 'group %s "Police 2": 1 member(s)' % GROUPS[1] in r.out
    assert "404: not provisioned (optional, skipped)" in r.out   # UE config not provisioned
    secrets_absent(r, standin)
    # state kept: tokens file is 0600, documents with ETags
    st = tmp_path / "state"
    assert (st / "tokens.json").stat().st_mode & 0o777 == 0o600
    assert list((st / "cms").glob("*.etag")) and list((st / "gms").glob("*.etag"))


def test_second_run_sends_if_none_match_and_uses_304(tmp_path, pki, standin):
    ue = Ue(tmp_path, standin, pki["ca"])
    assert ue.run(*HTTP_ONLY).rc == 0
    n = len(standin.requests)
    r = ue.run(*HTTP_ONLY)
    assert r.rc == 0, r
    second = [x for x in standin.requests[n:] if x[1].startswith(("/cms/", "/gms/"))]
    with_inm = [x for x in second if x[1] in standin.etags]
    assert with_inm and all(x[2].get("If-None-Match") == standin.etags[x[1]] for x in with_inm)
    assert r.out.count("304 not modified, kept copy used") == len(with_inm)
    # the groups still come from the kept profile
    assert 'group %s "Fire crew 1": 3 member(s)' % GROUPS[0] in r.out
    # a changed document is downloaded again
    p = "/cms/org.3gpp.mcptt.user-profile/users/%s/user-profile-0.xml" % MCPTT_ID
    standin.docs[p] = profile_xml(GROUPS[:1])
    standin.etags[p] = '"changed"'
    r = ue.run(*HTTP_ONLY)
    assert r.rc == 0, r
    assert "(changed since the kept copy)" in r.out
    assert "user profile names 1 group(s)" in r.out


def test_refresh_token_grant(tmp_path, pki, standin):
    ue = Ue(tmp_path, standin, pki["ca"])
    r = ue.run("--phases", "idm,cmc", "--once", "--refresh-token")
    assert r.rc == 0, r
    grants = [dict(urllib.parse.parse_qsl(x[3]))["grant_type"]
              for x in standin.of("POST", "/idms/token")]
    assert grants == ["authorization_code", "refresh_token"]
    assert "refresh_token grant 200: access token for alice" in r.out
    # the CMS got the refreshed token
    cms = standin.of("GET", "/cms/")
    assert cms and all(x[2]["Authorization"] == "Bearer " + standin.access_tokens[1]
                       for x in cms)


def test_wrong_password(tmp_path, pki, standin):
    standin.password = "something-else"
    ue = Ue(tmp_path, standin, pki["ca"])
    r = ue.run(*HTTP_ONLY)
    assert r.rc == 1, r
    assert "login as alice refused: 401 (credentials not accepted): " \
        "Invalid username or password" in r.err
    assert not standin.of("POST", "/idms/token") and not standin.of("GET", "/cms/")


def test_error_redirect_is_printed(tmp_path, pki, standin):
    standin.bad_scope = True
    ue = Ue(tmp_path, standin, pki["ca"])
    r = ue.run(*HTTP_ONLY)
    assert r.rc == 1, r
    assert 'error=invalid_scope error_description="scope 3gpp:mc:ptt_service not allowed"' \
        in r.err
    assert not standin.of("POST", "/idms/token")


def test_bad_ca_is_a_tls_failure(tmp_path, pki, standin):
    ue = Ue(tmp_path, standin, pki["other_ca"])
    r = ue.run(*HTTP_ONLY)
    assert r.rc == 1, r
    assert "discovery" in r.err and "TLS" in r.err and "certificate" in r.err
    assert not standin.requests   # nothing was sent over the unverified connection


def test_cms_401_names_the_step(tmp_path, pki, standin):
    standin.cms_status = 401
    ue = Ue(tmp_path, standin, pki["ca"])
    r = ue.run(*HTTP_ONLY)
    assert r.rc == 1, r
    assert "CSC-4 configuration management client -> CMS" in r.err
    assert "refused: 401" in r.err and 'error="invalid_token"' in r.err
    assert not standin.of("GET", "/gms/")


def test_config_and_phase_errors(tmp_path, pki, standin):
    ue = Ue(tmp_path, standin, pki["ca"], idms_url="http://127.0.0.1:1/idms")
    r = ue.run("--check")
    assert r.rc == 2 and "mc.idms_url: must be an https:// URL" in r.err, r
    ue = Ue(tmp_path, standin, pki["ca"], cms_url=None, gms_url=None)
    r = ue.run("--phases", "idm,gmc")
    assert r.rc == 2 and "phase gmc needs mc.gms_url" in r.err, r
    r = ue.run("--phases", "idm,bogus")
    assert r.rc == 2 and "--phases" in r.err, r
    ue = Ue(tmp_path, standin, pki["ca"])
    r = ue.run("--check")
    assert r.rc == 0 and "phases idm,cmc,gmc,register,svcauth" in r.out, r


def _parts(body):
    m = re.search(r"--([^\r\n]+)\r\n", body)
    boundary = m.group(1)
    parts = {}
    for chunk in body.split("--" + boundary)[1:]:
        if chunk.startswith("--"):
            break
        head, content = chunk.strip("\r\n").split("\r\n\r\n", 1)
        ct = re.search(r"Content-Type:\s*([^\r\n]+)", head).group(1).strip()
        parts[ct] = content
    return boundary, parts


def test_full_lifecycle_with_publish(tmp_path, pki, standin, sipreg):
    import xml.etree.ElementTree as ET
    reg = sipreg()
    ue = Ue(tmp_path, standin, pki["ca"], sip_port=reg.port)
    r = ue.run("--once")
    assert r.rc == 0, r
    assert [e for e in reg.events() if e in ("registered", "dereg")] == ["registered", "dereg"]
    assert len(reg.publishes) == 2, reg.publishes
    (p1, body1), (p2, body2) = reg.publishes
    assert p1.first.startswith("PUBLISH %s SIP/2.0" % PSI)
    assert p1.get("Event") == "poc-settings" and p1.get("Expires") == "3600"
    assert p1.get("Route") == "<sip:orig@scscf.alpha.test:5060;lr>"
    assert p1.get("SIP-If-Match") is None
    assert p1.get("Content-Type").startswith("multipart/mixed")
    boundary, parts = _parts(body1)
    assert "boundary=%s" % boundary in p1.get("Content-Type")
    info = ET.fromstring(parts["application/vnd.3gpp.mcptt-info+xml"])
    ns = {"i": "urn:3gpp:ns:mcpttInfo:1.0"}
    tok = info.find("i:mcptt-Params/i:mcptt-access-token", ns)
    assert tok.get("type") == "Normal"
    assert tok.find("i:mcpttString", ns).text == standin.access_tokens[-1]
    cid = info.find("i:mcptt-Params/i:mcptt-client-id", ns)
    assert cid.get("type") == "Normal" and cid.find("i:mcpttString", ns).text == CLIENT_ID
    ps = ET.fromstring(parts["application/poc-settings+xml"])
    assert ps.tag == "{urn:oma:xml:poc:poc-settings}poc-settings"
    # removal before de-registration: SIP-If-Match, Expires 0, no body
    assert p2.get("SIP-If-Match") == "e1" and p2.get("Expires") == "0" and not body2.strip()
    i_pub = r.out.index("SERVICE AUTHORIZATION accepted")
    i_rm = r.out.index("SERVICE AUTHORIZATION removed")
    i_dereg = r.out.index("DEREGISTERED")
    assert r.out.index("REGISTERED %s" % IMPU) < i_pub < i_rm < i_dereg
    secrets_absent(r, standin)


def test_publish_403_with_warning(tmp_path, pki, standin, sipreg):
    reg = sipreg(publish_code=403, warning="user not authorized: no profile in the CMS")
    ue = Ue(tmp_path, standin, pki["ca"], sip_port=reg.port)
    r = ue.run("--phases", "idm,register,svcauth", "--once")
    assert r.rc == 1, r
    assert "service authorization refused by %s: 403 Forbidden" % PSI in r.err
    assert "no profile in the CMS" in r.err
    assert "dereg" in reg.events()     # it still de-registered
    assert len(reg.publishes) == 1


def test_refresh_and_sigterm_removes_publication(tmp_path, pki, standin, sipreg):
    reg = sipreg()
    ue = Ue(tmp_path, standin, pki["ca"], sip_port=reg.port, publish_expires=2)
    ue.run("--check")  # writes the config
    outf = tmp_path / "ue.out"
    with open(outf, "wb") as o:
        p = subprocess.Popen([str(binary("mcx-ue")), "-c", str(ue.cfg),
                              "--phases", "idm,register,svcauth"],
                             stdout=o, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(reg.publishes) < 3:
            time.sleep(0.1)
        assert len(reg.publishes) >= 3, outf.read_text()
        # the refreshes: SIP-If-Match with the last entity-tag, no body
        _, b = reg.publishes[1]
        assert reg.publishes[1][0].get("SIP-If-Match") == "e1" and not b.strip()
        assert reg.publishes[2][0].get("SIP-If-Match") == "e2"
        p.send_signal(15)
        assert p.wait(20) == 0, outf.read_text()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    last = reg.publishes[-1][0]
    assert last.get("Expires") == "0"
    assert reg.events()[-1] == "dereg"


# ----------------------------------------------------------------------------
# Part 2: the real mcx-idms, mcx-cms and mcx-gms behind a TLS proxy
#
# The proxy here plays nginx's role from the contract (TLS termination, the
# /idms/ /cms/ /gms/ prefixes stripped, X-Forwarded-For/-Proto) so the
# daemons see exactly what they see behind nginx; `mcx up` tests the real one.


class TlsProxy:
    def __init__(self, pki, routes):
        import http.client
        self.port = free_port()
        self.base = "https://127.0.0.1:%d" % self.port
        self.routes = routes        # prefix -> backend port
        self.seen = []
        proxy = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _fwd(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                proxy.seen.append((self.command, self.path, dict(self.headers.items())))
                for prefix, port in proxy.routes.items():
                    if self.path.startswith(prefix + "/"):
                        break
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                hdrs = {k: v for k, v in self.headers.items()
                        if k.lower() not in ("host", "connection", "content-length")}
                hdrs["X-Forwarded-For"] = self.client_address[0]
                hdrs["X-Forwarded-Proto"] = "https"
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                c.request(self.command, self.path[len(prefix):], body=body, headers=hdrs)
                r = c.getresponse()
                data = r.read()
                c.close()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("content-length", "connection", "transfer-encoding",
                                         "date", "server"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _fwd

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(pki["cert"]), str(pki["key"]))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _mcxctl(db, *args):
    p = subprocess.run([str(binary("mcxctl")), "--db", str(db)] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


@pytest.fixture
def realsys(tmp_path, pki, procs):
    """IdMS + CMS + GMS of system alpha, provisioned for alice, behind the proxy."""
    for b in ("mcx-idms", "mcx-cms", "mcx-gms", "mcxctl"):
        binary(b)
    ports = {"/idms": free_port(), "/cms": free_port(), "/gms": free_port()}
    proxy = TlsProxy(pki, ports)
    iss = proxy.base + "/idms"
    d = tmp_path / "sys"
    d.mkdir()
    jwks = d / "idms-jwks.json"

    def conf(name, port, section, **extra):
        p = d / ("%s.yaml" % name)
        doc = {"http": {"listen": "127.0.0.1", "port": port, "threads": 4},
               "log_level": "info", "store": {"path": str(d / ("%s.db" % name))}}
        doc.update(extra)
        doc[name] = section
        p.write_text(to_yaml(doc) + "\n")
        return p

    idms_conf = conf("idms", ports["/idms"], {
        "issuer": iss, "signing_key": str(d / "idms-key.pem"), "jwks_out": str(jwks),
        "audiences": ["cms.alpha.test", "gms.alpha.test", "mcptt.alpha.test"]})
    _mcxctl(d / "idms.db", "user", "add", "--username", USER, "--password", USER_PW,
            "--mcptt-id", MCPTT_ID)
    _mcxctl(d / "idms.db", "client", "add", "--client-id", CLIENT_ID, "--redirect-uri",
            REDIRECT, "--scope", tokens.ALL_SCOPES)
    procs.add(conftest.Daemon("mcx-idms", [binary("mcx-idms"), "-c", idms_conf],
                              d / "idms.log", ports["/idms"])).start()
    assert jwks.exists()

    def trust(aud):
        return {"audience": aud, "leeway": 5, "trust": [{"issuer": iss, "jwks_file": str(jwks)}]}

    cms_conf = conf("cms", ports["/cms"], {"xcap_root": proxy.base + "/cms"},
                    auth=trust("cms.alpha.test"))
    gms_conf = conf("gms", ports["/gms"], {"xcap_root": proxy.base + "/gms"},
                    auth=trust("gms.alpha.test"))
    up = d / "up0.xml"
    up.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<mcptt-user-profile xmlns="urn:3gpp:mcptt:user-profile:1.0" XUI-URI="%s" '
        'user-profile-index="0"><Name>Alice</Name>'
        '<Common><MCPTTUserID><uri-entry>%s</uri-entry></MCPTTUserID></Common>'
        '<OnNetwork><MCPTTGroupInfo>%s</MCPTTGroupInfo></OnNetwork></mcptt-user-profile>\n'
        % (MCPTT_ID, MCPTT_ID,
           "".join("<entry><uri-entry>%s</uri-entry></entry>" % g for g in GROUPS)))
    _mcxctl(d / "cms.db", "xcap", "put", "--auid", "org.3gpp.mcptt.user-profile", "--user",
            MCPTT_ID, "--doc", "user-profile-0.xml", "--file", up)
    g = d / "g0.xml"
    g.write_text('<?xml version="1.0" encoding="UTF-8"?>\n'
                 '<group xmlns="urn:oma:xml:poc:list-service"><list-service uri="%s">'
                 '<display-name>Fire crew 1</display-name><list><entry uri="%s"/>'
                 '<entry uri="sip:bob@alpha.test"/></list></list-service></group>\n'
                 % (GROUPS[0], MCPTT_ID))
    _mcxctl(d / "gms.db", "xcap", "put", "--auid", "org.openmobilealliance.groups",
            "--global", "--doc", "byGroupID/" + GROUPS[0], "--file", g)
    procs.add(conftest.Daemon("mcx-cms", [binary("mcx-cms"), "-c", cms_conf],
                              d / "cms.log", ports["/cms"])).start()
    procs.add(conftest.Daemon("mcx-gms", [binary("mcx-gms"), "-c", gms_conf],
                              d / "gms.log", ports["/gms"])).start()

    class S:
        pass
    s = S()
    s.base, s.proxy, s.dir = proxy.base, proxy, d
    s.access_tokens, s.refresh_tokens = [], set()
    yield s
    proxy.close()


def test_real_daemons_http_phases(tmp_path, pki, realsys):
    ue = Ue(tmp_path, realsys, pki["ca"])
    r = ue.run(*HTTP_ONLY)
    assert r.rc == 0, r
    assert "token 200: access token for alice" in r.out
    assert "nonce matches" in r.out and "mcptt_id %s" % MCPTT_ID in r.out
    assert "user profile names 2 group(s)" in r.out
    assert 'group %s "Fire crew 1": 2 member(s)' % GROUPS[0] in r.out
    assert "byGroupID/%s (group document) 404" % GROUPS[1] in r.out
    assert USER_PW not in r.out + r.err
    # second run: conditional GETs answered 304 by the real servers
    r = ue.run(*HTTP_ONLY, "--refresh-token")
    assert r.rc == 0, r
    assert "304 not modified, kept copy used" in r.out
    assert "refresh_token grant 200" in r.out


def test_real_idms_wrong_password(tmp_path, pki, realsys):
    ue = Ue(tmp_path, realsys, pki["ca"], password="not-alices")
    r = ue.run(*HTTP_ONLY)
    assert r.rc == 1, r
    assert "refused: 401 (credentials not accepted): Invalid username or password." in r.err


def test_real_idms_client_not_allowed_scope(tmp_path, pki, realsys):
    # a scope without openid is redirected back with invalid_scope
    ue = Ue(tmp_path, realsys, pki["ca"], scopes="3gpp:mc:ptt_service")
    r = ue.run(*HTTP_ONLY)
    assert r.rc == 1, r
    assert "authorization refused: error=invalid_scope" in r.err and "(state ok)" in r.err


def test_real_idms_unknown_client_is_not_redirected(tmp_path, pki, realsys):
    ue = Ue(tmp_path, realsys, pki["ca"], client_id="not-registered")
    r = ue.run(*HTTP_ONLY)
    assert r.rc == 1, r
    assert "authorization request 400: Authorization request refused" in r.err
