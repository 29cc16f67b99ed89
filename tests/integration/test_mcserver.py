# SPDX-License-Identifier: AGPL-3.0-or-later
"""mcx-server, the MC service server's service authorization (TS 24.379 7.3).

Direct tests: SIPp plays the S-CSCF (third-party REGISTER) and the UE
(PUBLISH of poc-settings with mcptt-info) against mcx-server; tokens are
minted by tokens.py (independent of lib/jose); a small in-process HTTP
server stands in for the CMS (XCAP directory + user profiles) and records
the bearer tokens it is shown. Assertions are on the SIP final response
(from SIPp's message trace), on GET /users of mcx-server's status API, and
on what the CMS saw.

Through Kamailio: the S-CSCF of test_scscf_sipp.py with a subscriber
provisioned with configs/kamailio/mc-ifc.xml.in: REGISTER makes the S-CSCF
send the third-party REGISTER, and the UE's PUBLISH sent on its
Service-Route is forwarded to mcx-server by the originating iFC.
"""

import json
import re
import socket
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest

import tokens
from conftest import Daemon, binary, free_port, to_yaml
from test_scscf_sipp import (ALICE, ALICE_IMPU, ALICE_PW, SCSCF_HOST, SIPP_DIR, SippRun, Ue,
                             core, free_sip_port, header, render, sipp_binary)  # noqa: F401

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

REALM = "alpha.test"
PSI = "sip:mcptt-server@alpha.test"
ISSUER = "https://127.0.0.1:8443/idms"
AUDIENCES = ["cms.alpha.test", "gms.alpha.test", "mcptt.alpha.test"]
BOB_IMPU = "sip:bob@alpha.test"
NS_INFO = "urn:3gpp:ns:mcpttInfo:1.0"
BOUNDARY = "mcx-boundary-42"


# ----------------------------------------------------------------------------
# Bodies


def mcptt_info(token, client_id="mcx-ue", ttype="Normal"):
    tok = ("" if token is None else
           '<mcptt-access-token type="%s"><mcpttString>%s</mcpttString></mcptt-access-token>'
           % (ttype, token))
    return ('<?xml version="1.0" encoding="UTF-8"?>\r\n'
            '<mcpttinfo xmlns="%s"><mcptt-Params>%s'
            '<mcptt-client-id type="Normal"><mcpttString>%s</mcpttString></mcptt-client-id>'
            '</mcptt-Params></mcpttinfo>' % (NS_INFO, tok, client_id))


POC_SETTINGS = ('<?xml version="1.0" encoding="UTF-8"?>\r\n'
                '<poc-settings xmlns="urn:oma:xml:poc:poc-settings">'
                '<entity id="mcx-ue"><am-settings><answer-mode>automatic</answer-mode>'
                '</am-settings></entity></poc-settings>')


def multipart(parts, boundary=BOUNDARY):
    out = ""
    for ctype, body in parts:
        out += "--%s\r\nContent-Type: %s\r\n\r\n%s\r\n" % (boundary, ctype, body)
    return out + "--%s--" % boundary


def publish_body(token, **kw):
    return multipart([("application/vnd.3gpp.mcptt-info+xml", mcptt_info(token, **kw)),
                      ("application/poc-settings+xml", POC_SETTINGS)])


MULTIPART_CT = "multipart/mixed; boundary=%s" % BOUNDARY


def ue_register(impu, token):
    """The UE's own REGISTER with its mcptt-info (what an S-CSCF would put in
    a message/sip body, TS 24.379 7.3.1 option a)."""
    body = publish_body(token)
    return ("REGISTER sip:alpha.test SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-ue-1\r\n"
            "From: <%s>;tag=ue1\r\nTo: <%s>\r\nCall-ID: ue-reg-1@127.0.0.1\r\n"
            "CSeq: 1 REGISTER\r\nContact: <sip:ue@127.0.0.1:5999>;+g.3gpp.mcptt\r\n"
            "Expires: 600\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s"
            % (impu, impu, MULTIPART_CT, len(body), body))


SERVICE_INFO = ('<?xml version="1.0" encoding="UTF-8"?>\r\n'
                '<ims-3gpp xmlns="urn:3gpp:ns:ims-3gpp" version="1"><service-info>'
                'mcptt</service-info></ims-3gpp>')


# ----------------------------------------------------------------------------
# The CMS stand-in


def profile_xml(xui, status="true"):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<mcptt-user-profile xmlns="urn:3gpp:mcptt:user-profile:1.0" XUI-URI="%s" '
            'user-profile-index="0"><Name>%s</Name><Status>%s</Status>'
            '<ProfileName>default</ProfileName></mcptt-user-profile>' % (xui, xui, status))


class Cms:
    """XCAP directory and user profiles over plain HTTP, as mcx-cms serves
    them behind nginx: profiles[XUI] = [profile documents]."""

    def __init__(self):
        self.profiles = {}
        self.seen = []  # (path, bearer)
        cms = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                auth = self.headers.get("Authorization", "")
                bearer = auth[7:] if auth.startswith("Bearer ") else None
                path = unquote(self.path)
                cms.seen.append((path, bearer))
                if not bearer:
                    return self.answer(401, "text/plain", "no token")
                m = re.match(r"^/org\.openmobilealliance\.xcap-directory/users/([^/]+)/"
                             r"directory\.xml$", path)
                if m:
                    entries = "".join(
                        '<entry uri="http://127.0.0.1:%d/org.3gpp.mcptt.user-profile/users/'
                        '%s/user-profile-%d.xml" etag="e%d"/>' % (cms.port, m.group(1), i, i)
                        for i in range(len(cms.profiles.get(m.group(1), []))))
                    return self.answer(200, "application/vnd.oma.xcap-directory+xml",
                                       '<?xml version="1.0" encoding="UTF-8"?>\n'
                                       '<xcap-directory xmlns="urn:oma:xml:xdm:xcap-directory">'
                                       '<folder auid="org.3gpp.mcptt.user-profile">%s</folder>'
                                       '</xcap-directory>' % entries)
                m = re.match(r"^/org\.3gpp\.mcptt\.user-profile/users/([^/]+)/"
                             r"user-profile-(\d+)\.xml$", path)
                docs = cms.profiles.get(m.group(1), []) if m else []
                if m and int(m.group(2)) < len(docs):
                    return self.answer(200, "application/vnd.3gpp.mcptt-user-profile+xml",
                                       docs[int(m.group(2))])
                return self.answer(404, "text/plain", "not found")

            def answer(self, code, ctype, text):
                data = text.encode()
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def cms():
    c = Cms()
    c.profiles[ALICE_IMPU] = [profile_xml(ALICE_IMPU)]
    yield c
    c.close()


# ----------------------------------------------------------------------------
# mcx-server


class McServer:
    def __init__(self, procs, tmp_path, cms_url, transports=("udp", "tcp")):
        self.procs = procs
        self.tmp = tmp_path
        self.issuer = tokens.Issuer(ISSUER)
        self.jwks = self.issuer.write_jwks(tmp_path / "idms-jwks.json")
        self.sip_port = free_sip_port()
        self.http_port = free_port()
        self.db = tmp_path / "server.sqlite"
        self.config = tmp_path / "mcx-server.yaml"
        self.log = tmp_path / "mcx-server.log"
        conf = {
            "sip": {"listen": "127.0.0.1", "port": self.sip_port, "transports": list(transports)},
            "http": {"listen": "127.0.0.1", "port": self.http_port},
            "log_level": "debug",
            "store": {"path": str(self.db)},
            "auth": {"audience": "mcptt.alpha.test", "leeway": 5,
                     "trust": [{"issuer": ISSUER, "jwks_file": str(self.jwks)}]},
            "server": {"psi": PSI, "cms_url": cms_url, "cms_timeout_ms": 1500},
        }
        self.config.write_text(to_yaml(conf) + "\n")
        self.daemon = None
        self.n = 0

    @property
    def uri(self):
        return "sip:127.0.0.1:%d" % self.sip_port

    def start(self):
        self.daemon = self.procs.add(Daemon("mcx-server", [binary("mcx-server"), "-c",
                                                           self.config], self.log,
                                            self.http_port)).start()
        return self

    def token(self, mcptt_id=ALICE_IMPU, **kw):
        kw.setdefault("audience", AUDIENCES)
        return self.issuer.token(mcptt_id, **kw)

    # -- status API ----------------------------------------------------------

    def get(self, path):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.http_port, path),
                                        timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def users(self):
        code, body = self.get("/users")
        assert code == 200, body
        return {u["impu"]: u for u in json.loads(body)["users"]}

    def user(self, who):
        code, body = self.get("/users/" + who)
        return json.loads(body) if code == 200 else None

    # -- SIPp ----------------------------------------------------------------

    def sipp(self, scenario, keys, body=None, transport="u1", target=None):
        """Run one SIPp scenario; returns SippRun (final() gives code, headers)."""
        self.n += 1
        d = self.tmp / ("sipp-%d" % self.n)
        d.mkdir()
        (d / "body.txt").write_bytes((body or "").encode())
        trace, log = d / "trace.msg", d / "sipp.log"
        argv = [sipp_binary(), target or "127.0.0.1:%d" % self.sip_port, "-sf",
                str(SIPP_DIR / scenario), "-m", "1", "-i", "127.0.0.1", "-p",
                str(free_sip_port()), "-t", transport, "-nostdin", "-timeout", "15s",
                "-timeout_error", "-trace_msg", "-message_file", str(trace)]
        for k, v in keys.items():
            argv += ["-key", k, str(v)]
        with open(log, "wb") as f:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=f, cwd=d,
                               timeout=40)
        return SippRun(p.returncode, trace, log)

    def register(self, impu=ALICE_IMPU, expires=600, body=SERVICE_INFO,
                 ctype="application/3gpp-ims+xml", transport="u1"):
        return self.sipp("mcs-register.xml", {"ruri": self.uri, "impu": impu,
                                              "expires": expires, "ctype": ctype},
                         body, transport)

    def publish(self, body, impu=ALICE_IMPU, event="poc-settings", ctype=MULTIPART_CT,
                expires=3600, psi=PSI, hdr=None, transport="u1", target=None, route=None):
        return self.sipp("mcs-publish.xml", {
            "psi": psi, "impu": impu, "event": event, "ctype": ctype, "expires": expires,
            "route": route or "<sip:127.0.0.1:%d;lr>" % self.sip_port,
            "hdr": hdr or "P-Asserted-Identity: <%s>" % impu}, body, transport, target)

    def request(self, method, impu=ALICE_IMPU, hdr="X-Test: none", expires=3600):
        assert method == "PUBLISH"  # SIPp takes no keyword for the method
        return self.sipp("mcs-request.xml", {"psi": PSI, "impu": impu, "hdr": hdr,
                                             "expires": expires})

    def raw(self, data):
        """One request over UDP, sent again on silence as RFC 3261 17.1.2.2 does
        (Timer A from 0.5 s, four tries); the first answer's text, or None. A
        refused port (ICMP) is not retried: nothing listens there."""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        try:
            for wait in (0.5, 1.0, 2.0, 4.0):
                s.sendto(data, ("127.0.0.1", self.sip_port))
                s.settimeout(wait)
                try:
                    return s.recv(65535).decode(errors="replace")
                except socket.timeout:
                    continue
            return None
        except OSError:
            return None
        finally:
            s.close()

    def raw_request(self, method):
        """A bodiless request over UDP; (code, text of the answer)."""
        n = time.monotonic_ns()
        a = self.raw(("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK%d;rport\r\n"
                      "Max-Forwards: 70\r\nFrom: <%s>;tag=t%d\r\nTo: <%s>\r\n"
                      "Call-ID: m%d\r\nCSeq: 1 %s\r\nContent-Length: 0\r\n\r\n"
                      % (method, PSI, n, ALICE_IMPU, n, PSI, n, method)).encode())
        return (int(a.split()[1]) if a else None), a


@pytest.fixture
def server(procs, tmp_path, cms):
    sipp_binary()
    return McServer(procs, tmp_path, cms.url).start()


def final(run):
    code, h = run.final()
    return code, h


def warning(h):
    return header(h, "Warning") or ""


def assert_nothing_stored(srv, impu=ALICE_IMPU):
    u = srv.user(impu)
    assert u is None or (u["authorized"] is False and u["mcptt_id"] is None), u


# ----------------------------------------------------------------------------
# Direct tests


def test_check_and_help(tmp_path, cms):
    srv = McServer(None, tmp_path, cms.url)
    p = subprocess.run([str(binary("mcx-server")), "--help"], stdout=subprocess.PIPE)
    assert p.returncode == 0 and b"--check" in p.stdout
    p = subprocess.run([str(binary("mcx-server")), "-c", str(srv.config), "--check"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.returncode == 0, p.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(srv.config.read_text().replace("server:", "server:\n  bogus: 1"))
    p = subprocess.run([str(binary("mcx-server")), "-c", str(bad), "--check"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.returncode != 0 and b"bogus" in p.stderr


def test_sample_config_loads(tmp_path):
    text = (REPO / "configs" / "mcx-server.yaml").read_text()
    jwks = tokens.Issuer(ISSUER).write_jwks(tmp_path / "jwks.json")
    text = text.replace("/var/lib/mcxcore/alpha/idms-jwks.json", str(jwks))
    text = text.replace("/var/lib/mcxcore/alpha/server.sqlite", str(tmp_path / "s.sqlite"))
    cfg = tmp_path / "sample.yaml"
    cfg.write_text(text)
    p = subprocess.run([str(binary("mcx-server")), "-c", str(cfg), "--check"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.returncode == 0, p.stderr


def test_register_then_publish_authorizes(server, cms):
    r = server.register(expires=600)
    code, h = final(r)
    assert code == 200, r.text()
    # RFC 3261 10.3: the registrar's 200 carries the binding and its expiry.
    assert header(h, "Contact").endswith(";expires=600") and header(h, "Expires") == "600", h
    u = server.user(ALICE_IMPU)
    assert u["registered"] is True and u["authorized"] is False and u["state"] == "registered"

    tok = server.token()
    r = server.publish(publish_body(tok), expires=1800)
    code, h = final(r)
    assert code == 200, r.text()
    assert re.fullmatch(r"[0-9a-f]{32}", header(h, "SIP-ETag")), h
    assert header(h, "Expires") == "1800", h
    u = server.users()[ALICE_IMPU]
    assert u["authorized"] is True and u["registered"] is True, u
    assert u["mcptt_id"] == ALICE_IMPU and u["client_id"] == "mcx-ue" and u["via"] == "publish"
    assert u["token_expires"] > time.time() and u["since"] <= time.time() + 1
    # Same user found by MCPTT ID; the CMS was asked with the user's own token.
    assert server.user(ALICE_IMPU)["authorized"] is True
    assert [p for p, _ in cms.seen] == [
        "/org.openmobilealliance.xcap-directory/users/%s/directory.xml" % ALICE_IMPU,
        "/org.3gpp.mcptt.user-profile/users/%s/user-profile-0.xml" % ALICE_IMPU]
    assert {b for _, b in cms.seen} == {tok}
    code, body = server.get("/metrics")
    assert code == 200 and "mcx_server_authorized 1" in body, body
    # The token never appears in the log.
    assert tok not in server.daemon.log_text() and tok.split(".")[2] not in \
        server.daemon.log_text()


def test_single_mcptt_info_body_over_tcp(server):
    assert final(server.register(transport="t1"))[0] == 200
    r = server.publish(mcptt_info(server.token()),
                       ctype="application/vnd.3gpp.mcptt-info+xml", transport="t1")
    assert final(r)[0] == 200, r.text()
    assert server.user(ALICE_IMPU)["authorized"] is True


BAD_TOKENS = ["expired", "alg_none", "hs256", "forged", "tampered", "wrong_audience",
              "no_ptt_scope", "unknown_issuer", "not_a_jwt", "not_yet_valid"]


def bad_token(srv, kind):
    iss = srv.issuer
    if kind == "expired":
        return srv.token(lifetime=-120)
    if kind == "alg_none":
        return tokens.alg_none(iss.claims(ALICE_IMPU, AUDIENCES))
    if kind == "hs256":
        return tokens.hs256(iss.claims(ALICE_IMPU, AUDIENCES), "secret" * 6, iss.kid)
    if kind == "forged":
        return tokens.forged(iss, iss.claims(ALICE_IMPU, AUDIENCES))
    if kind == "tampered":
        return tokens.tampered(srv.token())
    if kind == "wrong_audience":
        return srv.token(audience=["cms.alpha.test", "mcptt.bravo.test"])
    if kind == "no_ptt_scope":
        return srv.token(scope="openid " + tokens.SCOPE_CMS)
    if kind == "unknown_issuer":
        return tokens.Issuer("https://127.0.0.1:9443/idms", kid=iss.kid).token(
            ALICE_IMPU, AUDIENCES)
    if kind == "not_a_jwt":
        return "this-is-not-a-token"
    if kind == "not_yet_valid":
        now = int(time.time())
        return srv.token(nbf=now + 600, iat=now + 600)
    raise KeyError(kind)


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_bad_token_403(server, cms, kind):
    assert final(server.register())[0] == 200
    r = server.publish(publish_body(bad_token(server, kind)))
    code, h = final(r)
    assert code == 403, r.text()
    w = warning(h)
    assert re.match(r'399 127\.0\.0\.1:\d+ "access token refused: .+"$', w), h
    assert header(h, "SIP-ETag") is None
    assert_nothing_stored(server)
    # A refused token never reaches the CMS.
    assert cms.seen == []


def test_encrypted_and_missing_token_403(server):
    assert final(server.register())[0] == 200
    r = server.publish(publish_body(server.token(), ttype="Encrypted"))
    code, h = final(r)
    assert code == 403 and "encrypted mcptt-info not supported" in warning(h), r.text()
    r = server.publish(publish_body(None))
    code, h = final(r)
    assert code == 403 and "no access token" in warning(h), r.text()
    # A multipart without any mcptt-info part: no token either.
    r = server.publish(multipart([("application/poc-settings+xml", POC_SETTINGS)]))
    code, h = final(r)
    assert code == 403, r.text()
    assert_nothing_stored(server)


def test_no_profile_or_disabled_profile_403(server, cms):
    assert final(server.register(impu=BOB_IMPU))[0] == 200
    r = server.publish(publish_body(server.token(BOB_IMPU)), impu=BOB_IMPU)
    code, h = final(r)
    assert code == 403 and "no user profile for sip:bob@alpha.test" in warning(h), r.text()
    assert_nothing_stored(server, BOB_IMPU)
    cms.profiles[BOB_IMPU] = [profile_xml(BOB_IMPU, status="false")]
    r = server.publish(publish_body(server.token(BOB_IMPU)), impu=BOB_IMPU)
    code, h = final(r)
    assert code == 403 and "disabled" in warning(h), r.text()
    assert_nothing_stored(server, BOB_IMPU)
    # Enabled again: authorized.
    cms.profiles[BOB_IMPU] = [profile_xml(BOB_IMPU)]
    r = server.publish(publish_body(server.token(BOB_IMPU)), impu=BOB_IMPU)
    assert final(r)[0] == 200, r.text()
    assert server.user(BOB_IMPU)["authorized"] is True


def test_cms_unreachable_503(procs, tmp_path):
    sipp_binary()
    srv = McServer(procs, tmp_path, "http://127.0.0.1:%d" % free_port()).start()
    assert final(srv.register())[0] == 200
    r = srv.publish(publish_body(srv.token()))
    code, h = final(r)
    assert code == 503 and "configuration management server unavailable" in warning(h), \
        r.text()
    assert_nothing_stored(srv)


def test_wrong_event_489(server):
    r = server.publish(publish_body(server.token()), event="presence")
    code, h = final(r)
    assert code == 489 and header(h, "Allow-Events") == "poc-settings", r.text()
    assert_nothing_stored(server)


def test_unsupported_content_type_415(server):
    r = server.publish(POC_SETTINGS, ctype="application/poc-settings+xml")
    code, h = final(r)
    assert code == 415, r.text()
    assert "multipart/mixed" in header(h, "Accept") and \
        "application/vnd.3gpp.mcptt-info+xml" in header(h, "Accept"), h
    assert_nothing_stored(server)


@pytest.mark.parametrize("variant", ["no_close", "wrong_boundary", "no_boundary_param",
                                     "bad_part_header", "not_xml", "wrong_namespace"])
def test_malformed_body_400(server, variant):
    tok = server.token()
    body, ctype = publish_body(tok), MULTIPART_CT
    if variant == "no_close":
        body = body[:body.rindex("--%s--" % BOUNDARY)]
    elif variant == "wrong_boundary":
        ctype = "multipart/mixed; boundary=other"
    elif variant == "no_boundary_param":
        ctype = "multipart/mixed"
    elif variant == "bad_part_header":
        body = body.replace("Content-Type: application/vnd.3gpp.mcptt-info+xml",
                            "Content-Type application/vnd.3gpp.mcptt-info+xml", 1)
    elif variant == "not_xml":
        body = multipart([("application/vnd.3gpp.mcptt-info+xml", "<mcpttinfo><oops>")])
    elif variant == "wrong_namespace":
        body = multipart([("application/vnd.3gpp.mcptt-info+xml",
                           mcptt_info(tok).replace(NS_INFO, "urn:example:other"))])
    r = server.publish(body, ctype=ctype)
    code, h = final(r)
    assert code == 400, r.text()
    assert warning(h), h
    assert_nothing_stored(server)


def test_methods_405_501(server):
    # RFC 3261 8.2.1: a method known but not served 405 with Allow, unknown 501.
    code, a = server.raw_request("MESSAGE")
    assert code == 405 and re.search(r"\r\nAllow: REGISTER, PUBLISH, OPTIONS\r\n", a), a
    code, a = server.raw_request("FROBNICATE")
    assert code == 501, a
    code, a = server.raw_request("OPTIONS")
    assert code == 200 and "Allow: REGISTER" in a, a
    assert_nothing_stored(server)


def test_publish_refresh_and_removal(server):
    assert final(server.register())[0] == 200
    code, h = final(server.publish(publish_body(server.token())))
    assert code == 200
    etag = header(h, "SIP-ETag")
    # Refresh without a body (RFC 3903 4.1): a new entity tag.
    code, h2 = final(server.request("PUBLISH", hdr="SIP-If-Match: %s" % etag, expires=900))
    assert code == 200 and header(h2, "Expires") == "900", h2
    etag2 = header(h2, "SIP-ETag")
    assert etag2 and etag2 != etag
    # The old tag is gone; an unknown one is 412.
    code, h3 = final(server.request("PUBLISH", hdr="SIP-If-Match: %s" % etag))
    assert code == 412, h3
    code, _ = final(server.request("PUBLISH", hdr="SIP-If-Match: 00000000"))
    assert code == 412
    # Someone else's tag: 412 too.
    code, _ = final(server.request("PUBLISH", impu=BOB_IMPU, hdr="SIP-If-Match: %s" % etag2))
    assert code == 412
    assert server.user(ALICE_IMPU)["authorized"] is True
    # Expires 0 removes the publication and with it the authorization.
    code, h4 = final(server.request("PUBLISH", hdr="SIP-If-Match: %s" % etag2, expires=0))
    assert code == 200 and header(h4, "Expires") == "0", h4
    u = server.user(ALICE_IMPU)
    assert u["registered"] is True and u["authorized"] is False and u["mcptt_id"] is None


def test_deregistration_ends_authorization(server):
    assert final(server.register())[0] == 200
    assert final(server.publish(publish_body(server.token())))[0] == 200
    assert server.user(ALICE_IMPU)["authorized"] is True
    code, h = final(server.register(expires=0))
    assert code == 200 and header(h, "Expires") == "0", h
    assert server.user(ALICE_IMPU) is None
    assert server.users() == {}
    assert re.search(r"de-registered; service authorization dropped",
                     server.daemon.log_text())


def test_option_a_message_sip_body(server, cms):
    """The third-party REGISTER carries the UE's REGISTER (message/sip) with
    its mcptt-info: service authorized without any PUBLISH."""
    tok = server.token()
    inner = ue_register(ALICE_IMPU, tok)
    # alone ...
    r = server.register(body=inner, ctype="message/sip")
    code, h = final(r)
    assert code == 200 and not warning(h), r.text()
    u = server.user(ALICE_IMPU)
    assert u["authorized"] is True and u["via"] == "register", u
    assert {b for _, b in cms.seen} == {tok}
    assert final(server.register(expires=0))[0] == 200
    assert server.user(ALICE_IMPU) is None
    # ... and as a part of multipart/mixed next to the service-info.
    body = multipart([("application/3gpp-ims+xml", SERVICE_INFO), ("message/sip", inner)],
                     boundary="outer-b")
    r = server.register(body=body, ctype="multipart/mixed;boundary=outer-b")
    assert final(r)[0] == 200, r.text()
    assert server.user(ALICE_IMPU)["authorized"] is True
    # A bad token inside: registered, not authorized, the 200 says why.
    assert final(server.register(expires=0))[0] == 200
    r = server.register(body=ue_register(ALICE_IMPU, bad_token(server, "forged")),
                        ctype="message/sip")
    code, h = final(r)
    assert code == 200 and "service authorization refused" in warning(h), r.text()
    u = server.user(ALICE_IMPU)
    assert u["registered"] is True and u["authorized"] is False and u["mcptt_id"] is None


def test_publish_before_register_is_pending(server):
    r = server.publish(publish_body(server.token()))
    assert final(r)[0] == 200, r.text()
    u = server.user(ALICE_IMPU)
    assert u["state"] == "pending" and u["authorized"] is False and u["registered"] is False
    assert final(server.register())[0] == 200
    u = server.user(ALICE_IMPU)
    assert u["state"] == "authorized" and u["authorized"] is True, u


def test_token_expiry_ends_authorization(server):
    assert final(server.register())[0] == 200
    # Valid for 3 s beyond the leeway... the server's leeway is 5 s: a token
    # expiring in 2 s is still accepted and ends within ~7 s.
    assert final(server.publish(publish_body(server.token(lifetime=2))))[0] == 200
    assert server.user(ALICE_IMPU)["authorized"] is True
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and server.user(ALICE_IMPU)["mcptt_id"] is not None:
        time.sleep(0.5)
    u = server.user(ALICE_IMPU)
    assert u["authorized"] is False and u["registered"] is True, u
    assert "service authorization ended (access token expired)" in server.daemon.log_text()


def test_restart_keeps_state(server):
    assert final(server.register())[0] == 200
    code, h = final(server.publish(publish_body(server.token())))
    assert code == 200
    etag = header(h, "SIP-ETag")
    before = server.users()
    assert server.daemon.stop() == 0
    server.start()
    assert server.users() == before
    # The publication survives too: refreshable by its tag.
    code, _ = final(server.request("PUBLISH", hdr="SIP-If-Match: %s" % etag))
    assert code == 200


def test_garbage_never_crashes(server):
    """Malformed SIP and bodies over raw UDP: every one answered or dropped,
    the daemon stays up and stores nothing."""
    def send(raw):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.3)
        s.sendto(raw, ("127.0.0.1", server.sip_port))
        try:
            return s.recv(65535)
        except OSError:
            return None
        finally:
            s.close()

    def publish(body, ctype, extra=""):
        b = body.encode() if isinstance(body, str) else body
        return (("PUBLISH %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK%d;rport\r\n"
                 "From: <%s>;tag=x\r\nTo: <%s>\r\nCall-ID: g%d\r\nCSeq: 1 PUBLISH\r\n"
                 "Event: poc-settings\r\nContent-Type: %s\r\n%sContent-Length: %d\r\n\r\n"
                 % (PSI, time.monotonic_ns(), ALICE_IMPU, ALICE_IMPU, time.monotonic_ns(),
                    ctype, extra, len(b))).encode() + b)
    tok = server.token()
    good = publish_body(tok)
    cases = [b"", b"\x00" * 50, b"PUBLISH\r\n\r\n", b"SIP/2.0 200 OK\r\n\r\n"]
    for cut in range(0, len(good), 97):
        cases.append(publish(good[:cut], MULTIPART_CT))
    for ct in ["multipart/mixed; boundary=", 'multipart/mixed; boundary="unterminated',
               "multipart/mixed; boundary=" + "b" * 200, "/", "multipart/", ";;;",
               "multipart/mixed; boundary=--", "application/vnd.3gpp.mcptt-info+xml"]:
        cases.append(publish(good, ct))
    cases.append(publish("--%s\r\n\r\n--%s--" % (BOUNDARY, BOUNDARY), MULTIPART_CT))
    cases.append(publish("--%s--" % BOUNDARY, MULTIPART_CT))
    cases.append(publish("--%s\r\nContent-Type: x/y\r\n--%s--" % (BOUNDARY, BOUNDARY),
                         MULTIPART_CT))
    cases.append(publish(mcptt_info(tok).replace("<mcpttinfo", '<!DOCTYPE x [<!ENTITY e '
                                                 'SYSTEM "file:///etc/passwd">]><mcpttinfo'),
                         "application/vnd.3gpp.mcptt-info+xml"))
    cases.append(publish(mcptt_info("A" * 9000), "application/vnd.3gpp.mcptt-info+xml"))
    cases.append(publish(good, MULTIPART_CT, "SIP-If-Match: " + "z" * 300 + "\r\n"))
    answers = []
    for c in cases:
        a = send(c)
        if a:
            answers.append(int(a.split()[1]))
    assert server.daemon.alive(), server.daemon.log_text()[-3000:]
    assert answers and all(400 <= a < 600 for a in answers), answers
    assert_nothing_stored(server)
    # Still serving.
    assert final(server.register())[0] == 200


def test_with_mcx_cms(procs, tmp_path):
    """The real CMS (mcx-cms) instead of the stand-in: the user's profile is
    PUT over XCAP with the user's own token; mcx-server finds it through the
    xcap-directory and authorizes; a user without a profile is refused."""
    sipp_binary()
    cms_port = free_port()
    srv = McServer(procs, tmp_path, "http://127.0.0.1:%d" % cms_port)
    conf = tmp_path / "cms.yaml"
    conf.write_text(to_yaml({
        "log_level": "info",
        "http": {"listen": "127.0.0.1", "port": cms_port},
        "store": {"path": str(tmp_path / "cms.db")},
        "auth": {"audience": "cms.alpha.test", "leeway": 5,
                 "trust": [{"issuer": ISSUER, "jwks_file": str(srv.jwks)}]},
        "cms": {"xcap_root": "https://127.0.0.1:8443/cms"},
    }) + "\n")
    procs.add(Daemon("mcx-cms", [binary("mcx-cms"), "-c", conf], tmp_path / "cms.log",
                     cms_port)).start()
    srv.start()
    tok = srv.token()
    doc = ('<?xml version="1.0" encoding="UTF-8"?>\n'
           '<mcptt-user-profile xmlns="urn:3gpp:mcptt:user-profile:1.0" XUI-URI="%s" '
           'user-profile-index="0"><Name>Alice</Name>'
           '<Common><MCPTTUserID><uri-entry>%s</uri-entry></MCPTTUserID></Common>'
           '<OnNetwork><MCPTTGroupInfo><entry><uri-entry>sip:fire@alpha.test</uri-entry>'
           '</entry></MCPTTGroupInfo></OnNetwork></mcptt-user-profile>\n'
           % (ALICE_IMPU, ALICE_IMPU)).encode()
    req = urllib.request.Request(
        "http://127.0.0.1:%d/org.3gpp.mcptt.user-profile/users/%s/user-profile-0.xml"
        % (cms_port, ALICE_IMPU), data=doc, method="PUT",
        headers={"Authorization": "Bearer " + tok,
                 "Content-Type": "application/vnd.3gpp.mcptt-user-profile+xml"})
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status in (200, 201)
    assert final(srv.register())[0] == 200
    r = srv.publish(publish_body(tok))
    assert final(r)[0] == 200, r.text() + srv.daemon.log_text()[-2000:]
    assert srv.user(ALICE_IMPU)["authorized"] is True
    assert final(srv.register(impu=BOB_IMPU))[0] == 200
    r = srv.publish(publish_body(srv.token(BOB_IMPU)), impu=BOB_IMPU)
    code, h = final(r)
    assert code == 403 and "no user profile" in warning(h), r.text()
    assert_nothing_stored(srv, BOB_IMPU)


# ----------------------------------------------------------------------------
# Through Kamailio


def render_ifc(tmp_path, server_uri):
    return render(REPO / "configs" / "kamailio" / "mc-ifc.xml.in",
                  {"MCX_SERVER_URI": server_uri}, tmp_path / "mc-ifc.xml").read_text()


def wait_for(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    return pred()


def test_through_kamailio(core, procs, tmp_path, cms):  # noqa: F811
    srv = McServer(procs, tmp_path, cms.url, transports=("udp",))
    core.add_digest(ALICE, ALICE_IMPU, ALICE_PW, ifc=render_ifc(tmp_path, srv.uri))
    core.start()
    srv.start()
    ue = Ue(core, tmp_path, ALICE)
    r = ue.register(ue.auth_digest(ALICE_PW), algorithm="MD5")
    assert r.rc == 0 and r.final()[0] == 200, r.text()
    service_route = header(r.final()[1], "Service-Route")
    assert service_route, r.final()[1]
    # The S-CSCF's third-party REGISTER reached mcx-server.
    u = wait_for(lambda: (srv.user(ALICE_IMPU) or {}).get("registered"))
    assert u, srv.daemon.log_text()[-3000:]
    assert srv.user(ALICE_IMPU)["authorized"] is False

    # The UE's PUBLISH on its Service-Route; the originating iFC sends it on.
    tok = srv.token()
    run = srv.publish(publish_body(tok), route=service_route,
                      target="127.0.0.1:%d" % core.sip_port)
    code, h = run.final()
    assert code == 200, run.text() + srv.daemon.log_text()[-3000:] + \
        core.kamailio.log_text()[-3000:]
    assert re.fullmatch(r"[0-9a-f]{32}", header(h, "SIP-ETag") or ""), h
    u = srv.user(ALICE_IMPU)
    assert u["authorized"] is True and u["mcptt_id"] == ALICE_IMPU, u
    assert {b for _, b in cms.seen} == {tok}

    # A PUBLISH of another event package is not for the MC service server.
    run = srv.publish(publish_body(tok), event="presence", route=service_route,
                      target="127.0.0.1:%d" % core.sip_port)
    assert run.final()[0] != 200, run.text()
    assert "Bad Event" not in srv.daemon.log_text()

    # De-registration at the S-CSCF de-registers at mcx-server too.
    r = ue.register(ue.auth_digest(ALICE_PW), expires=0, algorithm="MD5")
    assert r.rc == 0 and r.final()[0] == 200, r.text()
    assert wait_for(lambda: srv.user(ALICE_IMPU) is None), srv.users()
