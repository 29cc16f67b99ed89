# SPDX-License-Identifier: AGPL-3.0-or-later
"""The SIP core of one MC system, end to end: SIPp (the UE) -> Kamailio IMS
S-CSCF (configs/kamailio/scscf.cfg.in, rendered here) -> Cx through
mcx-dproxy -> mcx-sipdb, with subscribers provisioned by mcxctl.

Each test starts its own mcx-sipdb, mcx-dproxy and Kamailio on its own free
ports under tmp_path, waits until the S-CSCF answers OPTIONS with 200 (which
its configuration does only once the Diameter proxy is connected and has
advertised Cx), runs SIPp scenarios from tests/integration/sipp/, and asserts
on the SIP responses (SIPp's message trace), on the Cx traffic seen by
mcx-sipdb (its log) and on the stored state (`mcxctl subscriber show`).
Skipped when Kamailio or SIPp is not installed.
"""

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (Daemon, GroupDaemon, free_port, to_yaml, binary, diameter_section,
                      fd_peer_state)

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
KAM_DIR = REPO / "configs" / "kamailio"
SIPP_DIR = HERE / "sipp"

REALM = "alpha.test"
SCSCF_HOST = "scscf.alpha.test"
SCSCF_ID = "scscf.alpha.test"
DPROXY_ID = "dproxy.alpha.test"
SIPDB_ID = "sipdb.alpha.test"

# SIPp 3.6.1 takes AKA keys either as 0x<hex> or as raw printable characters
# (reference/protocols.md section 6). The 0x form is decoded into a stack
# buffer with no terminating NUL and then parsed as message text again, so
# whatever follows on the stack decides whether SIPp stops with "Syntax error
# or invalid [keyword]" (it did, once in a few hundred runs). Printable keys
# are copied with their terminator: deterministic. The subscriber is
# provisioned with the same bytes in hex.
SIPP_K, SIPP_OP, SIPP_AMF = "abcdefghijklmnop", "OPOPOPOPOPOPOPOP", "zz"
AKA_K = SIPP_K.encode().hex()
AKA_OP = SIPP_OP.encode().hex()
AKA_AMF = SIPP_AMF.encode().hex()

ALICE = "alice@alpha.test"
ALICE_IMPU = "sip:alice@alpha.test"
ALICE_PW = "alice-secret"
BOB = "bob@alpha.test"
BOB_IMPU = "sip:bob@alpha.test"
BOB_TEL = "tel:+15550002"


def kamailio_binary():
    k = shutil.which("kamailio") or ("/usr/sbin/kamailio"
                                     if os.path.exists("/usr/sbin/kamailio") else None)
    if not k:
        pytest.skip("kamailio not installed (Debian: kamailio kamailio-ims-modules "
                    "kamailio-presence-modules)")
    return k


def sipp_binary():
    s = shutil.which("sipp")
    if not s:
        pytest.skip("sipp not installed (Debian: sip-tester)")
    return s


# ----------------------------------------------------------------------------
# Template rendering: the same plain @NAME@ substitution `mcx up` does.

PLACEHOLDER = re.compile(r"@([A-Z][A-Z0-9_]*)@")


def render(template, values, out):
    """Replace every @NAME@ in `template` by values[NAME]; write `out`.
    A placeholder without a value, or a value never used, is an error."""
    text = Path(template).read_text()
    used = set()

    def sub(m):
        name = m.group(1)
        if name not in values:
            raise KeyError("%s: no value for @%s@" % (template, name))
        used.add(name)
        return str(values[name])
    text = PLACEHOLDER.sub(sub, text)
    unused = set(values) - used
    if unused:
        raise KeyError("%s: values never used: %s" % (template, sorted(unused)))
    Path(out).write_text(text)
    return Path(out)


def free_sip_port():
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        p = free_port()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", p))
            return p
        except OSError:
            continue
        finally:
            u.close()
    raise RuntimeError("no port free for UDP and TCP")


def sip_options(port, timeout=0.3):
    """One OPTIONS to the S-CSCF over UDP; the status code, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    lport = s.getsockname()[1]
    s.settimeout(timeout)
    branch = "z9hG4bK-probe-%d-%d" % (lport, time.monotonic_ns())
    msg = ("OPTIONS sip:%s:%d SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport\r\n"
           "Max-Forwards: 70\r\n"
           "From: <sip:probe@%s>;tag=probe%d\r\n"
           "To: <sip:%s:%d>\r\n"
           "Call-ID: probe-%s@127.0.0.1\r\n"
           "CSeq: 1 OPTIONS\r\n"
           "Content-Length: 0\r\n\r\n") % (SCSCF_HOST, port, lport, branch, REALM, lport,
                                            SCSCF_HOST, port, branch)
    try:
        s.sendto(msg.encode(), ("127.0.0.1", port))
        data = s.recv(65535).decode(errors="replace")
        m = re.match(r"SIP/2\.0 (\d{3})", data)
        return int(m.group(1)) if m else None
    except OSError:
        return None
    finally:
        s.close()


# ----------------------------------------------------------------------------
# One MC system's signalling plane


class SipCore:
    """mcx-sipdb + mcx-dproxy + Kamailio S-CSCF, each on its own ports."""

    def __init__(self, procs, tmp_path, sipdb_factory, mcxctl_factory):
        self.procs = procs
        self.tmp = tmp_path
        self.sip_port = free_sip_port()
        self.cdp_port = free_port()
        self.dproxy_port = free_port()
        self.scscf_name = "sip:%s:%d" % (SCSCF_HOST, self.sip_port)
        self.sipdb = sipdb_factory(identity=SIPDB_ID, accept=(DPROXY_ID,),
                                   sipdb_opts={"avoid_zero_res": True, "log_level": "debug",
                                               "server_names": [self.scscf_name]})
        self.mcxctl = mcxctl_factory(self.sipdb.db)
        self.kamailio = None
        self.dproxy = None

    # -- provisioning (before start) ----------------------------------------

    def add_digest(self, impi, impus, password, ifc=None):
        args = ["subscriber", "add", "--impi", impi]
        for u in ([impus] if isinstance(impus, str) else impus):
            args += ["--impu", u]
        args += ["--password", password, "--scheme", "digest"]
        if ifc:
            args += ["--ifc-file", self._ifc_file(impi, ifc)]
        self.mcxctl.run(*args)

    def add_aka(self, impi, impus, ifc=None):
        args = ["subscriber", "add", "--impi", impi]
        for u in ([impus] if isinstance(impus, str) else impus):
            args += ["--impu", u]
        args += ["--k", AKA_K, "--op", AKA_OP, "--amf", AKA_AMF, "--sqn", "0",
                 "--scheme", "aka"]
        if ifc:
            args += ["--ifc-file", self._ifc_file(impi, ifc)]
        self.mcxctl.run(*args)

    def _ifc_file(self, impi, xml):
        p = self.tmp / ("ifc-%s.xml" % impi.split("@")[0])
        p.write_text(xml)
        return p

    def show(self, impi):
        return self.mcxctl.show(impi)

    # -- start ---------------------------------------------------------------

    def start(self):
        self.sipdb.start()
        self._start_kamailio()
        self._start_dproxy()
        self.wait_ready()
        return self

    def _start_kamailio(self):
        kam = kamailio_binary()
        run = self.tmp / "scscf-run"
        run.mkdir(exist_ok=True)
        cdp_xml = render(KAM_DIR / "scscf-cdp.xml.in", {
            "DIAMETER_ID": SCSCF_ID, "REALM": REALM, "DIAMETER_ADDR": "127.0.0.1",
            "DIAMETER_PORT": self.cdp_port, "DPROXY_ID": DPROXY_ID, "DPROXY_REALM": REALM,
            "DPROXY_PORT": self.dproxy_port,
        }, self.tmp / "scscf-cdp.xml")
        self.cfg = render(KAM_DIR / "scscf.cfg.in", {
            "SIP_ADDR": "127.0.0.1", "SIP_PORT": self.sip_port, "SCSCF_HOST": SCSCF_HOST,
            "SCSCF_NAME": self.scscf_name, "HOME_DOMAIN": REALM, "CX_REALM": REALM,
            "DPROXY_ID": DPROXY_ID, "CDP_CONFIG": cdp_xml,
            "USER_DATA_XSD": KAM_DIR / "CxDataType.xsd",
            "DEFAULT_ALGORITHM": "HSS-Selected", "RUN_DIR": run, "DEBUG": 2,
        }, self.tmp / "scscf.cfg")
        self.pidfile = run / "kamailio.pid"
        check = subprocess.run([kam, "-c", "-f", str(self.cfg)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=30)
        assert check.returncode == 0, "kamailio -c refused the rendered config:\n" + \
            check.stdout.decode(errors="replace")[-3000:]
        self.kamailio = self.procs.add(GroupDaemon("kamailio", [
            kam, "-f", self.cfg, "-DD", "-E", "-Y", run, "-P", self.pidfile,
            "-m", "64", "-M", "8"], self.tmp / "kamailio.log"))
        self.kamailio.start()
        self._wait_tcp(self.cdp_port, self.kamailio)

    def _start_dproxy(self):
        conf = {
            "diameter": diameter_section(
                DPROXY_ID, REALM, self.dproxy_port,
                peers=[{"identity": SIPDB_ID, "address": "127.0.0.1",
                        "port": self.sipdb.port, "realm": REALM},
                       {"identity": SCSCF_ID, "address": "127.0.0.1",
                        "port": self.cdp_port, "realm": REALM}],
                reconnect_seconds=1, watchdog_seconds=6, log_level="notice"),
            "dproxy": {"log_level": "info", "advertise": ["cx"],
                       "routes": [{"realm": REALM, "application": "cx", "peer": SIPDB_ID,
                                   "priority": 10}]},
        }
        path = self.tmp / "dproxy.yaml"
        path.write_text(to_yaml(conf) + "\n")
        self.dproxy = self.procs.add(Daemon("mcx-dproxy", [binary("mcx-dproxy"), "-c", path],
                                            self.tmp / "dproxy.log",
                                            self.dproxy_port)).start()

    def _wait_tcp(self, port, daemon, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not daemon.alive():
                raise AssertionError("%s exited (%s)\n%s" % (daemon.name, daemon.proc.returncode,
                                                             daemon.log_text()[-4000:]))
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("%s: nothing on port %d\n%s" % (daemon.name, port,
                                                              daemon.log_text()[-4000:]))

    def diameter_peers(self):
        """The proxy's peers that must be open before the core is ready."""
        return [SIPDB_ID, SCSCF_ID]

    def wait_ready(self, timeout=20.0):
        """Until the proxy's connections to the SIP database(s) and to the
        S-CSCF are open now (the last state its freeDiameter log gives each)
        and the S-CSCF answers OPTIONS with 200 (its configuration does once
        the proxy is connected with Cx). OPTIONS alone is not enough: cdp
        calls the peer open once it answered the proxy's CER, while the
        proxy, when its first attempt broke, holds the new connection in
        STATE_REOPEN and drops the MAA it should relay back (a 408 for the
        first REGISTER)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            for d in (self.kamailio, self.dproxy, self.sipdb.daemon):
                if not d.alive():
                    raise AssertionError("%s exited\n%s" % (d.name, d.log_text()[-4000:]))
            text = self.dproxy.log_text()
            if all(fd_peer_state(text, i) == "STATE_OPEN" for i in self.diameter_peers()):
                last = sip_options(self.sip_port)
                if last == 200:
                    return
            time.sleep(0.05)
        raise AssertionError("S-CSCF not ready (last OPTIONS answer %s)\n--- kamailio ---\n%s"
                             "\n--- dproxy ---\n%s" % (last, self.kamailio.log_text()[-4000:],
                                                        self.dproxy.log_text()[-3000:]))

    # -- observation ---------------------------------------------------------

    def sar_types(self):
        """Server-Assignment-Types mcx-sipdb answered, in order (from its log)."""
        return sipdb_sar_types(self.sipdb.log)

    def kamailio_pid_file(self):
        return int(self.pidfile.read_text().strip())


def sipdb_sar_types(log):
    """mcx-sipdb logs each SAR it answered 2001: "SAR <TYPE> <IMPI> by <server>"."""
    text = Path(log).read_text(errors="replace")
    return re.findall(r" INFO SAR (\w+) (\S+) by (\S+)", text)


@pytest.fixture
def core(procs, tmp_path, sipdb_factory, mcxctl_factory):
    kamailio_binary()
    sipp_binary()
    c = SipCore(procs, tmp_path, sipdb_factory, mcxctl_factory)
    yield c
    clean = True
    if c.kamailio is not None and c.kamailio.alive():
        # Stopped by our pid: SIGTERM must end every Kamailio process cleanly.
        clean = c.kamailio.stop() in (0, -15)
    assert clean, c.kamailio.log_text()[-3000:]


# ----------------------------------------------------------------------------
# SIPp as the UE


class SippRun:
    def __init__(self, rc, trace, log):
        self.rc = rc
        self.trace = trace
        self.log = log

    def messages(self):
        """(direction, first line, headers dict of lists) of every message traced."""
        if not self.trace.exists():
            return []
        text = self.trace.read_text(errors="replace")
        out = []
        for block in re.split(r"\n-{10,} [^\n]*\n", "\n" + text):
            m = re.match(r"\s*(UDP|TCP) message (sent|received)[^\n]*\n\n?(.*)", block, re.S)
            if not m:
                continue
            body = m.group(3).replace("\r\n", "\n").strip("\n")
            lines = body.split("\n")
            hdrs = {}
            for line in lines[1:]:
                if not line.strip():
                    break
                if ":" in line:
                    k, v = line.split(":", 1)
                    hdrs.setdefault(k.strip().lower(), []).append(v.strip())
            out.append((m.group(2), lines[0].strip(), hdrs))
        return out

    def responses(self):
        return [(int(first.split()[1]), h) for d, first, h in self.messages()
                if d == "received" and first.startswith("SIP/2.0")]

    def final(self):
        r = [x for x in self.responses() if x[0] >= 200]
        assert r, "no final response\n%s" % self.text()
        return r[-1]

    def text(self):
        parts = []
        for p in (self.log, self.trace):
            if p.exists():
                parts.append("--- %s ---\n%s" % (p.name, p.read_text(errors="replace")[-4000:]))
        return "\n".join(parts)


class Ue:
    """Runs SIPp scenarios as one UE (one local port, so one Contact)."""

    def __init__(self, core, tmp_path, impi, domain=REALM, transport="u1"):
        self.core = core
        self.tmp = tmp_path
        self.impi = impi
        self.user = impi.split("@")[0]
        self.domain = domain
        self.port = free_sip_port()
        self.transport = transport
        self.n = 0

    def auth_digest(self, password):
        return "[authentication username=%s password=%s]" % (self.impi, password)

    def auth_aka(self):
        return ("[authentication username=%s aka_K=%s aka_OP=%s aka_AMF=%s]" %
                (self.impi, SIPP_K, SIPP_OP, SIPP_AMF))

    def register(self, auth, expires=600, algorithm="MD5", scenario="register.xml"):
        self.n += 1
        name = "sipp-%s-%d" % (self.user, self.n)
        inf = self.tmp / (name + ".csv")
        inf.write_text("SEQUENTIAL\n%s;%s;%s;%s;%d;%s\n" % (self.impi, self.user, self.domain,
                                                         auth, expires, algorithm))
        trace = self.tmp / (name + ".msg")
        log = self.tmp / (name + ".log")
        err = self.tmp / (name + ".err")
        argv = [sipp_binary(), "127.0.0.1:%d" % self.core.sip_port, "-sf",
                str(SIPP_DIR / scenario), "-inf", str(inf), "-m", "1", "-i", "127.0.0.1",
                "-p", str(self.port), "-t", self.transport, "-nostdin", "-timeout", "15s",
                "-timeout_error", "-auth_uri", self.domain, "-trace_msg", "-message_file",
                str(trace), "-trace_err", "-error_file", str(err)]
        with open(log, "wb") as f:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=f,
                               timeout=40)
        return SippRun(p.returncode, trace, log)


def header(hdrs, name):
    v = hdrs.get(name.lower())
    return ", ".join(v) if v else None


# ----------------------------------------------------------------------------
# Tests


def registered(core, impi, impu):
    st = core.show(impi)
    return st["impus"][impu].get("state", ""), st


def wait_sars(core, n, timeout=5.0):
    """The first n SARs mcx-sipdb answered (Kamailio answers the UE only after
    the SAA, so they are normally there already)."""
    deadline = time.monotonic() + timeout
    while True:
        sars = core.sar_types()
        if len(sars) >= n or time.monotonic() > deadline:
            return sars
        time.sleep(0.05)


@pytest.mark.parametrize("transport", ["u1", "t1"], ids=["udp", "tcp"])
def test_digest_registration_401_then_200(core, tmp_path, transport):
    core.add_digest(ALICE, ALICE_IMPU, ALICE_PW)
    core.start()
    ue = Ue(core, tmp_path, ALICE, transport=transport)
    r = ue.register(ue.auth_digest(ALICE_PW), algorithm="MD5")
    assert r.rc == 0, r.text()
    codes = [c for c, _ in r.responses()]
    assert codes[0] == 401 and codes[-1] == 200, codes
    # "3GPP-Digest": MD5 challenge with the S-CSCF's own 32-hex nonce and the
    # To domain as realm (the HA1 from mcx-sipdb is bound to it).
    www = header(r.responses()[0][1], "WWW-Authenticate")
    assert re.search(r'realm="alpha\.test"', www) and "algorithm=MD5" in www, www
    assert re.search(r'nonce="[0-9a-f]{32}"', www) and 'qop="auth"' in www, www
    assert "ck=" not in www and "ik=" not in www, www
    code, h = r.final()
    # Service-Route (TS 24.229 5.4.1.2.2) points back at this S-CSCF with the
    # "orig" user part; P-Associated-URI lists the IMPUs of User-Data.
    sr = header(h, "Service-Route")
    assert sr == "<sip:orig@%s:%d;lr>" % (SCSCF_HOST, core.sip_port), h
    pau = header(h, "P-Associated-URI")
    assert pau == "<%s>" % ALICE_IMPU, h
    assert "expires=" in header(h, "Contact"), h
    state, st = registered(core, ALICE, ALICE_IMPU)
    assert state.startswith("registered"), st["raw"]
    assert st["scscf"] == core.scscf_name, st["raw"]
    assert wait_sars(core, 1) == [("REGISTRATION", ALICE, core.scscf_name)]


def test_aka_registration(core, tmp_path):
    core.add_aka(BOB, [BOB_IMPU, BOB_TEL])
    core.start()
    ue = Ue(core, tmp_path, BOB)
    r = ue.register(ue.auth_aka(), algorithm="AKAv1-MD5")
    assert r.rc == 0, r.text()
    codes = [c for c, _ in r.responses()]
    assert codes[0] == 401 and codes[-1] == 200, codes
    www = header(r.responses()[0][1], "WWW-Authenticate")
    # RFC 3310: nonce = base64(RAND || AUTN), 32 octets -> 44 characters.
    assert "algorithm=AKAv1-MD5" in www, www
    assert re.search(r'nonce="[A-Za-z0-9+/]{43}="', www), www
    # CK and IK ride along for a P-CSCF (which must strip them); none here.
    assert re.search(r'ck="[0-9a-f]{32}", ik="[0-9a-f]{32}"', www), www
    code, h = r.final()
    pau = header(h, "P-Associated-URI")
    assert BOB_IMPU in pau and BOB_TEL in pau, h
    assert header(h, "Service-Route"), h
    state, st = registered(core, BOB, BOB_IMPU)
    assert state.startswith("registered"), st["raw"]
    assert st["scscf"] == core.scscf_name, st["raw"]
    # One vector used: the stored SQN moved on from 0.
    assert st["sqn"] and st["sqn"] > 0, st["raw"]
    assert wait_sars(core, 1) == [("REGISTRATION", BOB, core.scscf_name)]


@pytest.mark.parametrize("scheme", ["digest", "aka"])
def test_reregistration_then_deregistration(core, tmp_path, scheme):
    if scheme == "digest":
        core.add_digest(ALICE, ALICE_IMPU, ALICE_PW)
        impi, impu = ALICE, ALICE_IMPU
    else:
        core.add_aka(BOB, [BOB_IMPU])
        impi, impu = BOB, BOB_IMPU
    core.start()
    ue = Ue(core, tmp_path, impi)
    auth = ue.auth_digest(ALICE_PW) if scheme == "digest" else ue.auth_aka()
    alg = "MD5" if scheme == "digest" else "AKAv1-MD5"

    r = ue.register(auth, expires=600, algorithm=alg)
    assert r.rc == 0 and r.final()[0] == 200, r.text()
    assert registered(core, impi, impu)[0].startswith("registered")

    # Re-registration from the same contact: challenged again, then 200 OK
    # and SAR RE_REGISTRATION.
    r = ue.register(auth, expires=300, algorithm=alg)
    assert r.rc == 0, r.text()
    code, h = r.final()
    assert code == 200 and header(h, "P-Associated-URI"), h
    state, st = registered(core, impi, impu)
    assert state.startswith("registered") and st["scscf"] == core.scscf_name, st["raw"]

    # De-registration (Expires: 0): 200 OK, SAR USER_DEREGISTRATION, and the
    # SIP database no longer has the user registered nor an S-CSCF for it.
    r = ue.register(auth, expires=0, algorithm=alg)
    assert r.rc == 0, r.text()
    code, h = r.final()
    assert code == 200, h
    contact = header(h, "Contact")
    assert contact is None or contact.endswith(";expires=0"), h
    state, st = registered(core, impi, impu)
    assert state == "not registered", st["raw"]
    assert st["scscf"] == "none" and st["impus"][impu]["S-CSCF"] == "-", st["raw"]

    assert [t for t, _, _ in wait_sars(core, 3)] == ["REGISTRATION", "RE_REGISTRATION",
                                                     "USER_DEREGISTRATION"]


def test_wrong_password_403(core, tmp_path):
    core.add_digest(ALICE, ALICE_IMPU, ALICE_PW)
    core.start()
    ue = Ue(core, tmp_path, ALICE)
    r = ue.register(ue.auth_digest("not-" + ALICE_PW), algorithm="MD5",
                    scenario="register-403.xml")
    assert r.rc == 0, r.text()
    codes = [c for c, _ in r.responses()]
    assert codes[0] == 401 and codes[-1] == 403, codes
    state, st = registered(core, ALICE, ALICE_IMPU)
    assert not state.startswith("registered"), st["raw"]
    assert core.sar_types() == []
    # The right password still works afterwards (the failed vector is gone).
    r = ue.register(ue.auth_digest(ALICE_PW), algorithm="MD5")
    assert r.rc == 0 and r.final()[0] == 200, r.text()


@pytest.mark.parametrize("alg", ["MD5", "AKAv1-MD5"])
def test_unknown_user_403(core, tmp_path, alg):
    core.add_digest(ALICE, ALICE_IMPU, ALICE_PW)
    core.start()
    ue = Ue(core, tmp_path, "mallory@alpha.test")
    r = ue.register(ue.auth_digest("whatever"), algorithm=alg, scenario="register-403.xml")
    assert r.rc == 0, r.text()
    # MAA Experimental-Result 5001 DIAMETER_ERROR_USER_UNKNOWN -> 403, no challenge.
    assert [c for c, _ in r.responses()] == [403], r.text()
    assert core.sar_types() == []


IFC_REGISTER = """<InitialFilterCriteria>
  <Priority>0</Priority>
  <TriggerPoint>
    <ConditionTypeCNF>0</ConditionTypeCNF>
    <SPT><ConditionNegated>0</ConditionNegated><Group>0</Group><Method>REGISTER</Method></SPT>
  </TriggerPoint>
  <ApplicationServer>
    <ServerName>sip:127.0.0.1:%d</ServerName>
    <DefaultHandling>0</DefaultHandling>
  </ApplicationServer>
</InitialFilterCriteria>
"""


class As:
    """SIPp as an application server (UAS) on its own UDP port."""

    def __init__(self, procs, tmp_path, scenario="as-register.xml", name="as"):
        self.port = free_sip_port()
        self.trace = tmp_path / (name + ".msg")
        self.log = tmp_path / (name + ".log")
        self.daemon = procs.add(Daemon(name, [
            sipp_binary(), "-sf", SIPP_DIR / scenario, "-m", "1", "-i", "127.0.0.1",
            "-p", self.port, "-t", "u1", "-nostdin", "-timeout", "20s", "-timeout_error",
            "-trace_msg", "-message_file", self.trace], self.log))

    def start(self):
        self.daemon.start()
        # Ready once SIPp holds the port: our own bind then fails.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.bind(("127.0.0.1", self.port))
            except OSError:
                return self
            finally:
                s.close()
            assert self.daemon.alive(), self.daemon.log_text()
            time.sleep(0.02)
        raise AssertionError("SIPp AS did not bind %d" % self.port)

    def wait(self, timeout=15):
        self.daemon.proc.wait(timeout)
        return self.daemon.proc.returncode

    def run(self):
        return SippRun(self.daemon.proc.returncode, self.trace, self.log)


def test_third_party_register_to_application_server(core, procs, tmp_path):
    app = As(procs, tmp_path)
    core.add_digest(ALICE, ALICE_IMPU, ALICE_PW, ifc=IFC_REGISTER % app.port)
    core.start()
    app.start()
    ue = Ue(core, tmp_path, ALICE)
    r = ue.register(ue.auth_digest(ALICE_PW), algorithm="MD5")
    assert r.rc == 0 and r.final()[0] == 200, r.text()
    # The iFC from User-Data matched the REGISTER: the S-CSCF sent its own
    # REGISTER for the user to the AS (TS 24.229 5.4.1.7), and the AS took it.
    assert app.wait() == 0, app.run().text()
    msgs = [m for m in app.run().messages() if m[0] == "received"]
    assert msgs, app.run().text()
    first, h = msgs[0][1], msgs[0][2]
    assert first == "REGISTER sip:127.0.0.1:%d SIP/2.0" % app.port, first
    assert ALICE_IMPU in header(h, "To"), h
    assert SCSCF_HOST in header(h, "From") and SCSCF_HOST in header(h, "Contact"), h
    assert int(header(h, "Expires")) > 0, h


def test_cx_on_the_wire(core, tmp_path, capture):
    """The Cx the S-CSCF sends, as tshark decodes it on the S-CSCF <-> proxy
    link: MAR schemes chosen from the UE's algorithm, SAR types per step."""
    core.add_aka(BOB, [BOB_IMPU])
    core.add_digest(ALICE, ALICE_IMPU, ALICE_PW)
    core.start()
    cap = capture([core.cdp_port, core.sipdb.port], name="cx")
    bob, alice = Ue(core, tmp_path, BOB), Ue(core, tmp_path, ALICE)
    assert bob.register(bob.auth_aka(), algorithm="AKAv1-MD5").rc == 0
    assert alice.register(alice.auth_digest(ALICE_PW), algorithm="MD5").rc == 0
    assert alice.register(alice.auth_digest(ALICE_PW), expires=0, algorithm="MD5").rc == 0
    cap.stop()
    assert cap.problems() == []
    rows = cap.fields("diameter.cmd.code", "diameter.flags.request",
                      "diameter.3GPP-SIP-Authentication-Scheme",
                      "diameter.SIP-Authentication-Scheme", "diameter.Server-Assignment-Type",
                      "diameter.User-Name", "diameter.endtoendid",
                      display_filter="diameter.applicationId == 16777216 && tcp.srcport == %d"
                      % core.cdp_port)
    # A segment seen twice on lo (a TCP retransmission) decodes twice: keep
    # each request once, by End-to-End Identifier.
    seen, reqs = set(), []
    for r in rows:
        if r[1] in ("1", "True") and r[6] not in seen:
            seen.add(r[6])
            reqs.append((int(r[0]), r[2] or r[3], r[4], r[5]))
    mars = [(scheme, user) for code, scheme, _, user in reqs if code == 303]
    sars = [(int(sat), user) for code, _, sat, user in reqs if code == 301]
    # Kamailio may answer a REGISTER with a 401 before it has filed the vector
    # and then challenge the quick answer again: one MAR more for that step.
    assert {s for s, u in mars if u == BOB} == {"Digest-AKAv1-MD5"}, mars
    assert {s for s, u in mars if u == ALICE} == {"SIP Digest"}, mars
    assert mars[0][1] == BOB and len([u for _, u in mars if u == ALICE]) >= 2, mars
    # 1 REGISTRATION, 5 USER_DEREGISTRATION (TS 29.229 6.3.15)
    assert sars == [(1, BOB), (1, ALICE), (5, ALICE)]
