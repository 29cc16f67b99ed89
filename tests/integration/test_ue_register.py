# SPDX-License-Identifier: AGPL-3.0-or-later
"""mcx-ue, the MC service UE's SIP user agent, registering over UDP and TCP.

Part 1 runs it against a scripted registrar in this file: a small S-CSCF
stand-in that challenges with IMS AKA (vectors from aka-check, i.e. lib/auth on
the network side) or SIP Digest, checks every response the way an S-CSCF does
and can misbehave on purpose (repeat a challenge, replay a vector, use the
wrong K). That pins down the UE's own behaviour exactly: RES as binary
password, auts for resynchronisation, empty password on MAC failure, refresh,
de-registration on SIGTERM, SQN state surviving a restart.

Part 2 (further down) runs it against the real SIP core: Kamailio S-CSCF ->
mcx-dproxy -> mcx-sipdb, when Kamailio is installed.
"""

import base64
import hashlib
import os
import re
import select
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

import conftest
from conftest import binary, free_port, to_yaml

# conftest's table of built programs does not know mcx-ue yet.
conftest.BINARIES.setdefault("mcx-ue", "src/mcx-ue/mcx-ue")

REALM = "alpha.test"
IMPI = "alice@alpha.test"
IMPU = "sip:alice@alpha.test"
# TS 35.208 Test Set 1: the UE is given OP, the registrar uses the OPc.
K = "465b5ce8b199b49faa5f0a2ee238a6bc"
OP = "cdc202d5123e20f62b6d676ac72cb318"
OPC = "cd63cb71954a9f4e48a5994e37a02baf"
OTHER_K = "fec86ba6eb707ed08905757b1bb44b8f"  # Test Set 2's K
PASSWORD = "alice-secret"
IND_BITS = 5


def H(alg, s):
    h = hashlib.sha256 if alg == "SHA-256" else hashlib.md5
    return h(s).hexdigest()


def digest_response(alg, user, realm, password, method, uri, nonce, nc, cnonce, qop):
    ha1 = H(alg, user.encode() + b":" + realm.encode() + b":" + password)
    ha2 = H(alg, ("%s:%s" % (method, uri)).encode())
    if qop:
        return H(alg, ("%s:%s:%s:%s:%s:%s" % (ha1, nonce, nc, cnonce, qop, ha2)).encode())
    return H(alg, ("%s:%s:%s" % (ha1, nonce, ha2)).encode())


def auth_params(value):
    value = re.sub(r"^\s*Digest\s+", "", value)
    return {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
            for m in re.finditer(r'([\w-]+)\s*=\s*(?:"([^"]*)"|([^,\s]+))', value)}


class SipMsg:
    def __init__(self, text):
        head = text.split("\r\n\r\n", 1)[0]
        lines = head.split("\r\n")
        self.first = lines[0]
        self.headers = []
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                self.headers.append((k.strip(), v.strip()))

    def all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def get(self, name):
        v = self.all(name)
        return v[0] if v else None


class FakeRegistrar:
    """Scripted S-CSCF stand-in on one UDP and one TCP socket (same port)."""

    def __init__(self, aka, scheme="aka", k=K, opc=OPC, password=PASSWORD, expires=600,
                 algorithms=("MD5",), repeat=None, replay=None, sqn=0, busy=None):
        self.aka = aka
        self.scheme = scheme
        self.k, self.opc = k, opc
        self.password = password.encode()
        self.expires = expires
        self.algorithms = algorithms
        self.repeat = repeat          # None | "same" | "new": one extra 401 after the first answer
        self.replay = replay          # (rand, sqn) to challenge with instead of a fresh vector
        self.sqn = sqn                # SQN_HE
        self.expect_sqn_ms = None     # what auts must carry (set by the test)
        self.nonces = {}              # nonce -> {"xres", "rand", "alg"}
        self.log = []                 # (event, detail)
        self.registers = []           # (transport, SipMsg) of every REGISTER
        self.times = []               # when each REGISTER came (monotonic)
        self.busy = dict(busy or {})  # REGISTER number -> (code, reason, headers): refused
        self.port = free_port()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(8)
        self.stop_flag = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def events(self):
        return [e for e, _ in self.log]

    def close(self):
        self.stop_flag = True
        self.thread.join(2)
        self.udp.close()
        self.tcp.close()

    # -- transport ------------------------------------------------------------

    def _loop(self):
        conns = {}
        while not self.stop_flag:
            rl, _, _ = select.select([self.udp, self.tcp] + list(conns), [], [], 0.1)
            for s in rl:
                if s is self.udp:
                    data, addr = self.udp.recvfrom(65535)
                    out = self._handle(data.decode(errors="replace"), "UDP")
                    if out:
                        self.udp.sendto(out.encode(), addr)
                elif s is self.tcp:
                    c, _ = self.tcp.accept()
                    conns[c] = b""
                else:
                    data = s.recv(65535)
                    if not data:
                        del conns[s]
                        s.close()
                        continue
                    conns[s] += data
                    while b"\r\n\r\n" in conns[s]:
                        msg, rest = conns[s].split(b"\r\n\r\n", 1)
                        conns[s] = rest  # REGISTERs carry no body
                        out = self._handle(msg.decode(errors="replace") + "\r\n\r\n", "TCP")
                        if out:
                            s.sendall(out.encode())
        for c in conns:
            c.close()

    # -- registrar ------------------------------------------------------------

    def _reply(self, req, code, reason, extra=()):
        lines = ["SIP/2.0 %d %s" % (code, reason)]
        lines += ["Via: %s" % v for v in req.all("Via")]
        to = req.get("To")
        lines += ["From: %s" % req.get("From"), "To: %s;tag=fake1" % to,
                  "Call-ID: %s" % req.get("Call-ID"), "CSeq: %s" % req.get("CSeq")]
        lines += list(extra)
        lines += ["Content-Length: 0", "", ""]
        return "\r\n".join(lines)

    def _next_vector(self):
        if self.replay:
            rand, sqn = self.replay
        else:
            self.sqn = ((self.sqn >> IND_BITS) + 1) << IND_BITS
            rand, sqn = os.urandom(16), self.sqn
        v = self.aka._run("vector", self.k, self.opc, "8000", str(sqn), rand.hex())
        self.last_vector = (rand, sqn)
        return rand, bytes.fromhex(v["autn"]), bytes.fromhex(v["xres"])

    def _challenge(self, req, same=None):
        hdrs = []
        if self.scheme == "aka":
            if same:
                nonce = same
            else:
                rand, autn, xres = self._next_vector()
                nonce = base64.b64encode(rand + autn).decode()
                self.nonces[nonce] = {"xres": xres, "rand": rand, "alg": "AKAv1-MD5"}
            hdrs.append('WWW-Authenticate: Digest realm="%s", nonce="%s", algorithm=AKAv1-MD5, '
                        'ck="00112233445566778899aabbccddeeff", '
                        'ik="00112233445566778899aabbccddeeff", qop="auth,auth-int"'
                        % (REALM, nonce))
        else:
            for alg in self.algorithms:
                nonce = same or os.urandom(16).hex()
                self.nonces[nonce] = {"alg": alg}
                hdrs.append('WWW-Authenticate: Digest realm="%s", nonce="%s", algorithm=%s, '
                            'qop="auth", opaque="op4que"' % (REALM, nonce, alg))
        self.log.append(("401", None))
        return self._reply(req, 401, "Unauthorized", hdrs)

    def _handle(self, text, transport):
        req = SipMsg(text)
        if not req.first.startswith("REGISTER "):
            return None
        self.registers.append((transport, req))
        self.times.append(time.monotonic())
        if len(self.registers) - 1 in self.busy:
            code, reason, extra = self.busy[len(self.registers) - 1]
            self.log.append((str(code), None))
            return self._reply(req, code, reason, extra)
        a = auth_params(req.get("Authorization") or "")
        nonce = a.get("nonce")
        st = self.nonces.get(nonce) if nonce else None
        if st is None:
            return self._challenge(req)
        uri, nc, cnonce, qop = a.get("uri"), a.get("nc"), a.get("cnonce"), a.get("qop")
        alg = st["alg"] if st["alg"] != "AKAv1-MD5" else "MD5"
        if self.scheme == "aka":
            empty = digest_response(alg, IMPI, REALM, b"", "REGISTER", uri, nonce, nc, cnonce,
                                    qop)
            if "auts" in a:
                auts = base64.b64decode(a["auts"])
                want = self.aka.auts(self.k, self.opc, st["rand"], self.expect_sqn_ms) \
                    if self.expect_sqn_ms is not None else None
                ok = auts == want and a.get("response") == empty
                self.log.append(("auts", {"ok": ok, "auts": auts}))
                if not ok:
                    return self._reply(req, 403, "Forbidden")
                self.sqn = self.expect_sqn_ms  # TS 33.102 §6.3.5: SQN_HE := SQN_MS
                self.replay = None
                return self._challenge(req)
            password = st["xres"]
        else:
            password = self.password
        want = digest_response(alg, IMPI, REALM, password, "REGISTER", uri, nonce, nc, cnonce, qop)
        if a.get("response") != want:
            empty_pw = self.scheme == "aka" and a.get("response") == empty
            self.log.append(("bad-response", {"empty_password": empty_pw}))
            return self._reply(req, 403, "Forbidden")
        self.log.append(("auth-ok", {"nc": nc, "alg": a.get("algorithm"), "qop": qop,
                                     "opaque": a.get("opaque")}))
        if self.repeat:
            mode, self.repeat = self.repeat, None
            return self._challenge(req, same=nonce if mode == "same" else None)
        exp = int(req.get("Expires") or self.expires)
        if exp == 0:
            self.log.append(("dereg", None))
            return self._reply(req, 200, "OK")
        contact = re.match(r"<([^>]*)>", req.get("Contact")).group(1)
        self.log.append(("registered", contact))
        return self._reply(req, 200, "OK", [
            "Contact: <%s>;expires=%d" % (contact, self.expires),
            "Service-Route: <sip:orig@scscf.%s:5060;lr>" % REALM,
            "P-Associated-URI: <%s>" % IMPU])


@pytest.fixture
def registrar(aka):
    made = []

    def make(**kw):
        r = FakeRegistrar(aka, **kw)
        made.append(r)
        return r
    yield make
    for r in made:
        r.close()


# ----------------------------------------------------------------------------
# mcx-ue runner


class UeRun:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self):
        return "rc=%s\n--- stdout ---\n%s--- stderr ---\n%s" % (self.rc, self.out, self.err)


class Ue:
    def __init__(self, tmp_path, port, name="ue", **isim):
        self.tmp = Path(tmp_path)
        self.name = name
        self.sqn_file = self.tmp / ("%s.sqn" % name)
        self.isim = {"impi": IMPI, "impu": IMPU, "k": K, "op": OP,
                     "sqn_file": str(self.sqn_file), "password": PASSWORD}
        self.isim.update(isim)
        self.isim = {k: v for k, v in self.isim.items() if v is not None}
        self.sip = {"proxy": "127.0.0.1", "port": port, "expires": 600, "timeout_seconds": 10}
        self.proc = None

    def config(self, **sip):
        s = dict(self.sip)
        s.update(sip)
        p = self.tmp / ("%s.yaml" % self.name)
        p.write_text(to_yaml({"isim": self.isim, "sip": s}) + "\n")
        return p

    def run(self, *args, transport="udp", timeout=40, **sip):
        cfg = self.config(transport=transport, **sip)
        p = subprocess.run([str(binary("mcx-ue")), "-c", str(cfg)] + [str(a) for a in args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        return UeRun(p.returncode, p.stdout.decode(errors="replace"),
                     p.stderr.decode(errors="replace"))

    def start(self, *args, transport="udp", **sip):
        cfg = self.config(transport=transport, **sip)
        self.outf = self.tmp / ("%s.out" % self.name)
        self.errf = self.tmp / ("%s.err" % self.name)
        with open(self.outf, "wb") as o, open(self.errf, "wb") as e:
            self.proc = subprocess.Popen([str(binary("mcx-ue")), "-c", str(cfg)] +
                                         [str(a) for a in args], stdin=subprocess.DEVNULL,
                                         stdout=o, stderr=e)
        return self

    def output(self):
        return self.outf.read_text(errors="replace")

    def wait_for(self, pattern, timeout=20.0, count=1):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(re.findall(pattern, self.output(), re.M)) >= count:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("no %r in mcx-ue output (rc %s)\n%s\n%s" % (
            pattern, self.proc.poll(), self.output(), self.errf.read_text()))

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Signal exactly our pid; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def seq_ms(self):
        text = self.sqn_file.read_text()
        return {int(m.group(1)): int(m.group(2))
                for m in re.finditer(r"^seq_ms (\d+) (\d+)$", text, re.M)}


@pytest.fixture
def ue_factory(tmp_path):
    made = []

    def make(port, name="ue", **isim):
        u = Ue(tmp_path, port, name, **isim)
        made.append(u)
        return u
    yield make
    for u in made:
        if u.proc is not None and u.proc.poll() is None:
            u.proc.kill()
            u.proc.wait()


def sent_lines(run):
    return [line for line in run.out.splitlines() if line.startswith("--> ")]


# ----------------------------------------------------------------------------
# Part 1: against the scripted registrar

TRANSPORTS = ["udp", "tcp"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_aka_register_once(registrar, ue_factory, transport):
    reg = registrar(scheme="aka")
    ue = ue_factory(reg.port)
    r = ue.run("--once", transport=transport)
    assert r.rc == 0, r
    # initial REGISTER -> 401 -> REGISTER with RES -> 200; then Expires 0 -> 401 -> ... -> 200
    assert reg.events() == ["401", "auth-ok", "registered", "401", "auth-ok", "dereg"], reg.log
    assert all(t == transport.upper() for t, _ in reg.registers)
    first = reg.registers[0][1]
    a = auth_params(first.get("Authorization"))
    assert a["username"] == IMPI and a["nonce"] == "" and a["response"] == ""
    assert reg.registers[1][1].get("Expires") == "600"
    assert reg.registers[-1][1].get("Expires") == "0"
    assert ";expires=0" in reg.registers[-1][1].get("Contact")
    if transport == "tcp":
        assert "transport=tcp" in reg.registers[0][1].get("Contact")
    # qop chosen from "auth,auth-int", nc 1 for a fresh nonce
    ok = [d for e, d in reg.log if e == "auth-ok"]
    assert ok[0]["qop"] == "auth" and ok[0]["nc"] == "00000001"
    assert ok[0]["alg"] == "AKAv1-MD5"
    # the ladder: what was sent and received, no secrets
    assert "REGISTERED %s expires 600 s" % IMPU in r.out
    assert "DEREGISTERED" in r.out
    assert "Service-Route: <sip:orig@scscf.alpha.test:5060;lr>" in r.out
    assert "P-Associated-URI: <%s>" % IMPU in r.out
    assert "algorithm=AKAv1-MD5" in r.out and "(ck/ik present)" in r.out
    assert "response=(hidden)" in r.out
    for secret in (K, OP, OPC, PASSWORD):
        assert secret not in r.out + r.err
    # both accepted SQNs are in the state file, slot 0
    assert ue.seq_ms()[0] == reg.sqn >> IND_BITS == 2


def test_digest_prefers_sha256(registrar, ue_factory):
    reg = registrar(scheme="digest", algorithms=("MD5", "SHA-256"))
    ue = ue_factory(reg.port, k=None, op=None, sqn_file=None)
    r = ue.run("--once")
    assert r.rc == 0, r
    ok = [d for e, d in reg.log if e == "auth-ok"]
    assert ok and all(d["alg"] == "SHA-256" and d["opaque"] == "op4que" for d in ok), reg.log
    assert "Digest SHA-256 with the configured password" in r.out


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_digest_wrong_password_is_refused(registrar, ue_factory, transport):
    reg = registrar(scheme="digest", password="not-the-one")
    ue = ue_factory(reg.port, k=None, op=None, sqn_file=None)
    r = ue.run("--once", transport=transport)
    assert r.rc == 1, r
    assert r.err.strip().splitlines() == ["mcx-ue: registration refused: 403 Forbidden"], r


def test_second_challenge_with_same_nonce(registrar, ue_factory):
    """Kamailio may challenge again (DESIGN.md section 7): the same RAND/AUTN
    must be answered with the same RES and nc 2, not as a replay."""
    reg = registrar(scheme="aka", repeat="same")
    ue = ue_factory(reg.port)
    r = ue.run("--once")
    assert r.rc == 0, r
    ok = [d for e, d in reg.log if e == "auth-ok"]
    assert [d["nc"] for d in ok[:2]] == ["00000001", "00000002"], reg.log
    assert "auts" not in reg.events()
    assert "same challenge again" in r.out


def test_second_challenge_with_new_vector(registrar, ue_factory):
    reg = registrar(scheme="aka", repeat="new")
    ue = ue_factory(reg.port)
    r = ue.run("--once")
    assert r.rc == 0, r
    assert reg.events()[:5] == ["401", "auth-ok", "401", "auth-ok", "registered"], reg.log


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_resync_when_ue_is_ahead(registrar, ue_factory, transport):
    reg = registrar(scheme="aka")
    ue = ue_factory(reg.port)
    r = ue.run("--check", "--sqn-ahead", "1000")
    assert r.rc == 0, r
    assert set(ue.seq_ms().values()) == {1000}
    reg.expect_sqn_ms = 1000 << IND_BITS
    r = ue.run("--once", transport=transport)
    assert r.rc == 0, r
    ev = reg.events()
    assert ev[:5] == ["401", "auts", "401", "auth-ok", "registered"], reg.log
    assert reg.log[1][1]["ok"]
    assert "synchronisation failure, answering with auts (SQN_MS %d)" % (1000 << IND_BITS) in r.out
    assert "auts=(14 octets)" in r.out
    # the network continued from SQN_MS: SEQ 1001 and 1002 accepted
    assert ue.seq_ms()[0] == 1002


def test_replay_after_restart_is_rejected(registrar, ue_factory):
    """The SEQ_MS file survives the process: a vector accepted once is a
    synchronisation failure for the next UE process."""
    reg = registrar(scheme="aka")
    ue = ue_factory(reg.port)
    assert ue.run("--once").rc == 0
    used_rand, used_sqn = reg.last_vector
    reg.replay = (used_rand, used_sqn)
    reg.expect_sqn_ms = used_sqn  # highest accepted: SEQ 2 in slot 0
    r = ue.run("--once")
    assert r.rc == 0, r
    assert "auts" in reg.events()
    assert [d for e, d in reg.log if e == "auts"][0]["ok"]
    assert "NOT fresh" in r.out


def test_mac_failure_gets_empty_password_and_403(registrar, ue_factory):
    reg = registrar(scheme="aka", k=OTHER_K)
    ue = ue_factory(reg.port)
    r = ue.run("--once")
    assert r.rc == 1, r
    bad = [d for e, d in reg.log if e == "bad-response"]
    assert bad == [{"empty_password": True}], reg.log
    assert "auts" not in reg.events()
    a = auth_params(reg.registers[1][1].get("Authorization"))
    assert "auts" not in a
    assert "MAC-A WRONG" in r.out
    assert r.err.strip().splitlines() == [
        "mcx-ue: registration refused: 403 Forbidden (after the UE found MAC-A wrong)"], r
    assert not ue.sqn_file.exists()  # nothing accepted, nothing saved


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_refresh_then_sigterm_deregisters(registrar, ue_factory, transport):
    reg = registrar(scheme="aka", expires=2)
    ue = ue_factory(reg.port).start(transport=transport, expires=2)
    ue.wait_for(r"^REGISTERED ")
    ue.wait_for(r"^REREGISTERED ", timeout=10, count=2)
    assert "refresh in 1 s" in ue.output()
    rc = ue.stop(signal.SIGTERM)
    assert rc == 0, ue.output() + ue.errf.read_text()
    assert reg.events()[-1] == "dereg", reg.log
    assert reg.events().count("registered") >= 3
    # one Call-ID, increasing CSeq, for the whole life of the registration
    call_ids = {req.get("Call-ID") for _, req in reg.registers}
    cseqs = [int(req.get("CSeq").split()[0]) for _, req in reg.registers]
    assert len(call_ids) == 1 and cseqs == sorted(cseqs) and len(set(cseqs)) == len(cseqs)


def test_busy_registrar_is_retried(registrar, ue_factory):
    """503 with Retry-After, then 500 without: the UE waits as told, then
    1 s doubled, starts again with an unprotected REGISTER and registers."""
    reg = registrar(scheme="digest", busy={0: (503, "Service Unavailable", ["Retry-After: 1"]),
                                           1: (500, "Server Internal Error", [])})
    ue = ue_factory(reg.port)
    r = ue.run("--once")
    assert r.rc == 0, r
    assert reg.events() == ["503", "500", "401", "auth-ok", "registered", "401", "auth-ok",
                            "dereg"], reg.events()
    assert "    retry 1 of 2 in 1 s (Retry-After)" in r.out.splitlines(), r
    assert "    retry 2 of 2 in 2 s" in r.out.splitlines(), r
    # Waited at least that long (a lower bound: a slow machine only adds).
    assert reg.times[1] - reg.times[0] >= 0.9 and reg.times[2] - reg.times[1] >= 1.9
    # Each retry starts over without credentials, in the same dialog.
    for _, req in reg.registers[:3]:
        assert 'nonce=""' in req.get("Authorization")
    assert len({req.get("Call-ID") for _, req in reg.registers}) == 1


@pytest.mark.parametrize("retries", [0, 2])
def test_retries_run_out(registrar, ue_factory, retries):
    busy = {i: (504, "Server Time-out", ["Retry-After: 0"]) for i in range(5)}
    reg = registrar(scheme="digest", busy=busy)
    ue = ue_factory(reg.port)
    r = ue.run("--once", retries=retries)
    assert r.rc == 1, r
    assert r.err.strip().splitlines() == ["mcx-ue: registration refused: 504 Server Time-out"], r
    assert len(reg.registers) == retries + 1


def test_not_retried_otherwise(registrar, ue_factory):
    reg = registrar(scheme="digest", busy={0: (480, "Temporarily Unavailable",
                                               ["Retry-After: 1"])})
    r = ue_factory(reg.port).run("--once")
    assert r.rc == 1 and "refused: 480 Temporarily Unavailable" in r.err, r
    assert len(reg.registers) == 1


def test_refresh_is_retried(registrar, ue_factory):
    """A 504 to a refresh: sent again, and the registration carries on."""
    reg = registrar(scheme="digest", expires=2, busy={2: (504, "Server Time-out", [])})
    ue = ue_factory(reg.port).start()
    ue.wait_for(r"^REREGISTERED ")
    assert "    retry 1 of 2 in 1 s" in ue.output().splitlines()
    assert ue.stop() == 0
    assert reg.events()[:5] == ["401", "auth-ok", "registered", "504", "401"], reg.events()
    assert reg.events()[-1] == "dereg", reg.events()


def test_no_answer_times_out(ue_factory):
    port = free_port()  # nobody listens
    ue = ue_factory(port)
    r = ue.run("--once", timeout_seconds=1)
    assert r.rc == 1, r
    assert "no final answer" in r.err


@pytest.mark.parametrize("yaml_text,why", [
    ("isim:\n  impi: a@b\n", "isim.impu"),
    ("isim:\n  impi: a@b\n  impu: sip:a@b\n", "neither AKA keys"),
    ("isim:\n  impi: a@b\n  impu: sip:a@b\n  k: 00\n  op: 00\n  sqn_file: /tmp/x\n", "isim.k"),
    ("isim:\n  impi: a@b\n  impu: sip:a@b\n  password: x\n  colour: red\n", "colour"),
    ("isim:\n  impi: a@b\n  impu: sip:a@b\n  password: x\nsip:\n  transport: sctp\n",
     "transport"),
])
def test_config_errors_exit_2(tmp_path, yaml_text, why):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml_text)
    p = subprocess.run([str(binary("mcx-ue")), "-c", str(cfg), "--once"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    assert p.returncode == 2, p
    assert why in p.stderr.decode(), p.stderr.decode()


def test_usage_exit_2():
    p = subprocess.run([str(binary("mcx-ue"))], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=10)
    assert p.returncode == 2 and b"Usage" in p.stderr
    p = subprocess.run([str(binary("mcx-ue")), "--help"], stdout=subprocess.PIPE, timeout=10)
    assert p.returncode == 0 and b"--sqn-ahead" in p.stdout


# ----------------------------------------------------------------------------
# Part 2: against the real SIP core (Kamailio S-CSCF -> mcx-dproxy -> mcx-sipdb)

import test_scscf_sipp as scscf  # noqa: E402  (SipCore, Kamailio templates, helpers)

K_IMPI, K_IMPU = scscf.ALICE, scscf.ALICE_IMPU   # alice@alpha.test
K_PW = scscf.ALICE_PW


@pytest.fixture
def kcore(procs, tmp_path, sipdb_factory, mcxctl_factory):
    scscf.kamailio_binary()
    c = scscf.SipCore(procs, tmp_path, sipdb_factory, mcxctl_factory)
    yield c
    if c.kamailio is not None and c.kamailio.alive():
        rc = c.kamailio.stop()
        assert rc in (0, -15), c.kamailio.log_text()[-3000:]


def kue(ue_factory, core, name="kue", aka=True, **isim):
    """An mcx-ue for alice with the keys the SIP database was given."""
    base = {"impi": K_IMPI, "impu": K_IMPU}
    if aka:
        base.update(k=scscf.AKA_K, op=scscf.AKA_OP, password=None)
    else:
        base.update(k=None, op=None, sqn_file=None, password=K_PW)
    base.update(isim)
    return ue_factory(core.sip_port, name, **base)


def sar_names(core, n):
    return [t for t, _, _ in scscf.wait_sars(core, n)]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_kamailio_aka_register_and_deregister(kcore, ue_factory, transport):
    kcore.add_aka(K_IMPI, [K_IMPU])
    kcore.start()
    ue = kue(ue_factory, kcore)
    r = ue.run("--once", transport=transport)
    assert r.rc == 0, r
    assert re.search(r"^<-- 401 ", r.out, re.M) and "algorithm=AKAv1-MD5" in r.out, r
    assert re.search(r"^REGISTERED %s expires \d+ s$" % re.escape(K_IMPU), r.out, re.M), r
    assert "Service-Route: <sip:orig@%s" % scscf.SCSCF_HOST in r.out, r
    assert "P-Associated-URI: <%s>" % K_IMPU in r.out, r
    assert "DEREGISTERED" in r.out, r
    assert sar_names(kcore, 2) == ["REGISTRATION", "USER_DEREGISTRATION"]
    state, st = scscf.registered(kcore, K_IMPI, K_IMPU)
    assert state == "not registered", st["raw"]
    # Every SQN the network used was accepted and is in the UE's state file.
    assert max(ue.seq_ms().values()) == st["sqn"] >> IND_BITS, (ue.seq_ms(), st["raw"])


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_kamailio_digest_register_and_deregister(kcore, ue_factory, transport):
    kcore.add_digest(K_IMPI, K_IMPU, K_PW)
    kcore.start()
    ue = kue(ue_factory, kcore, aka=False)
    r = ue.run("--once", transport=transport)
    assert r.rc == 0, r
    assert "Digest MD5 with the configured password" in r.out, r
    assert sar_names(kcore, 2) == ["REGISTRATION", "USER_DEREGISTRATION"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_kamailio_resync(kcore, ue_factory, transport):
    kcore.add_aka(K_IMPI, [K_IMPU])
    kcore.start()
    ue = kue(ue_factory, kcore)
    assert ue.run("--check", "--sqn-ahead", "5000").rc == 0
    sqn_ms = 5000 << IND_BITS
    r = ue.run("--once", transport=transport)
    print(r.out)  # the ladder, for -s / -rP
    assert r.rc == 0, r
    assert "answering with auts (SQN_MS %d)" % sqn_ms in r.out, r
    # The S-CSCF sent MAR with RAND||AUTS, mcx-sipdb set SQN_HE := SQN_MS and
    # the next challenges came from there.
    st = kcore.show(K_IMPI)
    assert sqn_ms < st["sqn"] <= sqn_ms + 8 * (1 << IND_BITS), st["raw"]
    assert max(ue.seq_ms().values()) == st["sqn"] >> IND_BITS
    assert sar_names(kcore, 2) == ["REGISTRATION", "USER_DEREGISTRATION"]


@pytest.mark.parametrize("scheme", ["aka", "digest"])
def test_kamailio_reregistration_then_sigterm(kcore, ue_factory, scheme):
    if scheme == "aka":
        kcore.add_aka(K_IMPI, [K_IMPU])
    else:
        kcore.add_digest(K_IMPI, K_IMPU, K_PW)
    kcore.start()
    ue = kue(ue_factory, kcore, aka=scheme == "aka").start(expires=4)
    ue.wait_for(r"^REGISTERED ")
    granted = int(re.search(r"^REGISTERED \S+ expires (\d+) s", ue.output(), re.M).group(1))
    ue.wait_for(r"^REREGISTERED ", timeout=granted + 10)
    state, st = scscf.registered(kcore, K_IMPI, K_IMPU)
    assert state.startswith("registered"), st["raw"]
    assert ue.stop(signal.SIGTERM) == 0, ue.output() + ue.errf.read_text()
    assert "DEREGISTERED" in ue.output()
    assert sar_names(kcore, 3) == ["REGISTRATION", "RE_REGISTRATION", "USER_DEREGISTRATION"]
    state, st = scscf.registered(kcore, K_IMPI, K_IMPU)
    assert state == "not registered", st["raw"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_kamailio_wrong_password_403(kcore, ue_factory, transport):
    kcore.add_digest(K_IMPI, K_IMPU, K_PW)
    kcore.start()
    ue = kue(ue_factory, kcore, aka=False, password="not-" + K_PW)
    r = ue.run("--once", transport=transport)
    assert r.rc == 1, r
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mcx-ue: registration refused: 403 "), r
    assert kcore.sar_types() == []


@pytest.mark.parametrize("aka", [True, False], ids=["aka", "digest"])
def test_kamailio_unknown_user_403(kcore, ue_factory, aka):
    kcore.add_digest(K_IMPI, K_IMPU, K_PW)
    kcore.start()
    ue = kue(ue_factory, kcore, aka=aka, impi="mallory@alpha.test",
             impu="sip:mallory@alpha.test")
    r = ue.run("--once")
    assert r.rc == 1, r
    assert "403" in r.err and len(r.err.strip().splitlines()) == 1, r
    assert "<-- 401" not in r.out  # refused at the MAR, never challenged


def test_kamailio_mac_failure_403(kcore, ue_factory):
    kcore.add_aka(K_IMPI, [K_IMPU])
    kcore.start()
    ue = kue(ue_factory, kcore, k=OTHER_K)
    r = ue.run("--once")
    assert r.rc == 1, r
    assert "MAC-A WRONG" in r.out, r
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mcx-ue: registration refused: 403 "), r
    assert lines[0].endswith("(after the UE found MAC-A wrong)"), r
    assert kcore.sar_types() == []
    state, st = scscf.registered(kcore, K_IMPI, K_IMPU)
    assert not state.startswith("registered"), st["raw"]
