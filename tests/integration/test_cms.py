# SPDX-License-Identifier: AGPL-3.0-or-later
"""mcx-cms against real HTTP clients: TS 24.484 user profiles (GET, ETag,
304, several per user, xcap-directory, PUT of a new version), every refusal
with its exact status and nothing stored, token checks, functional alias
activation with holder limits, the read-only service configuration, and a
restart that keeps everything. Tokens come from tokens.py (PyJWT), global
documents from `mcxctl xcap put --global` (tests needing it skip until
mcxctl's xcap noun is built)."""

import http.client
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import REPO, Daemon, binary, free_port, to_yaml
import tokens

ISS = "https://127.0.0.1:8443/idms"
AUD = "cms.alpha.test"
ALICE, BOB, CAROL = "sip:alice@alpha.test", "sip:bob@alpha.test", "sip:carol@alpha.test"
UP = "org.3gpp.mcptt.user-profile"
UP_MIME = "application/vnd.3gpp.mcptt-user-profile+xml"
FA = "org.mcxcore.functional-alias"
FA_MIME = "application/vnd.mcxcore.functional-alias+xml"
FA_NS = "urn:mcxcore:params:xml:ns:functional-alias"
SC = "org.3gpp.mcptt.service-config"
SC_MIME = "application/vnd.3gpp.mcptt-service-config+xml"
SAMPLES = REPO / "configs" / "cms"
MAX_DOC = 8192
MAX_PROFILES = 3


def profile(xui=ALICE, index=0, preselected=False, groups=("sip:fire-ops@alpha.test",),
            user_id=None, root="mcptt-user-profile", ns="urn:3gpp:mcptt:user-profile:1.0",
            name="Alice"):
    entries = "".join("<entry><uri-entry>%s</uri-entry></entry>" % g for g in groups)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<%s xmlns="%s" XUI-URI="%s" user-profile-index="%s">'
            '<Name>%s</Name>%s'
            '<Common><MCPTTUserID><uri-entry>%s</uri-entry></MCPTTUserID></Common>'
            '<OnNetwork><MCPTTGroupInfo>%s</MCPTTGroupInfo></OnNetwork></%s>\n'
            % (root, ns, xui, index, name, "<Pre-selected-indication/>" if preselected else "",
               user_id or xui, entries, root)).encode()


def activation(*aliases):
    acts = "".join('<activate uri="%s"/>' % a for a in aliases)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<functional-alias-info xmlns="%s">%s'
            '</functional-alias-info>\n' % (FA_NS, acts)).encode()


class Cms:
    """One mcx-cms with its own config, store and trusted issuer."""

    def __init__(self, tmp_path, procs):
        self.tmp = tmp_path
        self.procs = procs
        self.issuer = tokens.Issuer(ISS)
        self.jwks = self.issuer.write_jwks(tmp_path / "jwks.json")
        self.db = tmp_path / "cms.db"
        self.port = free_port()
        self.conf = tmp_path / "cms.yaml"
        self.conf.write_text(to_yaml({
            "log_level": "info",
            "http": {"listen": "127.0.0.1", "port": self.port, "threads": 4},
            "store": {"path": str(self.db)},
            "auth": {"audience": AUD, "leeway": 5,
                     "trust": [{"issuer": ISS, "jwks_file": str(self.jwks)}]},
            "cms": {"xcap_root": "https://127.0.0.1:8443/cms", "max_doc": MAX_DOC,
                    "max_profiles_per_user": MAX_PROFILES},
        }) + "\n")
        self.log = tmp_path / "cms.log"
        self.daemon = None

    def start(self):
        self.daemon = self.procs.add(Daemon("mcx-cms", [binary("mcx-cms"), "-c", self.conf],
                                            self.log, port=self.port))
        self.daemon.start()
        return self

    def restart(self):
        assert self.daemon.stop() == 0
        return self.start()

    def token(self, who=ALICE, **kw):
        return self.issuer.token(who, AUD, **kw)

    def request(self, method, path, body=None, token=None, ctype=None, headers=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        if ctype:
            h["Content-Type"] = ctype
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def get(self, path, who=ALICE, **kw):
        return self.request("GET", path, token=self.token(who), **kw)

    def put(self, path, body, who=ALICE, ctype=UP_MIME, **kw):
        return self.request("PUT", path, body=body, token=self.token(who), ctype=ctype, **kw)

    def mcxctl(self, *args):
        return subprocess.run([str(binary("mcxctl")), "--db", str(self.db), "xcap", *args],
                              capture_output=True, text=True, timeout=30)

    def provision_global(self, auid, doc, path):
        r = self.mcxctl("put", "--auid", auid, "--global", "--doc", doc, "--file", str(path))
        if r.returncode != 0 and "not built" in (r.stdout + r.stderr):
            pytest.skip("mcxctl xcap is not built yet")
        assert r.returncode == 0, r.stdout + r.stderr
        return r


def up_path(doc, xui=ALICE):
    return "/%s/users/%s/%s" % (UP, xui, doc)


def directory(cms, who=ALICE):
    st, _, body = cms.get("/org.openmobilealliance.xcap-directory/users/%s/directory.xml" % who,
                          who=who)
    assert st == 200
    return sorted(re.findall(r'uri="([^"]+)"', body.decode()))


def xcap_error(body):
    root = ET.fromstring(body)
    assert root.tag == "{urn:ietf:params:xml:ns:xcap-error}xcap-error"
    child = list(root)[0]
    return child.tag.split("}")[1], child.get("phrase", "")


@pytest.fixture
def cms(tmp_path, procs):
    return Cms(tmp_path, procs).start()


# ---------------------------------------------------------------------------
# user profiles


def test_profiles_get_put_directory_and_conditional_get(cms):
    sample = (SAMPLES / "user-profile-0.xml").read_bytes()
    st, h, _ = cms.put(up_path("user-profile-0.xml"), sample)
    assert st == 201
    etag0 = h["etag"]
    assert re.fullmatch(r'"[^"]+"', etag0)

    st, h, body = cms.get(up_path("user-profile-0.xml"))
    assert st == 200 and body == sample
    assert h["etag"] == etag0
    assert h["content-type"] == UP_MIME
    # the group URIs sit where docs/cms.md says
    ns = {"up": "urn:3gpp:mcptt:user-profile:1.0"}
    groups = [e.text for e in ET.fromstring(body).findall(
        "up:OnNetwork/up:MCPTTGroupInfo/up:entry/up:uri-entry", ns)]
    assert groups == ["sip:fire-ops@alpha.test", "sip:dispatch@alpha.test"]

    for i in (1, 2):
        st, _, _ = cms.put(up_path("user-profile-%d.xml" % i), profile(index=i, name="P%d" % i))
        assert st == 201
        st, _, body = cms.get(up_path("user-profile-%d.xml" % i))
        assert st == 200 and b"<Name>P%d</Name>" % i in body
    assert directory(cms) == ["https://127.0.0.1:8443/cms/%s/users/%s/user-profile-%d.xml"
                              % (UP, ALICE, i) for i in range(3)]

    st, h, body = cms.get(up_path("user-profile-0.xml"), headers={"If-None-Match": etag0})
    assert st == 304 and body == b""

    new = sample.replace(b"Alice on duty", b"Alice off duty")
    st, h, _ = cms.put(up_path("user-profile-0.xml"), new, headers={"If-Match": etag0})
    assert st == 200 and h["etag"] != etag0
    st, h2, body = cms.get(up_path("user-profile-0.xml"), headers={"If-None-Match": etag0})
    assert st == 200 and body == new and h2["etag"] == h["etag"]
    # the old ETag no longer matches: 412 and nothing changes
    st, _, _ = cms.put(up_path("user-profile-0.xml"), sample, headers={"If-Match": etag0})
    assert st == 412
    assert cms.get(up_path("user-profile-0.xml"))[2] == new


REFUSALS = [
    # (name, document name, body, content type, status, error element, phrase part)
    ("malformed", "user-profile-0.xml", b"<mcptt-user-profile", UP_MIME, 409,
     "not-well-formed", ""),
    ("wrong root", "user-profile-0.xml", profile(root="mcptt-user-profil"), UP_MIME, 409,
     "schema-validation-error", ""),
    ("wrong namespace", "user-profile-0.xml", profile(ns="urn:example:other"), UP_MIME, 409,
     "schema-validation-error", ""),
    ("index mismatch", "user-profile-0.xml", profile(index=1), UP_MIME, 409,
     "constraint-failure", "user-profile-index 1 differs"),
    ("index not a number", "user-profile-0.xml", profile(index="zero"), UP_MIME, 409,
     "schema-validation-error", ""),
    ("bad document name", "profile.xml", profile(), UP_MIME, 409,
     "constraint-failure", "user-profile-<index>.xml"),
    ("XUI-URI mismatch", "user-profile-0.xml", profile(xui=BOB, user_id=ALICE), UP_MIME, 409,
     "constraint-failure", "XUI-URI differs"),
    ("MCPTT ID mismatch", "user-profile-0.xml", profile(user_id=BOB), UP_MIME, 409,
     "constraint-failure", "MCPTTUserID differs"),
    ("group not sip", "user-profile-0.xml", profile(groups=("tel:+4912345",)), UP_MIME, 409,
     "constraint-failure", "'tel:+4912345' is not a sip: URI"),
    ("oversized", "user-profile-0.xml",
     profile(name="x" * (MAX_DOC + 10)), UP_MIME, 413, None, ""),
    ("wrong content type", "user-profile-0.xml", profile(), "application/xml", 415, None, ""),
]


@pytest.mark.parametrize("case", REFUSALS, ids=[c[0] for c in REFUSALS])
def test_profile_put_refused_stores_nothing(cms, case):
    _, doc, body, ctype, status, elem, phrase = case
    original = profile(name="Original")
    st, h, _ = cms.put(up_path("user-profile-0.xml"), original)
    assert st == 201
    etag = h["etag"]
    st, _, rbody = cms.put(up_path(doc), body, ctype=ctype)
    assert st == status, rbody
    if elem:
        tag, ph = xcap_error(rbody)
        assert tag == elem
        assert phrase in ph
    st, h, got = cms.get(up_path("user-profile-0.xml"))
    assert st == 200 and got == original and h["etag"] == etag
    assert directory(cms) == ["https://127.0.0.1:8443/cms/%s/users/%s/user-profile-0.xml"
                              % (UP, ALICE)]


def test_second_preselected_and_profile_limit(cms):
    assert cms.put(up_path("user-profile-0.xml"), profile(index=0, preselected=True))[0] == 201
    st, _, body = cms.put(up_path("user-profile-1.xml"), profile(index=1, preselected=True))
    assert st == 409
    assert xcap_error(body) == ("constraint-failure",
                                "Pre-selected-indication is already set in user-profile-0.xml")
    assert cms.get(up_path("user-profile-1.xml"))[0] == 404
    # replacing the pre-selected profile itself is fine
    assert cms.put(up_path("user-profile-0.xml"),
                   profile(index=0, preselected=True, name="Again"))[0] == 200
    for i in range(1, MAX_PROFILES):
        assert cms.put(up_path("user-profile-%d.xml" % i), profile(index=i))[0] == 201
    st, _, body = cms.put(up_path("user-profile-9.xml"), profile(index=9))
    assert st == 409
    assert xcap_error(body) == ("constraint-failure",
                                "at most %d user profiles per user" % MAX_PROFILES)
    assert cms.get(up_path("user-profile-9.xml"))[0] == 404
    # another user has a limit of their own
    assert cms.put(up_path("user-profile-0.xml", BOB), profile(xui=BOB, preselected=True),
                   who=BOB)[0] == 201


def test_other_users_documents_forbidden(cms):
    assert cms.put(up_path("user-profile-0.xml"), profile())[0] == 201
    assert cms.get(up_path("user-profile-0.xml"), who=BOB)[0] == 403
    st, _, _ = cms.put(up_path("user-profile-1.xml"), profile(index=1), who=BOB)
    assert st == 403
    assert cms.request("DELETE", up_path("user-profile-0.xml"), token=cms.token(BOB))[0] == 403
    assert cms.get(up_path("user-profile-1.xml"))[0] == 404
    assert cms.get(up_path("user-profile-0.xml"))[0] == 200


def test_bad_tokens_refused_and_nothing_stored(cms, tmp_path):
    path = up_path("user-profile-0.xml")
    body = profile()
    claims = cms.issuer.claims(ALICE, AUD)
    mallory = tokens.Issuer(ISS, kid=cms.issuer.kid)
    cases = [
        ("expired", cms.issuer.token(ALICE, AUD, lifetime=-120), 401, "invalid_token"),
        ("alg none", tokens.alg_none(claims), 401, "invalid_token"),
        ("hs256", tokens.hs256(claims, "secret-secret-secret-secret-32b", cms.issuer.kid), 401,
         "invalid_token"),
        ("forged", tokens.forged(cms.issuer, claims), 401, "invalid_token"),
        ("other key", mallory.token(ALICE, AUD), 401, "invalid_token"),
        ("tampered", tokens.tampered(cms.token()), 401, "invalid_token"),
        ("wrong audience", cms.issuer.token(ALICE, "gms.alpha.test"), 401, "invalid_token"),
        ("garbage", "not.a.jwt", 401, "invalid_token"),
        ("wrong scope", cms.issuer.token(ALICE, AUD, scope="openid " + tokens.SCOPE_GMS), 403,
         "insufficient_scope"),
    ]
    st, h, _ = cms.request("PUT", path, body=body, ctype=UP_MIME)
    assert st == 401
    assert h["www-authenticate"].startswith("Bearer realm=")
    assert "error=" not in h["www-authenticate"]
    for name, tok, status, err in cases:
        for method in ("PUT", "GET"):
            st, h, _ = cms.request(method, path, body=body if method == "PUT" else None,
                                   token=tok, ctype=UP_MIME)
            assert st == status, name
            assert 'error="%s"' % err in h["www-authenticate"], name
    assert cms.get(path)[0] == 404
    assert directory(cms) == []


# ---------------------------------------------------------------------------
# functional aliases


def fa_status(cms):
    st, _, body = cms.get("/%s/global/status.xml" % FA, who=CAROL)
    assert st == 200
    out = {}
    for held in ET.fromstring(body).findall("{%s}held" % FA_NS):
        out[held.get("uri")] = [h.text for h in held.findall("{%s}holder" % FA_NS)]
    return out


def test_functional_alias_activation(cms):
    cms.provision_global(FA, "definitions.xml", SAMPLES / "functional-alias-definitions.xml")
    cms.restart()  # status.xml follows definitions written by mcxctl at start-up
    ic, e1 = "sip:fa-incident-commander@alpha.test", "sip:fa-engine-1@alpha.test"
    assert fa_status(cms) == {ic: [], e1: []}
    act = "/%s/users/%s/activation.xml"

    st, h, _ = cms.put(act % (FA, ALICE), activation(ic, e1), ctype=FA_MIME)
    assert st == 201
    st, _, body = cms.get(act % (FA, ALICE))
    assert st == 200 and body == activation(ic, e1)
    assert fa_status(cms) == {ic: [ALICE], e1: [ALICE]}

    # limit of one holder reached: refused, naming the alias; nothing stored
    st, _, body = cms.put(act % (FA, BOB), activation(e1, ic), who=BOB, ctype=FA_MIME)
    assert st == 409
    assert xcap_error(body) == ("constraint-failure", "functional alias %s has reached its "
                                "limit of 1 holder" % ic)
    assert cms.get(act % (FA, BOB), who=BOB)[0] == 404
    # not among the users allowed to activate it
    st, _, body = cms.put(act % (FA, CAROL), activation(ic), who=CAROL, ctype=FA_MIME)
    assert st == 409
    assert xcap_error(body) == ("constraint-failure", "functional alias %s may not be "
                                "activated by %s" % (ic, CAROL))
    # not defined at all
    st, _, body = cms.put(act % (FA, CAROL), activation("sip:fa-nobody@alpha.test"), who=CAROL,
                          ctype=FA_MIME)
    assert st == 409
    assert xcap_error(body)[1] == "functional alias sip:fa-nobody@alpha.test is not defined"
    assert cms.get(act % (FA, CAROL), who=CAROL)[0] == 404
    assert fa_status(cms) == {ic: [ALICE], e1: [ALICE]}

    # a user can write only their own activation
    assert cms.put(act % (FA, ALICE), activation(), who=BOB, ctype=FA_MIME)[0] == 403

    # deactivation frees the alias for the next user
    assert cms.put(act % (FA, ALICE), activation(e1), ctype=FA_MIME)[0] == 200
    assert fa_status(cms) == {ic: [], e1: [ALICE]}
    assert cms.put(act % (FA, BOB), activation(ic, e1), who=BOB, ctype=FA_MIME)[0] == 201
    assert fa_status(cms) == {ic: [BOB], e1: [ALICE, BOB]}
    assert cms.request("DELETE", act % (FA, BOB), token=cms.token(BOB))[0] == 200
    assert fa_status(cms) == {ic: [], e1: [ALICE]}

    # the status and definitions are read-only over HTTP: refused before the
    # document is even looked at (it is not a valid status document either)
    st, _, body = cms.put("/%s/global/status.xml" % FA, activation(), ctype=FA_MIME)
    assert st == 403
    st, _, _ = cms.put("/%s/global/definitions.xml" % FA, activation(), ctype=FA_MIME)
    assert st == 403
    assert fa_status(cms) == {ic: [], e1: [ALICE]}
    cms.restart()
    assert fa_status(cms) == {ic: [], e1: [ALICE]}


def test_service_config_read_only(cms):
    sample = (SAMPLES / "service-config.xml").read_bytes()
    cms.provision_global(SC, "service-config.xml", SAMPLES / "service-config.xml")
    path = "/%s/global/service-config.xml" % SC
    st, h, body = cms.get(path, who=BOB)
    assert st == 200 and body == sample and h["content-type"] == SC_MIME
    st, _, _ = cms.put(path, sample.replace(b"PT10S", b"PT1S"), ctype=SC_MIME)
    assert st in (403, 405)
    assert cms.request("DELETE", path, token=cms.token())[0] in (403, 405)
    assert cms.get(path)[2] == sample
    # there is no users tree for the service configuration
    assert cms.put("/%s/users/%s/service-config.xml" % (SC, ALICE), sample,
                   ctype=SC_MIME)[0] == 404


# ---------------------------------------------------------------------------
# durability, config


def test_restart_keeps_everything(cms):
    docs = {}
    for i in range(2):
        st, h, _ = cms.put(up_path("user-profile-%d.xml" % i), profile(index=i, name="R%d" % i))
        assert st == 201
        docs[i] = h["etag"]
    ue = (SAMPLES / "ue-config.xml").read_bytes()
    uep = "/org.3gpp.mcptt.ue-config/users/%s/ue-config.xml" % ALICE
    assert cms.put(uep, ue, ctype="application/vnd.3gpp.mcptt-ue-config+xml")[0] == 201
    before = directory(cms)
    cms.restart()
    for i, etag in docs.items():
        st, h, body = cms.get(up_path("user-profile-%d.xml" % i))
        assert st == 200 and h["etag"] == etag and b"<Name>R%d</Name>" % i in body
    assert cms.get(uep)[2] == ue
    assert directory(cms) == before
    assert "shutting down" in cms.log.read_text()


def test_ue_config_root_checked(cms):
    uep = "/org.3gpp.mcptt.ue-config/users/%s/ue-config.xml" % ALICE
    bad = (SAMPLES / "ue-init-config.xml").read_bytes()
    st, _, body = cms.put(uep, bad, ctype="application/vnd.3gpp.mcptt-ue-config+xml")
    assert st == 409 and xcap_error(body)[0] == "schema-validation-error"
    init = "/org.3gpp.mcptt.ue-init-config/users/%s/ue-init-config.xml" % ALICE
    assert cms.put(init, bad, ctype="application/vnd.3gpp.mcptt-ue-init-config+xml")[0] == 201


def test_help_check_and_bad_config(tmp_path, procs):
    exe = binary("mcx-cms")
    r = subprocess.run([str(exe), "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--check" in r.stdout
    c = Cms(tmp_path, procs)
    r = subprocess.run([str(exe), "-c", str(c.conf), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(c.conf.read_text() + "surprise: 1\n")
    r = subprocess.run([str(exe), "-c", str(bad), "--check"], capture_output=True, text=True)
    assert r.returncode == 1 and "surprise" in r.stderr
    # the sample config loads (paths aside)
    sample = (REPO / "configs" / "mcx-cms.yaml").read_text()
    sample = sample.replace("/var/lib/mcxcore/alpha/cms.db", str(tmp_path / "s.db"))
    sample = sample.replace("/var/lib/mcxcore/alpha/idms-jwks.json", str(c.jwks))
    (tmp_path / "sample.yaml").write_text(sample)
    r = subprocess.run([str(exe), "-c", str(tmp_path / "sample.yaml"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_compiled_schemas_match_configs():
    """cms-xsd.c (compiled into mcx-cms and mcxctl) equals configs/cms/*.xsd."""
    r = subprocess.run(["/usr/bin/python3", str(REPO / "src" / "mcx-cms" / "cms-xsd-gen.py"),
                        "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("doc,xsd", [
    ("user-profile-0.xml", "user-profile.xsd"), ("ue-config.xml", "ue-config.xsd"),
    ("ue-init-config.xml", "ue-init-config.xsd"), ("service-config.xml", "service-config.xsd"),
    ("functional-alias-definitions.xml", "functional-alias.xsd"),
    ("functional-alias-activation.xml", "functional-alias.xsd")])
def test_sample_documents_accepted(cms, doc, xsd):
    """Every sample in configs/cms validates the daemon's way (a PUT in the users tree)."""
    mime = {"user-profile.xsd": UP_MIME, "functional-alias.xsd": FA_MIME,
            "service-config.xsd": SC_MIME}.get(
        xsd, "application/vnd.3gpp.mcptt-%s+xml" % xsd[:-4])
    auid = {"user-profile.xsd": UP, "functional-alias.xsd": FA, "service-config.xsd": SC}.get(
        xsd, "org.3gpp.mcptt." + xsd[:-4])
    body = (SAMPLES / doc).read_bytes()
    if auid == SC:
        cms.provision_global(SC, "service-config.xml", SAMPLES / doc)
        return
    if auid == FA:
        if "definitions" in doc:
            cms.provision_global(FA, "definitions.xml", SAMPLES / doc)
            return
        # nothing is defined here: the sample passes the schema and fails only on that
        st, _, rbody = cms.put("/%s/users/%s/activation.xml" % (FA, ALICE), body, ctype=mime)
        assert st == 409 and "is not defined" in xcap_error(rbody)[1]
        return
    st, _, rbody = cms.put("/%s/users/%s/%s" % (auid, ALICE, doc), body, ctype=mime)
    assert st == 201, rbody


def test_functional_alias_concurrent_activations_respect_limit(cms):
    """Many users racing for a one-holder alias: exactly one gets it."""
    import threading
    defs = SAMPLES / "functional-alias-definitions.xml"
    users = ["sip:u%d@alpha.test" % i for i in range(12)]
    text = defs.read_text().replace(
        "<allowed-user>sip:bob@alpha.test</allowed-user>",
        "".join("<allowed-user>%s</allowed-user>" % u for u in users), 1)
    (cms.tmp / "defs.xml").write_text(text)
    cms.provision_global(FA, "definitions.xml", cms.tmp / "defs.xml")
    ic = "sip:fa-incident-commander@alpha.test"
    results = {}

    def go(u):
        results[u] = cms.put("/%s/users/%s/activation.xml" % (FA, u), activation(ic), who=u,
                             ctype=FA_MIME)[0]

    threads = [threading.Thread(target=go, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == [201] + [409] * (len(users) - 1)
    winner = [u for u, st in results.items() if st == 201]
    assert fa_status(cms)[ic] == winner
