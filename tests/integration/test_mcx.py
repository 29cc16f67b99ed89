# SPDX-License-Identifier: AGPL-3.0-or-later
"""mcx, the orchestration program: `mcx up` a topology in tmp_path, `mcx
status`, a real UE (mcx-ue) registering against what came up, `mcx down`
stopping exactly the recorded processes; topology errors; `mcx demo`.
The application plane: IdMS, CMS, GMS, MC server and nginx started healthy,
the OpenID configuration fetched through TLS + nginx with the generated CA.

Each test uses its own run directory under tmp_path and free ports (the
topology leaves them at 0, so mcx picks them). A test that brought a system
up always runs `mcx down` for it, and kills by pid whatever survived.
Skipped when Kamailio is not installed.
"""

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import conftest
from conftest import binary, gone, group_members, read_state, to_yaml

conftest.BINARIES.setdefault("mcx", "src/mcx/mcx")
conftest.BINARIES.setdefault("mcx-ue", "src/mcx-ue/mcx-ue")

REALM = "alpha.test"
AKA_K = "0123456789abcdef0123456789abcdef"
AKA_OP = "fedcba9876543210fedcba9876543210"


def need_kamailio():
    if not (shutil.which("kamailio") or os.path.exists("/usr/sbin/kamailio")):
        pytest.skip("kamailio not installed (Debian: kamailio kamailio-ims-modules "
                    "kamailio-presence-modules)")


def mcx(*args, timeout=120, cwd=None):
    p = subprocess.run([str(binary("mcx"))] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, cwd=cwd)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def topology(sipdbs=1, **system):
    s = {"name": "alpha", "realm": REALM, "sipdb": {"count": sipdbs},
         "subscribers": [
             {"impi": "alice@alpha.test", "impus": ["sip:alice@alpha.test"],
              "k": AKA_K, "op": AKA_OP, "scheme": "aka"},
             {"impi": "bob@alpha.test", "impus": ["sip:bob@alpha.test"],
              "password": "bob-secret", "scheme": "digest"}]}
    s.update(system)
    return {"systems": [s]}


@pytest.fixture
def upped(tmp_path):
    """mcx up(topology) -> (run_dir, rc, out, err); always brought down at teardown."""
    need_kamailio()
    runs = []

    def up(topo, name="topo.yaml"):
        path = tmp_path / name
        path.write_text(to_yaml(topo) + "\n")
        run_dir = tmp_path / ("run-" + name.split(".")[0])
        runs.append(run_dir)
        rc, out, err = mcx("up", path, "--run-dir", run_dir)
        return run_dir, rc, out, err
    yield up
    for run_dir in runs:
        rows = read_state(run_dir) if (run_dir / "mcx.state").exists() else []
        if rows:
            mcx("down", "--run-dir", run_dir)
        for r in rows:  # whatever survived a failed test: by pid, by our own group
            for pid in ([r["pid"]] + (group_members(r["pid"]) if r["group"] else [])):
                if not gone(pid):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass


def ue_config(tmp_path, port, name, **isim):
    conf = {"isim": dict(isim), "sip": {"proxy": "127.0.0.1", "port": port, "expires": 600,
                                        "timeout_seconds": 10}}
    p = tmp_path / ("%s.yaml" % name)
    p.write_text(to_yaml(conf) + "\n")
    return p


def run_ue(cfg, *args):
    p = subprocess.run([str(binary("mcx-ue")), "-c", str(cfg)] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def test_up_status_register_down(upped, tmp_path):
    run_dir, rc, out, err = upped(topology(sipdbs=2))
    assert rc == 0, out + err
    rows = read_state(run_dir)
    # The SIP core first; the application plane (whatever of it is built) after.
    assert [r["name"] for r in rows[:4]] == ["mcx-sipdb", "mcx-sipdb", "kamailio", "mcx-dproxy"]
    assert [r["identity"] for r in rows[:4]] == ["sipdb1.alpha.test", "sipdb2.alpha.test",
                                                 "scscf.alpha.test", "dproxy.alpha.test"]
    assert set(r["name"] for r in rows[4:]) <= set(APP_PLANE), rows
    n = len(rows)
    # The table printed by up names every process with its pid and port.
    for r in rows:
        assert re.search(r"%s\s+%s\s+%d\s+alive\s+127\.0\.0\.1:%d .*ok" %
                         (r["name"], re.escape(r["identity"]), r["pid"], r["port"]), out), out
    # Generated files and logs live in the run directory.
    sysdir = run_dir / "alpha"
    for f in ("sipdb1.yaml", "sipdb2.yaml", "dproxy.yaml", "scscf.cfg", "scscf-cdp.xml",
              "sipdb.sqlite", "sipdb1.log", "dproxy.log", "scscf.log"):
        assert (sysdir / f).exists(), f
    # Each daemon runs in a session of its own.
    for r in rows:
        assert os.getsid(r["pid"]) == r["pid"], r

    rc, st_out, st_err = mcx("status", "--run-dir", run_dir)
    assert rc == 0, st_out + st_err
    lines = [line for line in st_out.splitlines()[1:] if line.strip()]
    assert len(lines) == n and all(" alive " in line and " ok " in line for line in lines), st_out
    assert "OPTIONS 200" in st_out

    sip_port = [r for r in rows if r["name"] == "kamailio"][0]["port"]
    ue = ue_config(tmp_path, sip_port, "alice", impi="alice@alpha.test",
                   impu="sip:alice@alpha.test", k=AKA_K, op=AKA_OP,
                   sqn_file=str(tmp_path / "alice.sqn"))
    rc, uout, uerr = run_ue(ue, "--once")
    assert rc == 0, uout + uerr
    assert re.search(r"^REGISTERED sip:alice@alpha\.test", uout, re.M), uout
    ue = ue_config(tmp_path, sip_port, "bob", impi="bob@alpha.test",
                   impu="sip:bob@alpha.test", password="bob-secret")
    rc, uout, uerr = run_ue(ue, "--once", "--transport", "tcp")
    assert rc == 0, uout + uerr
    assert "Digest MD5 with the configured password" in uout, uout
    sipdb_logs = "".join(Path(r["log"]).read_text() for r in rows if r["name"] == "mcx-sipdb")
    assert re.findall(r" INFO SAR (\w+) (\S+) by", sipdb_logs).count(
        ("REGISTRATION", "alice@alpha.test")) == 1, sipdb_logs

    # A second `up` on a live run directory is refused and changes nothing.
    rc2, _, err2 = mcx("up", tmp_path / "topo.yaml", "--run-dir", run_dir)
    assert rc2 == 1 and "already up" in err2, err2
    assert read_state(run_dir) == rows

    rc, dout, derr = mcx("down", "--run-dir", run_dir)
    assert rc == 0, dout + derr
    assert dout.count("stopped") == n, dout
    for r in rows:
        assert gone(r["pid"]), r
        if r["group"]:
            assert group_members(r["pid"]) == [], r  # no Kamailio child left behind
    assert not (run_dir / "mcx.state").exists()
    rc, _, err = mcx("status", "--run-dir", run_dir)
    assert rc == 1 and "nothing is up" in err, err


def test_down_after_a_daemon_died(upped):
    run_dir, rc, out, err = upped(topology())
    assert rc == 0, out + err
    rows = read_state(run_dir)
    sipdb = rows[0]
    os.kill(sipdb["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 5
    while not gone(sipdb["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    rc, st_out, _ = mcx("status", "--run-dir", run_dir)
    assert rc == 1, st_out
    assert re.search(r"mcx-sipdb .* dead .* not running", st_out), st_out
    rc, dout, _ = mcx("down", "--run-dir", run_dir)
    assert rc == 0 and "was not running" in dout and dout.count("stopped") == len(rows) - 1, dout
    for r in rows:
        assert gone(r["pid"]), r


def test_up_again_keeps_the_store(upped, tmp_path):
    """down, then up on the same run directory: the subscribers are updated,
    not re-created, so the stored SQN does not go back and the UE's next
    challenge is fresh (no resynchronisation)."""
    def register():
        rows = read_state(run_dir)
        sip_port = [r for r in rows if r["name"] == "kamailio"][0]["port"]
        ue = ue_config(tmp_path, sip_port, "alice", impi="alice@alpha.test",
                       impu="sip:alice@alpha.test", k=AKA_K, op=AKA_OP,
                       sqn_file=str(tmp_path / "alice.sqn"))
        rc, uout, uerr = run_ue(ue, "--once")
        assert rc == 0, uout + uerr
        return uout

    run_dir, rc, out, err = upped(topology())
    assert rc == 0, out + err
    assert "auts" not in register()
    rc, dout, derr = mcx("down", "--run-dir", run_dir)
    assert rc == 0, dout + derr
    rc, out, err = mcx("up", tmp_path / "topo.yaml", "--run-dir", run_dir)
    assert rc == 0, out + err
    uout = register()
    assert "fresh; SEQ_MS saved" in uout and "auts" not in uout, uout


BAD = [
    ({"systems": [{"name": "alpha", "realm": REALM, "sipdb": {"port": 3868}}]},
     "systems[0].sipdb.port: unknown key"),
    ({"systems": [{"name": "alpha", "realm": REALM, "dproxy": {"port": 70000}}]},
     "systems[0].dproxy.port: 70000 is out of range"),
    ({"systems": [{"name": "alpha", "realm": REALM, "scscf": {"sip_port": "x"}}]},
     "systems[0].scscf.sip_port: 'x' is not an integer"),
    ({"systems": [{"name": "alpha"}]}, "systems[0].realm: required key is missing"),
    ({"systems": [{"name": "alpha", "realm": REALM, "base_port": 5000,
                   "dproxy": {"port": 5000}}]},
     "systems[0].dproxy.port: port 5000 is also systems[0].scscf.sip_port"),
    ({"systems": [{"name": "alpha", "realm": REALM,
                   "subscribers": [{"impi": "a@alpha.test", "impus": ["sip:a@alpha.test"],
                                    "k": AKA_K}]}]},
     "systems[0].subscribers[0].k: needs op or opc"),
]


@pytest.mark.parametrize("topo,why", BAD, ids=["unknown-key", "port-range", "port-type",
                                                "missing-realm", "port-clash", "aka-no-op"])
def test_bad_topology_exit_2(tmp_path, topo, why):
    path = tmp_path / "bad.yaml"
    path.write_text(to_yaml(topo) + "\n")
    for cmd in ("check", "up"):
        rc, out, err = mcx(cmd, path, "--run-dir", tmp_path / "run")
        assert rc == 2, (cmd, out, err)
        assert why in err, (cmd, err)
        assert str(path) in err, err
    assert not (tmp_path / "run" / "mcx.state").exists()


def test_sample_topology_checks():
    rc, out, err = mcx("check", conftest.REPO / "configs" / "topology-alpha.yaml")
    assert rc == 0, err


def test_bad_app_topology_names_file_and_line(tmp_path):
    """Keys of the application plane: unknown or bad ones name file:line: key."""
    cases = [
        ("    idms:\n      port: 8080\n      lifetime: 5\n",
         r"bad\.yaml:7: systems\[0\]\.idms\.lifetime: unknown key"),
        ("    cms:\n      port: 99999\n", r"bad\.yaml:6: systems\[0\]\.cms\.port: 99999"),
        ("    server:\n      sip_port: x\n", r"bad\.yaml:6: systems\[0\]\.server\.sip_port"),
        ("    users:\n      - username: a\n        password: p\n        sip_identity: a@b\n"
         "        mcptt: x\n", r"bad\.yaml:9: systems\[0\]\.users\[0\]\.mcptt: unknown key"),
        ("    users:\n      - {username: a, password: p, sip_identity: nobody@alpha.test}\n",
         r"bad\.yaml: systems\[0\]\.users\[0\]\.sip_identity: 'nobody@alpha\.test' is not"),
        ("    groups:\n      - {uri: sip:g@alpha.test, members: [carol]}\n",
         r"systems\[0\]\.groups\[0\]\.members\[0\]: 'carol' is neither"),
    ]
    for extra, why in cases:
        path = tmp_path / "bad.yaml"
        path.write_text("# line 1\nsystems:\n  - name: alpha\n    realm: alpha.test\n" + extra)
        rc, out, err = mcx("check", path)
        assert rc == 2 and re.search(why, err), (extra, err)


def test_usage():
    rc, out, err = mcx()
    assert rc == 2 and "Usage" in err
    rc, out, err = mcx("--help")
    assert rc == 0 and "mcx up TOPOLOGY.yaml" in out
    rc, out, err = mcx("launch")
    assert rc == 2 and "unknown command" in err


# ----------------------------------------------------------------------------
# The application plane

APP_PLANE = ["mcx-idms", "mcx-cms", "mcx-gms", "mcx-server", "nginx"]


def need_nginx():
    if not (shutil.which("nginx") or os.path.exists("/usr/sbin/nginx")):
        pytest.skip("nginx not installed (Debian nginx-light)")


def app_topology():
    t = topology(
        https_port=0,
        idms={"port": 0, "log_level": "debug", "access_token_lifetime": 600,
              "refresh_token_lifetime": 3600, "code_lifetime": 30},
        cms={"port": 0, "log_level": "info"}, gms={"port": 0, "log_level": "info"},
        server={"sip_port": 0, "http_port": 0, "log_level": "info"},
        users=[{"username": "alice", "password": "alice-mc", "sip_identity": "alice@alpha.test",
                "groups": ["sip:fire@alpha.test"]},
               {"username": "bob", "password": "bob-mc", "mcptt_id": "sip:bob@alpha.test",
                "sip_identity": "bob@alpha.test", "profiles": ["builtin"],
                "groups": ["sip:fire@alpha.test"]}],
        groups=[{"uri": "sip:fire@alpha.test", "display_name": "Fire",
                 "members": ["alice", "sip:bob@alpha.test"]}])
    return t


def curl(*args):
    p = subprocess.run(["curl", "-sS", "--max-time", "10"] + [str(a) for a in args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def test_app_plane_up_tls_proxy_idms_down(upped, tmp_path):
    need_nginx()
    for b in ("mcx-idms", "mcx-cms", "mcx-gms", "mcx-server"):
        conftest.BINARIES.setdefault(b, "src/%s/%s" % (b, b))
        binary(b)
    run_dir, rc, out, err = upped(app_topology())
    assert rc == 0, out + err
    rows = read_state(run_dir)
    assert [r["name"] for r in rows] == ["mcx-sipdb", "kamailio", "mcx-dproxy"] + APP_PLANE
    https = [r for r in rows if r["name"] == "nginx"][0]["port"]
    issuer = "https://127.0.0.1:%d/idms" % https
    assert [r["identity"] for r in rows[3:]] == [
        issuer, "https://127.0.0.1:%d/cms" % https, "https://127.0.0.1:%d/gms" % https,
        "sip:mcptt-server@alpha.test", "https://127.0.0.1:%d" % https]
    assert "IdMS: client mcx-ue and 2 user(s) provisioned" in out, out
    assert "GMS: 1 group(s) provisioned" in out, out
    assert "not built" not in out, out

    # mcx status: every entity alive and healthy; nginx through TLS + IdMS.
    rc, st_out, st_err = mcx("status", "--run-dir", run_dir)
    assert rc == 0, st_out + st_err
    for r in rows:
        assert re.search(r"^alpha\s+%s\s+\S+\s+%d\s+alive .* ok " % (re.escape(r["name"]), r["pid"]),
                         st_out, re.M), (r, st_out)
    assert "ok (TLS, openid-configuration 200)" in st_out, st_out

    # Certificates: a CA in the run directory, keys 0600.
    ca = run_dir / "ca.pem"
    assert ca.exists()
    for key in (run_dir / "ca-key.pem", run_dir / "alpha" / "server-key.pem"):
        assert (key.stat().st_mode & 0o777) == 0o600, key

    # The UE's path: TLS (checked against the CA) -> nginx -> mcx-idms.
    url = issuer + "/.well-known/openid-configuration"
    rc, body, cerr = curl("--cacert", ca, "-w", "\n%{http_code} %{http_version}", url)
    assert rc == 0, cerr
    doc, status = body.rsplit("\n", 1)
    assert status == "200 2", status  # HTTP/2 over TLS
    import json
    meta = json.loads(doc)
    assert meta["issuer"] == issuer, meta
    assert meta["token_endpoint"] == issuer + "/token", meta
    # The JWKS through the proxy is the file the resource servers trust.
    rc, jwks, cerr = curl("--cacert", ca, issuer + "/jwks")
    assert rc == 0 and json.loads(jwks)["keys"] == json.loads(
        (run_dir / "alpha" / "idms-jwks.json").read_text())["keys"], jwks
    # Without the CA the certificate is not trusted.
    rc, _, cerr = curl(url)
    assert rc == 60, cerr
    # A resource server behind /cms/ answers through the proxy: no token -> 401 Bearer.
    rc, hdrs, _ = curl("--cacert", ca, "-D", "-", "-o", "/dev/null",
                       "https://127.0.0.1:%d/cms/org.3gpp.mcptt.user-profile/users/"
                       "sip:alice@alpha.test/user-profile-0.xml" % https)
    assert rc == 0 and re.search(r"^HTTP/2 401", hdrs, re.M), hdrs
    assert re.search(r"^www-authenticate: Bearer", hdrs, re.M | re.I), hdrs

    # Provisioned stores: IdMS users and client, CMS profiles, GMS group.
    mcxctl = build_bin("mcxctl")
    sysdir = run_dir / "alpha"
    out_u = subprocess.run([mcxctl, "--db", sysdir / "idms.sqlite", "user", "list"],
                           stdout=subprocess.PIPE, check=True).stdout.decode()
    assert "alice" in out_u and "sip:bob@alpha.test" in out_u, out_u
    out_x = subprocess.run([mcxctl, "--db", sysdir / "cms.sqlite", "xcap", "list"],
                           stdout=subprocess.PIPE, check=True).stdout.decode()
    assert "org.3gpp.mcptt.user-profile/users/sip:alice@alpha.test/user-profile-0.xml" in out_x
    out_g = subprocess.run([mcxctl, "--db", sysdir / "gms.sqlite", "xcap", "get", "--auid",
                            "org.openmobilealliance.groups", "--global", "--doc",
                            "byGroupID/sip:fire@alpha.test"],
                           stdout=subprocess.PIPE, check=True).stdout.decode()
    assert '<entry uri="sip:alice@alpha.test"/>' in out_g, out_g

    # down: every pid gone, nginx's workers with it.
    ca_bytes = ca.read_bytes()
    rc, dout, derr = mcx("down", "--run-dir", run_dir)
    assert rc == 0 and dout.count("stopped") == len(rows), dout + derr
    for r in rows:
        assert gone(r["pid"]), r
        if r["group"]:
            assert group_members(r["pid"]) == [], r

    # up again: certificates reused, provisioning idempotent, healthy again.
    rc, out, err = mcx("up", tmp_path / "topo.yaml", "--run-dir", run_dir)
    assert rc == 0, out + err
    assert "certificates reused" in out and ca.read_bytes() == ca_bytes, out
    assert "IdMS: client mcx-ue and 2 user(s) provisioned" in out, out
    rc, st_out, _ = mcx("status", "--run-dir", run_dir)
    assert rc == 0, st_out


def build_bin(name):
    p = conftest.build_dir() / "src" / name / name
    if not p.exists():
        pytest.skip("%s not built" % name)
    return str(p)


# ----------------------------------------------------------------------------
# mcx demo


def demo_pids(out):
    """Pids from the table the demo prints after `up`."""
    return [int(m.group(1)) for m in re.finditer(
        r"^alpha\s+(?:mcx-sipdb|kamailio|mcx-dproxy)\s+\S+\s+(\d+)\s+alive", out, re.M)]


def run_demo(tmp_path, *args):
    env = dict(os.environ, TMPDIR=str(tmp_path))
    p = subprocess.run([str(binary("mcx")), "demo"] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=300, env=env)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def assert_demo_cleaned_up(tmp_path, out):
    pids = demo_pids(out)
    assert len(pids) == 3, out
    for pid in pids:
        assert gone(pid), pid
        assert group_members(pid) == [], pid
    assert list(tmp_path.glob("mcx-demo-*")) == []  # the temporary run directory is gone


def test_demo(tmp_path):
    need_kamailio()
    binary("mcx-ue")
    rc, out, err = run_demo(tmp_path)
    assert rc == 0, out + err
    assert "mcx demo: done." in out
    for step in ("1. UE alice registers with IMS AKA", "2. UE bob registers with SIP Digest",
                 "3. UE alice's ISIM is 1000 SQNs ahead: AKA resynchronisation"):
        assert step in out, out
    if "Capturing SIP-1 and AAA-1" in out:
        ladder = out[out.index("What crossed SIP-1"):]
        sections = re.split(r"^-- \d\. ", ladder, flags=re.M)
        assert len(sections) == 4, ladder
        aka, digest, resync = sections[1], sections[2], sections[3]
        sip = r"\s+\d+\.\d{3}\s+"
        # IMS AKA: challenge, then 200 OK, Cx MAR/MAA then SAR REGISTRATION.
        assert re.search(sip + r"S-CSCF\s+UE alice\s+SIP-1\s+401 .*algorithm=AKAv1-MD5", aka)
        assert re.search(sip + r"S-CSCF\s+UE alice\s+SIP-1\s+200 OK", aka), aka
        assert re.search(sip + r"S-CSCF\s+dproxy\s+AAA-1\s+MAR alice@alpha\.test", aka), aka
        assert re.search(sip + r"dproxy\s+sipdb\s+AAA-1\s+MAR alice@alpha\.test", aka), aka
        assert re.search(r"sipdb\s+dproxy\s+AAA-1\s+MAA\s+Result-Code 2001 .*"
                         r"scheme Digest-AKAv1-MD5", aka), aka
        assert re.search(r"SAR alice@alpha\.test\s+Server-Assignment-Type REGISTRATION \(1\)",
                         aka), aka
        assert "USER_DEREGISTRATION (5)" in aka, aka
        # SIP Digest: MD5 challenge, 200 OK.
        assert re.search(sip + r"S-CSCF\s+UE bob\s+SIP-1\s+401 .*algorithm=MD5", digest)
        assert re.search(sip + r"S-CSCF\s+UE bob\s+SIP-1\s+200 OK", digest), digest
        assert re.search(r"MAA\s+Result-Code 2001 .*scheme SIP Digest", digest), digest
        # Resynchronisation: the UE's auts, the MAR carrying RAND||AUTS, then 200.
        assert re.search(r"UE alice\s+S-CSCF\s+SIP-1\s+REGISTER .*auts=", resync), resync
        assert re.search(r"S-CSCF\s+dproxy\s+AAA-1\s+MAR alice@alpha\.test .*RAND\|\|AUTS",
                         resync), resync
        assert re.search(sip + r"S-CSCF\s+UE alice\s+SIP-1\s+200 OK", resync), resync
    else:
        assert "No capture: " in out, out
        assert "answering with auts" in out and "auts=(14 octets)" in out, out
        assert "Digest MD5 with the configured password" in out, out
        assert re.search(r"INFO SAR REGISTRATION alice@alpha\.test", out), out
    assert_demo_cleaned_up(tmp_path, out)


def test_demo_without_capture(tmp_path):
    need_kamailio()
    binary("mcx-ue")
    rc, out, err = run_demo(tmp_path, "--no-capture")
    assert rc == 0, out + err
    assert "No capture: --no-capture given." in out
    assert out.count("<-- 401 Unauthorized") >= 6, out
    assert "answering with auts" in out, out
    assert re.findall(r"INFO SAR (\w+) (\S+) by", out) == [
        ("REGISTRATION", "alice@alpha.test"), ("USER_DEREGISTRATION", "alice@alpha.test"),
        ("REGISTRATION", "bob@alpha.test"), ("USER_DEREGISTRATION", "bob@alpha.test"),
        ("RE_REGISTRATION", "alice@alpha.test"), ("USER_DEREGISTRATION", "alice@alpha.test"),
        # the MC service user's lifecycle (alice as an MC user, mcx-demo-mc.c)
        ("RE_REGISTRATION", "alice@alpha.test"), ("USER_DEREGISTRATION", "alice@alpha.test")], out
    assert_demo_cleaned_up(tmp_path, out)


def test_demo_ctrl_c_stops_everything(tmp_path):
    need_kamailio()
    binary("mcx-ue")
    env = dict(os.environ, TMPDIR=str(tmp_path))
    outf = tmp_path / "demo.out"
    with open(outf, "wb") as o:
        proc = subprocess.Popen([str(binary("mcx")), "demo", "--no-capture"], stdout=o,
                                stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while "No capture" not in outf.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, outf.read_text()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = outf.read_text()
    assert rc == 1, out
    assert "stopped" in out, out
    for pid in demo_pids(out):
        assert gone(pid), pid
        assert group_members(pid) == [], pid
