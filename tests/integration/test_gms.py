# SPDX-License-Identifier: AGPL-3.0-or-later
"""mcx-gms against a real HTTP client: group documents of TS 24.481 at
/org.openmobilealliance.groups/global/byGroupID/<group-URI> created,
read, replaced and deleted; members read, others get 403; every bad token,
document and XCAP URI is refused with its exact status and leaves the
store as it was (same document, same ETag); preconditions; xcap-directory
and xcap-caps; documents survive a restart; `mcxctl xcap` provisions the
same store with the same validation. Tokens come from tokens.py (PyJWT)."""

import http.client
import subprocess
import xml.etree.ElementTree as ET

import pytest

from conftest import Daemon, binary, free_port, to_yaml
import tokens

ISS = "https://127.0.0.1:8443/idms"
AUD = "gms.alpha.test"
AUID = "org.openmobilealliance.groups"
MIME = "application/vnd.oma.poc.groups+xml"
NS = "urn:oma:xml:poc:list-service"
ERR_NS = "urn:ietf:params:xml:ns:xcap-error"
ADMIN, ALICE, BOB = "sip:admin@alpha.test", "sip:alice@alpha.test", "sip:bob@alpha.test"
G1 = "sip:fire-ops@alpha.test"
MAX_BODY = 4096


def group(uri=G1, members=(ALICE,), name="Fire ops", root="group", ns=NS, extra=""):
    entries = "".join('<entry uri="%s"/>' % m for m in members)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<%s xmlns="%s" xmlns:mcpttgi="urn:3gpp:ns:mcpttGroupInfo:1.0">'
            '<list-service uri="%s"><display-name>%s</display-name>%s<list>%s</list>'
            '</list-service></%s>\n' % (root, ns, uri, name, extra, entries, root)).encode()


def gpath(uri=G1):
    return "/%s/global/byGroupID/%s" % (AUID, uri)


class Gms:
    def __init__(self, tmp_path, procs):
        self.tmp = tmp_path
        self.procs = procs
        self.issuer = tokens.Issuer(ISS)
        self.jwks = self.issuer.write_jwks(tmp_path / "idms-jwks.json")
        self.port = free_port()
        self.db = tmp_path / "gms.sqlite"
        self.conf = tmp_path / "mcx-gms.yaml"
        self.conf.write_text(to_yaml({
            "http": {"listen": "127.0.0.1", "port": self.port, "threads": 4,
                     "max_body": MAX_BODY, "timeout_s": 10},
            "log_level": "info",
            "store": {"path": str(self.db)},
            "auth": {"audience": AUD, "leeway": 5,
                     "trust": [{"issuer": ISS, "jwks_file": str(self.jwks)}]},
            "gms": {"xcap_root": "https://127.0.0.1:8443/gms", "realm": "mcx-gms",
                    "administrators": [ADMIN], "max_members": 5,
                    "allow_user_create": False},
        }) + "\n")
        self.log = tmp_path / "mcx-gms.log"
        self.daemon = None

    def start(self):
        self.daemon = Daemon("mcx-gms", [binary("mcx-gms"), "-c", self.conf], self.log,
                             port=self.port)
        self.procs.add(self.daemon.start())
        return self

    def restart(self):
        assert self.daemon.stop() == 0
        return self.start()

    def token(self, who, **kw):
        return self.issuer.token(who, AUD, **kw)

    def req(self, method, path, token=None, body=None, ctype=MIME, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + token
        if body is not None:
            h["Content-Type"] = ctype
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data

    def put(self, body, who=ADMIN, path=None, **kw):
        return self.req("PUT", path or gpath(), self.token(who), body, **kw)

    def get(self, who=ADMIN, path=None, **kw):
        return self.req("GET", path or gpath(), self.token(who), **kw)


@pytest.fixture
def gms(tmp_path, procs):
    return Gms(tmp_path, procs).start()


def xcap_error(data):
    root = ET.fromstring(data)
    assert root.tag == "{%s}xcap-error" % ERR_NS
    child = list(root)[0]
    return child.tag.split("}")[1], child.get("phrase")


def test_group_lifecycle_and_access(gms):
    st, h, _ = gms.put(group())
    assert st == 201
    etag = h["etag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) >= 34

    st, h, data = gms.get()
    assert (st, h["etag"], h["content-type"]) == (200, etag, MIME)
    assert data == group()

    # a member reads; a non-member and a token without mcptt_id do not
    assert gms.get(ALICE)[0] == 200
    st, _, data = gms.get(BOB)
    assert st == 403
    # members do not write or delete, and nobody but an administrator creates
    assert gms.put(group(members=(ALICE, BOB)), who=ALICE)[0] == 403
    assert gms.req("DELETE", gpath(), gms.token(ALICE))[0] == 403
    assert gms.put(group(uri="sip:x@alpha.test"), who=BOB,
                   path=gpath("sip:x@alpha.test"))[0] == 403
    assert gms.get(ADMIN)[1]["etag"] == etag

    # replace: 200, a new ETag, the new content; the new member can read
    st, h, _ = gms.put(group(members=(ALICE, BOB)))
    assert st == 200 and h["etag"] != etag
    etag2 = h["etag"]
    assert gms.get(BOB)[0] == 200
    assert gms.get()[2] == group(members=(ALICE, BOB))

    # delete with a stale If-Match: 412, still there; then 200; then 404
    assert gms.req("DELETE", gpath(), gms.token(ADMIN), headers={"If-Match": etag})[0] == 412
    assert gms.get()[1]["etag"] == etag2
    assert gms.req("DELETE", gpath(), gms.token(ADMIN), headers={"If-Match": etag2})[0] == 200
    assert gms.get()[0] == 404
    assert gms.req("DELETE", gpath(), gms.token(ADMIN))[0] == 404


def test_preconditions(gms):
    st, h, _ = gms.put(group(), headers={"If-None-Match": "*"})
    assert st == 201
    etag = h["etag"]
    # If-None-Match with the current tag on GET: 304, no body, same ETag
    st, h, data = gms.get(ALICE, headers={"If-None-Match": etag})
    assert (st, data, h["etag"]) == (304, b"", etag)
    assert gms.get(ALICE, headers={"If-None-Match": '"other"'})[0] == 200
    # create-only PUT on an existing document and a stale If-Match: 412, unchanged
    assert gms.put(group(name="x"), headers={"If-None-Match": "*"})[0] == 412
    assert gms.put(group(name="y"), headers={"If-Match": '"stale"'})[0] == 412
    assert gms.get(headers={"If-Match": '"stale"'})[0] == 412
    st, h, data = gms.get()
    assert (h["etag"], data) == (etag, group())
    # the right If-Match replaces
    st, h, _ = gms.put(group(name="z"), headers={"If-Match": etag})
    assert st == 200 and h["etag"] != etag


BAD_TOKENS = ["none", "expired", "alg_none", "hs256", "forged", "tampered", "audience",
              "untrusted_issuer", "garbage"]


def bad_token(gms, kind):
    claims = gms.issuer.claims(ADMIN, AUD)
    return {
        "none": None,
        "expired": gms.issuer.token(ADMIN, AUD, lifetime=-600),
        "alg_none": tokens.alg_none(claims),
        "hs256": tokens.hs256(claims, "secret" * 8, gms.issuer.kid),
        "forged": tokens.forged(gms.issuer, claims),
        "tampered": tokens.tampered(gms.issuer.token(ALICE, AUD)),
        "audience": gms.issuer.token(ADMIN, "cms.alpha.test"),
        "untrusted_issuer": tokens.Issuer(ISS, kid=gms.issuer.kid).token(ADMIN, AUD),
        "garbage": "not.a.jwt",
    }[kind]


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_bad_tokens_refused_and_nothing_stored(gms, kind):
    st, h, _ = gms.put(group())
    etag = h["etag"]
    tok = bad_token(gms, kind)
    for method, body in (("GET", None), ("PUT", group(members=(BOB,))), ("DELETE", None)):
        st, h, _ = gms.req(method, gpath(), tok, body)
        assert st == 401, (kind, method)
        www = h["www-authenticate"]
        assert www.startswith('Bearer realm="mcx-gms"')
        if kind == "none":
            assert "error=" not in www
        else:
            assert 'error="invalid_token"' in www
    # a new group was not created either
    st, _, _ = gms.req("PUT", gpath("sip:new@alpha.test"), tok, group(uri="sip:new@alpha.test"))
    assert st == 401
    assert gms.get(path=gpath("sip:new@alpha.test"))[0] == 404
    st, h, data = gms.get()
    assert (st, h["etag"], data) == (200, etag, group())
    assert "401" in gms.daemon.log_text()


def test_wrong_scope_403(gms):
    st, h, _ = gms.put(group())
    etag = h["etag"]
    tok = gms.token(ADMIN, scope="openid " + tokens.SCOPE_CMS)
    for method, body in (("GET", None), ("PUT", group(members=(BOB,))), ("DELETE", None)):
        st, h, _ = gms.req(method, gpath(), tok, body)
        assert st == 403
        assert 'error="insufficient_scope"' in h["www-authenticate"]
        assert tokens.SCOPE_GMS in h["www-authenticate"]
    st, h, data = gms.get()
    assert (h["etag"], data) == (etag, group())


BAD_DOCS = [
    ("malformed", b"<group xmlns='urn:oma:xml:poc:list-service'><list-service", MIME,
     409, "not-well-formed"),
    ("doctype_entity", b'<?xml version="1.0"?><!DOCTYPE group [<!ENTITY x SYSTEM '
     b'"file:///etc/passwd">]><group xmlns="urn:oma:xml:poc:list-service">'
     b'<list-service uri="sip:fire-ops@alpha.test"><display-name>&x;</display-name>'
     b'</list-service></group>', MIME, 409, "not-well-formed"),
    ("billion_laughs", b'<?xml version="1.0"?><!DOCTYPE g [<!ENTITY a "aaaaaaaaaa">'
     b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><group xmlns="urn:oma:xml:poc:list-service">'
     b'&b;</group>', MIME, 409, "not-well-formed"),
    ("wrong_root", group(root="resource-lists"), MIME, 409, "schema-validation-error"),
    ("wrong_ns", group(ns="urn:example:other"), MIME, 409, "schema-validation-error"),
    ("uri_mismatch", group(uri="sip:other@alpha.test"), MIME, 409, "constraint-failure"),
    ("duplicate_member", group(members=(ALICE, ALICE)), MIME, 409, "constraint-failure"),
    ("http_member", group(members=("http://evil.example/",)), MIME, 409, "constraint-failure"),
    ("too_many_members", group(members=tuple("sip:u%d@alpha.test" % i for i in range(6))),
     MIME, 409, "constraint-failure"),
    ("wrong_ctype", group(), "application/xml", 415, None),
    ("no_ctype_param_ok_but_wrong", group(), "text/plain", 415, None),
    ("oversized", group(name="x" * MAX_BODY), MIME, 413, None),
]


@pytest.mark.parametrize("name,body,ctype,status,err", BAD_DOCS, ids=[d[0] for d in BAD_DOCS])
def test_bad_documents_refused_and_nothing_stored(gms, name, body, ctype, status, err):
    st, h, _ = gms.put(group())
    etag = h["etag"]
    st, h, data = gms.put(body, ctype=ctype)
    assert st == status
    if err:
        assert h["content-type"] == "application/xcap-error+xml"
        tag, phrase = xcap_error(data)
        assert tag == err
    # also as a create of a new document: nothing appears
    other = "sip:new@alpha.test"
    st2, _, _ = gms.put(body.replace(G1.encode(), other.encode()), path=gpath(other),
                        ctype=ctype)
    assert st2 == status or (name == "uri_mismatch" and st2 == 409)
    assert gms.get(path=gpath(other))[0] == 404
    st, h, data = gms.get()
    assert (st, h["etag"], data) == (200, etag, group())


def test_mime_parameters_accepted(gms):
    assert gms.put(group(), ctype=MIME + "; charset=utf-8")[0] == 201


BAD_URIS = [
    ("dotdot", "/%s/global/byGroupID/../x" % AUID, 400),
    ("encoded_dotdot", "/%s/global/%%2e%%2e/byGroupID/%s" % (AUID, G1), 400),
    ("empty_segment", "/%s/global//byGroupID/%s" % (AUID, G1), 400),
    ("control_char", "/%s/global/byGroupID/sip:a%%0a@alpha.test" % AUID, 400),
    ("encoded_slash", "/%s/global/byGroupID%%2F%s" % (AUID, G1), 400),
    ("unknown_auid", "/org.example.nothing/global/byGroupID/%s" % G1, 404),
    ("users_tree", "/%s/users/%s/index" % (AUID, ADMIN), 404),
    ("no_tree", "/%s" % AUID, 404),
    ("node_selector", "/%s/global/byGroupID/%s/~~/group/list-service" % (AUID, G1), 501),
    ("too_long", "/%s/global/byGroupID/sip:%s@alpha.test" % (AUID, "a" * 1100), 414),
]


@pytest.mark.parametrize("name,path,status", BAD_URIS, ids=[u[0] for u in BAD_URIS])
def test_bad_uris_refused_and_nothing_stored(gms, name, path, status):
    st, h, _ = gms.put(group())
    etag = h["etag"]
    for method in ("GET", "PUT", "DELETE"):
        body = group() if method == "PUT" else None
        st, _, data = gms.req(method, path, gms.token(ADMIN), body)
        assert st == status, (method, data)
    st, h, data = gms.get()
    assert (st, h["etag"], data) == (200, etag, group())
    out = subprocess.run([binary("mcxctl"), "--db", gms.db, "xcap", "list"],
                         capture_output=True, text=True, check=True).stdout
    assert len(out.splitlines()) == 1


def test_group_uri_percent_encoded(gms):
    enc = "/%s/global/byGroupID/sip%%3Afire-ops%%40alpha.test" % AUID
    assert gms.req("PUT", enc, gms.token(ADMIN), group())[0] == 201
    assert gms.get(ALICE)[2] == group()


def test_method_not_allowed(gms):
    st, h, _ = gms.req("POST", gpath(), gms.token(ADMIN), group())
    assert st == 405
    assert h["allow"] == "GET, PUT, DELETE"


def test_directory_caps_and_wrong_xui(gms):
    gms.put(group())
    d = "/org.openmobilealliance.xcap-directory/users/%s/directory.xml"
    st, h, data = gms.req("GET", d % ALICE, gms.token(ALICE))
    assert st == 200 and h["content-type"] == "application/vnd.oma.xcap-directory+xml"
    root = ET.fromstring(data)
    assert root.tag == "{urn:oma:xml:xdm:xcap-directory}xcap-directory"
    # another user's directory: the XUI differs from the token's MC service ID
    assert gms.req("GET", d % BOB, gms.token(ALICE))[0] == 403
    assert gms.req("PUT", d % ALICE, gms.token(ALICE), b"<x/>")[0] == 405
    st, _, data = gms.req("GET", "/xcap-caps/global/index", gms.token(ALICE))
    assert st == 200
    caps = ET.fromstring(data)
    auids = [a.text for a in caps.iter("{urn:ietf:params:xml:ns:xcap-caps}auid")]
    assert AUID in auids
    nss = [a.text for a in caps.iter("{urn:ietf:params:xml:ns:xcap-caps}namespace")]
    assert NS in nss


def test_restart_keeps_documents_and_metrics(gms):
    st, h, _ = gms.put(group())
    etag = h["etag"]
    gms.get(BOB)
    c = http.client.HTTPConnection("127.0.0.1", gms.port, timeout=5)
    c.request("GET", "/metrics")
    m = c.getresponse().read().decode()
    assert "mcx_gms_xcap_documents_stored_total 1" in m
    assert 'mcx_gms_xcap_refused_total{reason="forbidden"} 1' in m
    gms.restart()
    st, h, data = gms.get(ALICE)
    assert (st, h["etag"], data) == (200, etag, group())


def test_mcxctl_provisions_with_the_same_validation(gms, tmp_path):
    ctl = binary("mcxctl")
    f = tmp_path / "g.xml"
    other = "sip:police@alpha.test"
    f.write_bytes(group(uri=other, members=(BOB,)))
    base = [ctl, "--db", gms.db, "xcap"]
    r = subprocess.run(base + ["put", "--auid", AUID, "--global", "--doc", "byGroupID/" + other,
                               "--file", f], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("created \"")
    assert gms.get(BOB, path=gpath(other))[0] == 200
    # a mismatching list-service uri: refused exactly like a PUT, nothing stored
    r = subprocess.run(base + ["put", "--auid", AUID, "--global", "--doc",
                               "byGroupID/sip:fire@alpha.test", "--file", f],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "constraint-failure" in r.stderr
    assert gms.get(path=gpath("sip:fire@alpha.test"))[0] == 404
    r = subprocess.run(base + ["list", "--auid", AUID], capture_output=True, text=True,
                       check=True)
    assert r.stdout.count("\n") == 1 and other in r.stdout
    r = subprocess.run(base + ["get", "--auid", AUID, "--global", "--doc",
                               "byGroupID/" + other], capture_output=True, check=True)
    assert r.stdout == f.read_bytes()
    r = subprocess.run(base + ["delete", "--auid", AUID, "--global", "--doc",
                               "byGroupID/" + other], capture_output=True, text=True)
    assert r.returncode == 0
    assert gms.get(path=gpath(other))[0] == 404


def test_check_and_help(gms):
    exe = binary("mcx-gms")
    r = subprocess.run([exe, "-c", gms.conf, "--check"], capture_output=True, text=True)
    assert r.returncode == 0
    r = subprocess.run([exe, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "mcx-gms" in r.stdout
    bad = gms.tmp / "bad.yaml"
    bad.write_text(gms.conf.read_text() + "surprise: 1\n")
    r = subprocess.run([exe, "-c", bad, "--check"], capture_output=True, text=True)
    assert r.returncode == 1 and "surprise" in r.stderr


def test_sample_config_checks(tmp_path):
    """configs/mcx-gms.yaml, with its paths moved into tmp_path, passes --check."""
    from conftest import REPO
    text = (REPO / "configs" / "mcx-gms.yaml").read_text()
    tokens.Issuer(ISS).write_jwks(tmp_path / "idms-jwks.json")
    conf = tmp_path / "mcx-gms.yaml"
    conf.write_text(text.replace("/var/lib/mcxcore/", str(tmp_path) + "/"))
    r = subprocess.run([binary("mcx-gms"), "-c", conf, "--check"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
