# SPDX-License-Identifier: AGPL-3.0-or-later
"""Faults in the SIP core of one MC system, with real processes on loopback:
Kamailio S-CSCF -> mcx-dproxy -> mcx-sipdb, mcx-ue and SIPp as UEs.

- Kamailio killed (its whole process group, SIGKILL) and started again while
  an mcx-ue stays registered and refreshing: the UE's next refresh meets an
  S-CSCF that has forgotten it and registers it afresh (SAR REGISTRATION).
- mcx-sipdb SIGKILLed and started again on the same store: registrations work
  again once the proxy has the Diameter connection back, and the SQN carries
  on above the last one issued (the UE, with its own SQN state, accepts it).
- Two mcx-sipdb behind the proxy sharing one store (IND slots 0 and 1), one
  SIGKILLed while SIPp runs 50 Digest registrations: none fails.

Each test starts its own daemons on its own free ports (helpers from
test_scscf_sipp.py and test_ue_register.py) and stops exactly what it
started: Kamailio runs in its own session, and its process group is what is
signalled. Skipped when Kamailio or SIPp is not installed.
"""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

import test_scscf_sipp as scscf
from conftest import Daemon, SipDb, binary, diameter_section, to_yaml
from test_ue_register import IND_BITS, kue, ue_factory  # noqa: F401  (ue_factory is a fixture)

REALM = scscf.REALM
IMPI, IMPU = scscf.ALICE, scscf.ALICE_IMPU


# ----------------------------------------------------------------------------
# The SIP core under faults


class FaultCore(scscf.SipCore):
    """SipCore with Kamailio in its own process group, a restart of it, and
    optionally several mcx-sipdb sharing one store behind the proxy."""

    def __init__(self, procs, tmp_path, sipdb_factory, mcxctl_factory, n_sipdb=1):
        super().__init__(procs, tmp_path, sipdb_factory, mcxctl_factory)
        self.sipdbs = [self.sipdb]
        if n_sipdb > 1:
            opts = {"avoid_zero_res": True, "log_level": "info",
                    "server_names": [self.scscf_name]}
            self.sipdbs = [SipDb(procs, tmp_path, identity="sipdb%d.%s" % (i + 1, REALM),
                                 accept=(scscf.DPROXY_ID,), db=tmp_path / "shared.sqlite",
                                 sipdb_opts=dict(opts, ind=i)) for i in range(n_sipdb)]
            self.sipdb = self.sipdbs[0]
            self.mcxctl = mcxctl_factory(self.sipdb.db)

    def start(self):
        for s in self.sipdbs:
            s.start()
        self._start_kamailio()
        self._start_dproxy()
        self.wait_ready()
        return self

    def _start_dproxy(self):
        if len(self.sipdbs) == 1:
            return super()._start_dproxy()
        conf = {
            "diameter": diameter_section(
                scscf.DPROXY_ID, REALM, self.dproxy_port,
                peers=[s.peer() for s in self.sipdbs] +
                      [{"identity": scscf.SCSCF_ID, "address": "127.0.0.1",
                        "port": self.cdp_port, "realm": REALM}],
                reconnect_seconds=1, watchdog_seconds=6, log_level="notice"),
            "dproxy": {"log_level": "info", "advertise": ["cx"], "load_balance": True,
                       "routes": [{"realm": REALM, "application": "cx", "peer": s.identity,
                                   "priority": 10} for s in self.sipdbs]},
        }
        path = self.tmp / "dproxy.yaml"
        path.write_text(to_yaml(conf) + "\n")
        self.dproxy = self.procs.add(Daemon("mcx-dproxy", [binary("mcx-dproxy"), "-c", path],
                                            self.tmp / "dproxy.log",
                                            self.dproxy_port)).start()

    def diameter_peers(self):
        return [s.identity for s in self.sipdbs] + [scscf.SCSCF_ID]

    def restart_kamailio(self):
        """SIGKILL every Kamailio process, start it again on the same ports and
        wait until the proxy has the new S-CSCF connection open (wait_ready:
        the proxy first holds it in STATE_REOPEN, three watchdog exchanges
        of RFC 3539 3.4.1, and loses answers to it meanwhile)."""
        opens = self.opens(scscf.SCSCF_ID)
        assert self.kamailio.kill() == -signal.SIGKILL
        self._start_kamailio()
        self.wait_open(scscf.SCSCF_ID, opens + 1, timeout=30)
        self.wait_ready()

    def opens(self, identity):
        """How often the proxy's connection to `identity` has reached STATE_OPEN."""
        return len(re.findall(r"-> 'STATE_OPEN'\s+'%s'" % re.escape(identity),
                              self.dproxy.log_text()))

    def wait_open(self, identity, count, timeout=20.0):
        deadline = time.monotonic() + timeout
        while self.opens(identity) < count:
            assert time.monotonic() < deadline, "proxy never reopened %s\n%s" % (
                identity, self.dproxy.log_text()[-3000:])
            time.sleep(0.05)

    def sar_types_all(self):
        return [t for s in self.sipdbs for t in scscf.sipdb_sar_types(s.log)]


@pytest.fixture
def fcore(procs, tmp_path, sipdb_factory, mcxctl_factory):
    made = []

    def make(n_sipdb=1):
        scscf.kamailio_binary()
        scscf.sipp_binary()
        c = FaultCore(procs, tmp_path, sipdb_factory, mcxctl_factory, n_sipdb)
        made.append(c)
        return c
    yield make
    for c in made:
        if c.kamailio is not None:
            rc = c.kamailio.stop()
            # The running instance stops cleanly on SIGTERM to its group.
            assert rc in (0, -signal.SIGTERM), c.kamailio.log_text()[-3000:]


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.05)


# ----------------------------------------------------------------------------
# Kamailio restarted under a registered, refreshing mcx-ue


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_kamailio_restart_ue_registers_again(fcore, ue_factory, transport):
    core = fcore()
    core.add_aka(IMPI, [IMPU])
    core.start()
    ue = kue(ue_factory, core).start(transport=transport, expires=40)
    ue.wait_for(r"^REGISTERED ", timeout=20)
    m = re.search(r"^\s*refresh in (\d+) s", ue.output(), re.M)
    assert m, ue.output()
    refresh = int(m.group(1))
    # Restart right after a registration, so that the next refresh is due
    # once the new Kamailio is up (it takes a few seconds at most).
    t0 = time.monotonic()
    sars_before = len(core.sar_types())
    core.restart_kamailio()
    assert time.monotonic() - t0 < refresh - 1, "the restart took longer than the refresh interval"
    assert ue.proc.poll() is None, ue.output()

    # The refresh reaches a Kamailio that has no record of the user (usrloc
    # lives in memory): challenged, authenticated, and SAR REGISTRATION again.
    ue.wait_for(r"^REREGISTERED ", timeout=refresh + 20)
    assert ue.proc.poll() is None, ue.output()
    sars = [t for t, _, _ in scscf.wait_sars(core, sars_before + 1)]
    assert sars[0] == "REGISTRATION" and sars[sars_before] == "REGISTRATION", sars
    state, st = scscf.registered(core, IMPI, IMPU)
    assert state.startswith("registered") and st["scscf"] == core.scscf_name, st["raw"]
    assert "synchronisation failure" not in ue.output()

    # The new Kamailio serves it from now on: SIGTERM de-registers cleanly.
    assert ue.stop(signal.SIGTERM) == 0, ue.output() + ue.errf.read_text()
    assert "DEREGISTERED" in ue.output()
    state, st = scscf.registered(core, IMPI, IMPU)
    assert state == "not registered", st["raw"]


# ----------------------------------------------------------------------------
# mcx-sipdb killed and started again


def test_sipdb_restart_registrations_resume_sqn_continues(fcore, ue_factory):
    core = fcore()
    core.add_aka(IMPI, [IMPU])
    core.start()
    ue = kue(ue_factory, core)
    r = ue.run("--once")
    assert r.rc == 0, r
    sqn_before = core.show(IMPI)["sqn"]
    assert sqn_before and sqn_before > 0
    opens = core.opens(core.sipdb.identity)

    assert core.sipdb.kill() == -signal.SIGKILL
    # Meanwhile a registration is refused cleanly: the proxy has no route
    # (3002), the S-CSCF answers 403, the UE gives up with one line.
    r = ue.run("--once")
    assert r.rc == 1 and len(r.err.strip().splitlines()) == 1, r

    core.sipdb.start()                                     # same port, same store
    core.wait_open(core.sipdb.identity, opens + 1)         # the proxy has it back
    r = ue.run("--once")
    assert r.rc == 0, r
    # The SQN carried on from the store: above every one issued before the
    # kill, and the UE (which keeps its own SEQ_MS) took it as fresh.
    assert "synchronisation failure" not in r.out and "NOT fresh" not in r.out, r
    st = core.show(IMPI)
    assert st["sqn"] > sqn_before, (sqn_before, st["raw"])
    assert max(ue.seq_ms().values()) == st["sqn"] >> IND_BITS, (ue.seq_ms(), st["raw"])
    # Answered by the new process. (Kamailio keeps the IMPU record for a while
    # after a de-registration, so this one may reach it as RE_REGISTRATION.)
    after = Path(core.sipdb.log).read_text().split("serving Cx as", 2)[2]
    sars = re.findall(r" INFO SAR (\w+) ", after)
    assert sars in (["REGISTRATION", "USER_DEREGISTRATION"],
                    ["RE_REGISTRATION", "USER_DEREGISTRATION"]), sars


# ----------------------------------------------------------------------------
# Two mcx-sipdb behind the proxy, one killed under a stream of registrations


def sipp_stream(core, tmp_path, users, rate, name="stream", timeout=60):
    """One SIPp process registering every (impi, password) of `users` once,
    `rate` new registrations per second, Digest. Returns (rc, stats dict of
    the last row of SIPp's statistics file, paths)."""
    inf = tmp_path / (name + ".csv")
    lines = ["SEQUENTIAL"]
    for impi, pw in users:
        user, domain = impi.split("@")
        lines.append("%s;%s;%s;[authentication username=%s password=%s];600;MD5" % (
            impi, user, domain, impi, pw))
    inf.write_text("\n".join(lines) + "\n")
    stat = tmp_path / (name + "-stat.csv")
    err = tmp_path / (name + ".err")
    log = tmp_path / (name + ".log")
    argv = [scscf.sipp_binary(), "127.0.0.1:%d" % core.sip_port, "-sf",
            str(scscf.SIPP_DIR / "register.xml"), "-inf", str(inf), "-m", str(len(users)),
            "-r", str(rate), "-l", "20", "-i", "127.0.0.1", "-p", str(scscf.free_sip_port()),
            "-t", "u1", "-nostdin", "-timeout", "%ds" % timeout, "-timeout_error",
            "-auth_uri", REALM, "-trace_stat", "-stf", str(stat), "-fd", "1",
            "-trace_err", "-error_file", str(err)]
    with open(log, "wb") as f:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=f)
    return proc, stat, err


def sipp_stats(stat):
    """The last row of a SIPp statistics file, as a dict."""
    rows = [l.split(";") for l in stat.read_text().splitlines() if l.strip()]
    return dict(zip(rows[0], rows[-1]))


def unread_bytes(port):
    """Bytes received but not yet read on the established TCP connections
    whose local port is `port` on 127.0.0.1 (rx_queue of /proc/net/tcp)."""
    total = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, st, queues = fields[1], fields[3], fields[4]
            if local == "0100007F:%04X" % port and st == "01":
                total += int(queues.split(":")[1], 16)
    return total


def test_two_sipdb_one_killed_under_sipp_load(fcore, tmp_path):
    core = fcore(n_sipdb=2)
    n = 50
    users = [("load%02d@%s" % (i, REALM), "pw-%02d" % i) for i in range(n)]
    for impi, pw in users:
        core.add_digest(impi, "sip:" + impi, pw)
    core.start()
    proc, stat, err = sipp_stream(core, tmp_path, users, rate=10)
    try:
        # Kill sipdb1 once both have been answering for a while.
        def both_busy():
            c = [len(scscf.sipdb_sar_types(s.log)) for s in core.sipdbs]
            return sum(c) >= 15 and min(c) >= 1
        wait_for(both_busy, 30, "registrations through both mcx-sipdb")
        # Freeze sipdb1 first, so that the proxy has requests waiting on it
        # when it dies (rt_load_balance then steers new ones to sipdb2), and
        # kill it while the stream goes on: the proxy must fail those
        # requests over to sipdb2 before the S-CSCF gives up on them (5 s).
        victim = core.sipdbs[0].daemon
        os.kill(victim.pid, signal.SIGSTOP)
        wait_for(lambda: unread_bytes(core.sipdbs[0].port) > 0, 10,
                 "a request from the proxy waiting on frozen sipdb1")
        answered_by_2 = len(scscf.sipdb_sar_types(core.sipdbs[1].log))
        wait_for(lambda: len(scscf.sipdb_sar_types(core.sipdbs[1].log)) >= answered_by_2 + 2,
                 10, "registrations through sipdb2 while sipdb1 is frozen")
        assert victim.kill() == -signal.SIGKILL
        rc = proc.wait(90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    s = sipp_stats(stat)
    errors = err.read_text(errors="replace")[-3000:] if err.exists() else ""
    assert int(s["FailedCall(C)"]) == 0, (s, errors)
    assert int(s["SuccessfulCall(C)"]) == n, (s, errors)
    assert rc == 0, errors
    # sipdb2 carried on alone after the kill, and every user is registered
    # with this S-CSCF in the shared store.
    assert len(scscf.sipdb_sar_types(core.sipdbs[1].log)) > answered_by_2
    assert len(core.sar_types_all()) >= n
    for impi, _ in users:
        state, st = scscf.registered(core, impi, "sip:" + impi)
        assert state.startswith("registered") and st["scscf"] == core.scscf_name, st["raw"]
