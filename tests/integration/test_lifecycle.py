# SPDX-License-Identifier: AGPL-3.0-or-later
"""The whole on-network lifecycle of an MC service user (TS 23.280 10.1.1.1) with the
real peers: `mcx up` (Kamailio S-CSCF, SIP database, Diameter proxy, mcx-idms,
mcx-cms, mcx-gms, mcx-server, nginx with the run directory's CA) on a topology
written here, mcx-ue and curl as the clients, the MC server's status API as the
verdict. Then `mcx demo` itself.

One `mcx up` serves the module (free ports); at the end `mcx down` and every
recorded pid (and Kamailio's and nginx's process groups) is checked gone, and
whatever survived is killed by pid.
"""

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import time
import types

import pytest

import conftest
import tokens
from conftest import binary, gone, group_members, read_state, to_yaml

REALM = "alpha.test"
AKA_K = "0123456789abcdef0123456789abcdef"
AKA_OP = "fedcba9876543210fedcba9876543210"
ALICE = "sip:alice@alpha.test"
BOB = "sip:bob@alpha.test"
PROFILE = "/cms/org.3gpp.mcptt.user-profile/users/%s/user-profile-0.xml"


def need(program, why):
    if not (shutil.which(program) or os.path.exists("/usr/sbin/" + program)):
        pytest.skip("%s not installed (%s)" % (program, why))


def run(argv, timeout=90, env=None):
    p = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, env=env)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def topology():
    return {"systems": [{
        "name": "alpha", "realm": REALM,
        "subscribers": [
            {"impi": "alice@alpha.test", "impus": [ALICE], "k": AKA_K, "op": AKA_OP,
             "scheme": "aka"},
            {"impi": "bob@alpha.test", "impus": [BOB], "password": "bob-secret",
             "scheme": "digest"}],
        "idms": {"log_level": "info", "access_token_lifetime": 600},
        "users": [
            {"username": "alice", "password": "alice-mc", "sip_identity": "alice@alpha.test",
             "groups": ["sip:fire@alpha.test"]},
            {"username": "bob", "password": "bob-mc", "sip_identity": "bob@alpha.test",
             "groups": ["sip:fire@alpha.test"]}],
        "groups": [{"uri": "sip:fire@alpha.test", "display_name": "Fire",
                    "members": ["alice", "bob"]}]}]}


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    """The system `mcx up` started: ports, CA, run directory; brought down at the end."""
    need("kamailio", "Debian: kamailio kamailio-ims-modules")
    need("nginx", "Debian: nginx-light")
    need("curl", "Debian: curl")
    for b in ("mcx", "mcx-ue", "mcx-idms", "mcx-cms", "mcx-gms", "mcx-server"):
        binary(b)
    d = tmp_path_factory.mktemp("lifecycle")
    (d / "topo.yaml").write_text(to_yaml(topology()) + "\n")
    run_dir = d / "run"
    rc, out, err = run([binary("mcx"), "up", d / "topo.yaml", "--run-dir", run_dir], timeout=120)
    rows = read_state(run_dir) if (run_dir / "mcx.state").exists() else []
    try:
        assert rc == 0, out + err
        port = {r["name"]: r["port"] for r in rows}
        server_yaml = (run_dir / "alpha" / "server.yaml").read_text()
        yield types.SimpleNamespace(
            dir=d, run_dir=run_dir, ca=run_dir / "ca.pem", https=port["nginx"],
            scscf=port["kamailio"], status=port["mcx-server"],
            server_sip=int(re.search(r"^sip:\n  listen: \S+\n  port: (\d+)", server_yaml,
                                     re.M).group(1)),
            jwks=json.loads((run_dir / "alpha" / "idms-jwks.json").read_text()))
    finally:
        rc, out, err = run([binary("mcx"), "down", "--run-dir", run_dir])
        left = []
        for r in rows:
            for pid in [r["pid"]] + (group_members(r["pid"]) if r["group"] else []):
                if not gone(pid):
                    left.append((r["name"], pid))
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
        assert rc == 0 and out.count("stopped") == len(rows), out + err
        assert left == [], left


def ue_config(system, name, user, password, **mc):
    isim = {"impi": "%s@%s" % (user, REALM), "impu": "sip:%s@%s" % (user, REALM)}
    if user == "alice":
        isim.update(k=AKA_K, op=AKA_OP, sqn_file=str(system.dir / "alice.sqn"))
    else:
        isim.update(password="bob-secret")
    base = "https://127.0.0.1:%d" % system.https
    conf = {"isim": isim,
            "sip": {"proxy": "127.0.0.1", "port": system.scscf, "expires": 600,
                    "timeout_seconds": 10},
            "mc": {"idms_url": base + "/idms", "cms_url": base + "/cms", "gms_url": base + "/gms",
                   "ca_file": str(system.ca), "username": user, "password": password,
                   "state_dir": str(system.dir / ("state-" + name)), "http_timeout_s": 10}}
    conf["mc"].update(mc)
    p = system.dir / ("ue-%s.yaml" % name)
    p.write_text(to_yaml(conf) + "\n")
    return p


def status(system, who=None):
    """The MC server's status API: (HTTP status, JSON or text)."""
    url = "http://127.0.0.1:%d/users%s" % (system.status, "/" + who if who else "")
    rc, out, err = run(["curl", "-sS", "--max-time", "5", "-w", "\n%{http_code}", url])
    assert rc == 0, err
    body, code = out.rsplit("\n", 1)
    try:
        return int(code), json.loads(body)
    except ValueError:
        return int(code), body


def authorized(system, who):
    code, obj = status(system, who)
    return code == 200 and obj["authorized"] is True


def nobody_authorized(system):
    code, obj = status(system)
    assert code == 200, obj
    return [u for u in obj["users"] if u["authorized"]] == []


PHASES = [
    r"^CSC-1 IdM client -> IdMS: token 200: access token for %s",
    r"^CSC-4 configuration management client: 1 profile\(s\), 1 group\(s\) for %s",
    r"^CSC-2 group management client: 1 of 1 group document\(s\)",
    r"^REGISTERED %s",
    r"^SERVICE AUTHORIZATION accepted at sip:mcptt-server@alpha\.test",
    r"^SERVICE AUTHORIZATION removed at sip:mcptt-server@alpha\.test",
    r"^DEREGISTERED %s",
]


# ----------------------------------------------------------------------------
# (a) the lifecycle


def test_once_every_phase(system):
    cfg = ue_config(system, "alice-once", "alice", "alice-mc")
    rc, out, err = run([binary("mcx-ue"), "-c", cfg, "--once"])
    assert rc == 0, out + err
    pos = -1
    for ph in PHASES:  # each phase's line, in lifecycle order
        pat = ph % ("alice" if "token 200" in ph else re.escape(ALICE)) if "%s" in ph else ph
        m = re.search(pat, out, re.M)
        assert m and m.start() > pos, (pat, out)
        pos = m.start()
    assert "FAILED" not in out, out
    # --once de-registered: the server holds nothing for alice any more.
    assert not authorized(system, ALICE)
    assert nobody_authorized(system)


def test_authorized_while_registered_not_after(system):
    cfg = ue_config(system, "bob-stay", "bob", "bob-mc")
    outf = system.dir / "bob-stay.out"
    with open(outf, "wb") as o:
        ue = subprocess.Popen([str(binary("mcx-ue")), "-c", str(cfg)], stdout=o,
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while "SERVICE AUTHORIZATION accepted" not in outf.read_text():
            assert ue.poll() is None, outf.read_text()
            assert time.monotonic() < deadline, outf.read_text()
            time.sleep(0.05)
        code, obj = status(system, BOB)
        assert code == 200, obj
        assert obj["authorized"] is True and obj["registered"] is True, obj
        assert obj["mcptt_id"] == BOB and obj["via"] == "publish", obj
        assert obj["client_id"] == "mcx-ue" and obj["state"] == "authorized", obj
        ue.send_signal(signal.SIGTERM)  # removes the publication, then de-registers
        assert ue.wait(30) == 0, outf.read_text()
    finally:
        if ue.poll() is None:
            ue.kill()
            ue.wait()
    out = outf.read_text()
    assert "SERVICE AUTHORIZATION removed" in out and "DEREGISTERED " + BOB in out, out
    code, obj = status(system, BOB)
    assert code == 404 or obj["authorized"] is False, obj
    assert nobody_authorized(system)


# ----------------------------------------------------------------------------
# (b) resource access through nginx with the deployment CA


def b64json(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def b64enc(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def alice_token(system):
    """An access token from the real IdMS (mcx-ue's idm phase, kept in tokens.json)."""
    cfg = ue_config(system, "alice-idm", "alice", "alice-mc")
    rc, out, err = run([binary("mcx-ue"), "-c", cfg, "--phases", "idm", "--once"])
    assert rc == 0, out + err
    tok = json.loads((system.dir / "state-alice-idm" / "tokens.json").read_text())
    return tok["access_token"]


def curl_get(system, path, token=None):
    args = ["curl", "-sS", "--max-time", "10", "--cacert", system.ca, "-D", "-",
            "https://127.0.0.1:%d%s" % (system.https, path)]
    if token is not None:
        args[1:1] = ["-H", "Authorization: Bearer " + token]
    rc, out, err = run(args)
    assert rc == 0, err
    head, _, body = out.partition("\r\n\r\n")
    code = int(re.match(r"HTTP/\S+ (\d+)", head).group(1))
    return code, head, body


def test_own_profile_200_through_nginx(system, alice_token):
    claims = b64json(alice_token.split(".")[1])
    assert claims["mcptt_id"] == ALICE and "cms.alpha.test" in claims["aud"], claims
    code, head, body = curl_get(system, PROFILE % ALICE, alice_token)
    assert code == 200, head + body
    assert re.search(r"^content-type: application/vnd\.3gpp\.mcptt-user-profile\+xml", head,
                     re.M | re.I), head
    assert "urn:3gpp:mcptt:user-profile:1.0" in body and "sip:fire@alpha.test" in body, body
    code, head, body = curl_get(system, "/gms/org.openmobilealliance.groups/global/byGroupID/"
                                "sip:fire@alpha.test", alice_token)
    assert code == 200 and '<entry uri="sip:bob@alpha.test"' in body, head + body


def test_other_users_profile_403(system, alice_token):
    code, head, body = curl_get(system, PROFILE % BOB, alice_token)
    assert code == 403, head + body


def test_no_token_401(system):
    code, head, body = curl_get(system, PROFILE % ALICE)
    assert code == 401, head + body
    assert re.search(r"^www-authenticate: Bearer realm=", head, re.M | re.I), head
    assert "invalid_token" not in head, head


def stale(token):
    """The real IdMS's token with its payload made expired: the signature no longer fits."""
    h, p, s = token.split(".")
    c = b64json(p)
    c["exp"] = int(time.time()) - 3600
    c["iat"] = c["nbf"] = c["exp"] - 600
    return h + "." + b64enc(c) + "." + s


@pytest.mark.parametrize("bad", ["stale", "tampered", "forged", "foreign-expired"])
def test_bad_tokens_401_invalid_token(system, alice_token, bad):
    claims = b64json(alice_token.split(".")[1])
    kid = system.jwks["keys"][0]["kid"]
    if bad == "stale":
        tok = stale(alice_token)
    elif bad == "tampered":
        tok = tokens.tampered(alice_token)
    elif bad == "forged":  # the IdMS's issuer and kid, another key
        tok = tokens.forged(types.SimpleNamespace(kid=kid), claims)
    else:  # a well-signed but expired token of an issuer nobody trusts
        iss = tokens.Issuer(claims["iss"])
        tok = iss.token(ALICE, claims["aud"], lifetime=-600)
    code, head, body = curl_get(system, PROFILE % ALICE, tok)
    assert code == 401, head + body
    assert re.search(r'^www-authenticate: Bearer .*error="invalid_token"', head,
                     re.M | re.I), head


# ----------------------------------------------------------------------------
# (c) the lifecycle refused at its first step


def test_wrong_password_fails_at_csc1(system):
    cfg = ue_config(system, "alice-wrong", "alice", "not-the-password")
    rc, out, err = run([binary("mcx-ue"), "-c", cfg, "--once"])
    assert rc == 1, out + err
    assert "CSC-1" in err and "401" in err, err
    assert "FAILED" in out, out
    assert "REGISTERED" not in out and "PUBLISH" not in out, out
    assert not (system.dir / "state-alice-wrong" / "tokens.json").exists()
    code, obj = status(system, ALICE)
    assert code == 404 or obj["authorized"] is False, obj
    assert nobody_authorized(system)


# ----------------------------------------------------------------------------
# (d) mcx demo


def test_demo_walks_the_five_steps(tmp_path):
    need("kamailio", "Debian: kamailio kamailio-ims-modules")
    need("nginx", "Debian: nginx-light")
    binary("mcx-ue")
    env = dict(os.environ, TMPDIR=str(tmp_path))
    rc, out, err = run([binary("mcx"), "demo"], timeout=300, env=env)
    assert rc == 0, out + err
    assert "mcx demo: done." in out, out
    steps = [("1", "user authentication", "CSC-1"), ("2", "configuration", "CSC-4"),
             ("3", "groups", "CSC-2"), ("4", "SIP registration", "SIP-1"),
             ("5", "service authorization", "SIP-2"), ("6", "de-registration", "SIP-1")]
    for n, title, ref in steps:
        m = re.search(r"^-- \[%s\] %s\n   (.*)$" % (n, title), out, re.M)
        assert m and ref in m.group(1), (n, title, out)
    assert "AAA-1" in out and "HTTP-1" in out and "HTTP-2" in out, out
    assert out.count("   => ok") == 6, out
    assert re.search(r"GET /users/sip:alice@alpha\.test -> 200 .*\"authorized\":true", out), out
    assert re.search(r"GET /users/sip:alice@alpha\.test -> 404 .*not authorized", out), out
    if "Capturing SIP-1 and AAA-1" in out:
        ladder = out[out.index("-- MC service user alice"):]
        for pat in (r"UE alice\s+nginx\s+HTTP-1\s+TLS ClientHello",
                    r"nginx\s+mcx-idms\s+HTTP-2\s+POST /token",
                    r"nginx\s+mcx-cms\s+HTTP-2\s+GET /org\.3gpp\.mcptt\.user-profile/",
                    r"nginx\s+mcx-gms\s+HTTP-2\s+GET /org\.openmobilealliance\.groups/",
                    r"S-CSCF\s+dproxy\s+AAA-1\s+SAR alice@alpha\.test",
                    r"S-CSCF\s+MC server\s+SIP-2\s+REGISTER",
                    r"S-CSCF\s+MC server\s+SIP-2\s+PUBLISH .*Event poc-settings",
                    r"MC server\s+mcx-cms\s+CSC-5\s+GET ",
                    r"status\s+GET /users/sip:alice@alpha\.test -> 200\s+authorized true",
                    r"status\s+GET /users/sip:alice@alpha\.test -> 404\s+not authorized"):
            assert re.search(pat, ladder), (pat, ladder)
    # Everything stopped: the pids of the table are gone, the run directory removed.
    pids = [int(m.group(1)) for m in re.finditer(
        r"^alpha\s+\S+\s+\S+\s+(\d+)\s+alive", out, re.M)]
    assert len(pids) == 8, out
    for pid in pids:
        assert gone(pid) and group_members(pid) == [], pid
    assert list(tmp_path.glob("mcx-demo-*")) == []


def test_demo_names_the_failed_step(tmp_path):
    need("kamailio", "Debian: kamailio kamailio-ims-modules")
    need("nginx", "Debian: nginx-light")
    binary("mcx-ue")
    env = dict(os.environ, TMPDIR=str(tmp_path))
    rc, out, err = run([binary("mcx"), "demo", "--wrong-password", "--no-capture"], timeout=300,
                       env=env)
    assert rc == 1, out + err
    assert re.search(r"^mcx demo: FAILED at step 1, user authentication \(CSC-1, "
                     r"HTTP-1/HTTP-2\): CSC-1 IdM client -> IdMS: login as alice refused: 401",
                     err, re.M), err
    assert "   => FAILED: " in out and "-- [2]" not in out, out
    assert "mcx demo: done." not in out, out
    pids = [int(m.group(1)) for m in re.finditer(
        r"^alpha\s+\S+\s+\S+\s+(\d+)\s+alive", out, re.M)]
    assert len(pids) == 8, out
    for pid in pids:
        assert gone(pid) and group_members(pid) == [], pid
    # A failed demo keeps its run directory for the logs.
    kept = list(tmp_path.glob("mcx-demo-*"))
    assert len(kept) == 1 and (kept[0] / "ue-4-alice-mc.out").exists(), kept
