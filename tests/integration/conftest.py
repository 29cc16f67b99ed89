# SPDX-License-Identifier: AGPL-3.0-or-later
"""Fixtures for mcxcore integration tests: real daemons on loopback.

Every test gets its own ports (bound to 127.0.0.1:0 and released), its own
configs and databases under tmp_path, and stops exactly the processes it
started, by pid. Binaries come from the build directory in $MCX_BUILD
(default <repo>/build).
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import diamraw  # noqa: E402

# ----------------------------------------------------------------------------
# Build directory and binaries


def build_dir():
    b = Path(os.environ.get("MCX_BUILD", "build"))
    if not b.is_absolute():
        b = (Path.cwd() / b) if (Path.cwd() / b).is_dir() else (REPO / b)
    return b


BINARIES = {
    "mcx-sipdb": "src/mcx-sipdb/mcx-sipdb",
    "mcx-dproxy": "src/mcx-dproxy/mcx-dproxy",
    "mcx-cxtool": "src/mcx-cxtool/mcx-cxtool",
    "mcxctl": "src/mcxctl/mcxctl",
    "aka-check": "tests/integration/aka-check",
    "mcx-idms": "src/mcx-idms/mcx-idms",
    "mcx-cms": "src/mcx-cms/mcx-cms",
    "mcx-gms": "src/mcx-gms/mcx-gms",
    "mcx-server": "src/mcx-server/mcx-server",
    "mcx-ue": "src/mcx-ue/mcx-ue",
    "mcx": "src/mcx/mcx",
}


def binary(name):
    """Path of a built program; skips the test when it is not built."""
    p = build_dir() / BINARIES[name]
    if not p.exists():
        pytest.skip("%s not built (looked for %s; set MCX_BUILD)" % (name, p))
    return p


# ----------------------------------------------------------------------------
# Ports and YAML

_handed_out = set()


def free_port():
    """A TCP port free on 127.0.0.1 now, never handed out twice by this process."""
    for _ in range(100):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise RuntimeError("no free port")


def _yaml_scalar(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(str(v))  # a JSON string is a valid double-quoted YAML scalar


def to_yaml(obj, indent=0):
    """Block-style YAML for dicts, lists and scalars (enough for our configs)."""
    pad = "  " * indent
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                out.append("%s%s:" % (pad, k))
                out.append(to_yaml(v, indent + 1))
            elif isinstance(v, (dict, list)):
                out.append("%s%s: %s" % (pad, k, "{}" if isinstance(v, dict) else "[]"))
            else:
                out.append("%s%s: %s" % (pad, k, _yaml_scalar(v)))
    elif isinstance(obj, list):
        for v in obj:
            if isinstance(v, dict) and v:
                inner = to_yaml(v, indent + 1).split("\n")
                out.append("%s- %s" % (pad, inner[0].lstrip()))
                out.extend(inner[1:])
            else:
                out.append("%s- %s" % (pad, _yaml_scalar(v)))
    return "\n".join(out)


# ----------------------------------------------------------------------------
# Processes


def wait_tcp(port, proc=None, timeout=10.0, log=None):
    """Wait until something accepts TCP connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited with %s before listening on %d%s" %
                               (proc.returncode, port, _tail(log)))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listening on %d after %.0fs%s" % (port, timeout, _tail(log)))


def _tail(log, n=20):
    if not log or not Path(log).exists():
        return ""
    lines = Path(log).read_text(errors="replace").splitlines()[-n:]
    return "\n--- %s ---\n%s" % (log, "\n".join(lines))


class Daemon:
    """One daemon we started; stop() ends exactly this pid."""

    def __init__(self, name, argv, log, port=None, env=None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log = Path(log)
        self.port = port
        self.env = env
        self.proc = None

    def start(self, ready_timeout=10.0):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=logf, env=self.env)
        logf.close()
        if self.port:
            wait_tcp(self.port, self.proc, ready_timeout, self.log)
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10.0):
        """SIGTERM, wait, then SIGKILL. Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self):
        """SIGKILL now (crash simulation)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode

    def log_text(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""


# A daemon that forks (Kamailio) runs as the leader of its own session, so the
# processes it leaves can be found and stopped by its pid alone.


def group_members(pgid):
    """Pids of live (not zombie) processes in process group `pgid`."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        # fields[0] state, fields[1] ppid, fields[2] pgrp
        if fields[0] != "Z" and int(fields[2]) == pgid:
            out.append(int(d.name))
    return out


def gone(pid):
    """No such process, or only a zombie left for its (new) parent to reap."""
    try:
        stat = Path("/proc/%d/stat" % pid).read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def read_state(run_dir):
    """The rows of the mcx.state file `mcx up` writes in run_dir, as dicts
    (the columns its header names)."""
    rows = []
    for line in (Path(run_dir) / "mcx.state").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        f = line.split("\t")
        rows.append({"system": f[0], "name": f[1], "identity": f[2], "pid": int(f[3]),
                     "group": f[5] == "1", "probe": f[6], "port": int(f[7]), "log": f[9]})
    return rows


class GroupDaemon(Daemon):
    """A daemon that forks (Kamailio): started as the leader of a new session,
    so its pid is also the id of the process group holding every child; stop()
    and kill() signal that group and wait until no member is left."""

    def start(self, ready_timeout=10.0):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=logf, env=self.env, start_new_session=True)
        logf.close()
        self.pgid = self.proc.pid
        if self.port:
            wait_tcp(self.port, self.proc, ready_timeout, self.log)
        return self

    def _signal_group(self, sig):
        try:
            os.killpg(self.pgid, sig)
        except ProcessLookupError:
            pass

    def _wait_group_gone(self, timeout):
        deadline = time.monotonic() + timeout
        while group_members(self.pgid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self, timeout=10.0):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait()
        if not self._wait_group_gone(timeout):
            self._signal_group(signal.SIGKILL)
            self._wait_group_gone(timeout)
        return self.proc.returncode

    def kill(self):
        """SIGKILL to every process of the group (a crash of the whole S-CSCF)."""
        if self.proc is None:
            return None
        self._signal_group(signal.SIGKILL)
        self.proc.wait()
        assert self._wait_group_gone(10.0), "Kamailio processes survived SIGKILL"
        return self.proc.returncode


class ProcessSet:
    def __init__(self):
        self.started = []

    def add(self, d):
        self.started.append(d)
        return d

    def stop_all(self):
        for d in reversed(self.started):
            d.stop()


@pytest.fixture
def procs():
    ps = ProcessSet()
    yield ps
    ps.stop_all()


# ----------------------------------------------------------------------------
# Diameter configuration helpers

REALM = "alpha.test"
CXTOOL_ID = "cxtool.alpha.test"
RAW_ID = "raw.alpha.test"
RAW2_ID = "raw2.alpha.test"


def fd_peer_state(log_text, identity):
    """The state freeDiameter last logged for its connection to `identity`
    ("STATE_OPEN", "STATE_REOPEN", ...), or None before the first change.
    A peer that once reached STATE_OPEN may since have dropped and be back in
    STATE_REOPEN, where freeDiameter discards the answers it receives: only
    the latest line tells whether the connection is usable now."""
    states = re.findall(r"-> '?(STATE_[A-Z_]+)'?[^\n]*\t'%s'" % re.escape(identity), log_text)
    return states[-1] if states else None


def diameter_section(identity, realm, port, peers=(), accept=(), **extra):
    d = {"identity": identity, "realm": realm, "listen": "127.0.0.1", "port": port,
         "watchdog_seconds": 30, "reconnect_seconds": 1, "log_level": "warn"}
    if peers:
        d["peers"] = [dict(p) for p in peers]
    if accept:
        d["accept"] = list(accept)
    d.update(extra)
    return d


class SipDb:
    """An mcx-sipdb instance with its own store."""

    def __init__(self, procs, tmp_path, identity="sipdb.alpha.test", realm=REALM,
                 accept=(CXTOOL_ID, RAW_ID, RAW2_ID), db=None, sipdb_opts=None, port=None):
        self.procs = procs
        self.identity = identity
        self.realm = realm
        self.port = port or free_port()
        self.db = Path(db) if db else tmp_path / ("%s.sqlite" % identity)
        self.config = tmp_path / ("%s.yaml" % identity)
        self.log = tmp_path / ("%s.log" % identity)
        conf = {
            "diameter": diameter_section(identity, realm, self.port, accept=accept),
            "store": {"backend": "sqlite", "path": str(self.db)},
            "sipdb": {"log_level": "info", "server_names": ["sip:scscf.%s:6060" % realm]},
        }
        conf["sipdb"].update(sipdb_opts or {})
        self.config.write_text(to_yaml(conf) + "\n")
        self.daemon = None

    def peer(self):
        return {"identity": self.identity, "address": "127.0.0.1", "port": self.port,
                "realm": self.realm}

    def start(self):
        self.daemon = self.procs.add(Daemon(self.identity, [binary("mcx-sipdb"), "-c",
                                                            self.config], self.log,
                                            self.port)).start()
        return self

    def stop(self):
        return self.daemon.stop()

    def kill(self):
        return self.daemon.kill()

    def restart(self):
        self.stop()
        return self.start()


@pytest.fixture
def sipdb_factory(procs, tmp_path):
    def make(**kw):
        return SipDb(procs, tmp_path, **kw)
    return make


# ----------------------------------------------------------------------------
# mcx-cxtool


class CxTool:
    """Runs mcx-cxtool against a set of peers: cx(requests) -> answers."""

    def __init__(self, tmp_path, peers, identity=CXTOOL_ID, realm=REALM, name="cxtool",
                 answer_timeout_ms=3000, connect_timeout_ms=10000, cxtool_opts=None):
        self.config = tmp_path / ("%s.yaml" % name)
        self.log = tmp_path / ("%s.log" % name)
        conf = {
            "diameter": diameter_section(identity, realm, 0, peers=peers),
            "cxtool": {"answer_timeout_ms": answer_timeout_ms,
                       "connect_timeout_ms": connect_timeout_ms},
        }
        conf["cxtool"].update(cxtool_opts or {})
        self.config.write_text(to_yaml(conf) + "\n")

    def run(self, requests, args=(), timeout=120):
        """Run once; returns (returncode, stdout text). stderr goes to the log."""
        lines = "".join(json.dumps(r) + "\n" if not isinstance(r, str) else r + "\n"
                        for r in requests)
        with open(self.log, "ab") as logf:
            p = subprocess.run([str(binary("mcx-cxtool")), "-v", "-c", str(self.config)] +
                               [str(a) for a in args], input=lines.encode(),
                               stdout=subprocess.PIPE, stderr=logf, timeout=timeout)
        return p.returncode, p.stdout.decode()

    def __call__(self, requests, args=(), expect_rc=(0,)):
        single = isinstance(requests, dict)
        if single:
            requests = [requests]
        rc, out = self.run(requests, args)
        if rc not in expect_rc:
            raise AssertionError("mcx-cxtool exited %d%s\nstdout: %s" % (rc, _tail(self.log),
                                                                          out))
        answers = [json.loads(line) for line in out.splitlines() if line.strip()]
        assert len(answers) == len(requests), out
        return answers[0] if single else answers


@pytest.fixture
def cxtool_factory(tmp_path):
    def make(peers, **kw):
        return CxTool(tmp_path, [p.peer() if hasattr(p, "peer") else p for p in peers], **kw)
    return make


# ----------------------------------------------------------------------------
# Answer JSON helpers


def avps_named(node, name):
    """Direct children of an answer (or grouped AVP dict) with this name."""
    avps = node["avps"] if isinstance(node, dict) else node
    return [a for a in avps if a.get("name") == name]


def avp(node, *path):
    """The first AVP along a path of names, or None: avp(ans, "SIP-Auth-Data-Item", "CK")."""
    cur = node
    for name in path:
        found = avps_named(cur, name)
        if not found:
            return None
        cur = found[0]
    return cur


def value(node, *path):
    a = avp(node, *path)
    return None if a is None else a.get("value")


def octets(node, *path):
    a = avp(node, *path)
    return None if a is None else bytes.fromhex(a["hex"])


# ----------------------------------------------------------------------------
# mcxctl


class Mcxctl:
    def __init__(self, db):
        self.db = Path(db)

    def run(self, *args, check=True, input=None):
        p = subprocess.run([str(binary("mcxctl")), "--db", str(self.db)] + [str(a) for a in args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                           input=input.encode() if input else None)
        if check and p.returncode != 0:
            raise AssertionError("mcxctl %s: rc %d: %s" % (" ".join(map(str, args)),
                                                           p.returncode, p.stderr.decode()))
        return p

    def add(self, impi, impus, k=None, opc=None, amf="8000", sqn=0, password=None, scheme=None,
            realm=None, barred=()):
        args = ["subscriber", "add", "--impi", impi]
        for u in ([impus] if isinstance(impus, str) else impus):
            args += ["--impu", u]
        for u in barred:
            args += ["--barred-impu", u]
        if k:
            args += ["--k", k, "--opc", opc, "--amf", amf, "--sqn", str(sqn)]
        if password is not None:
            args += ["--password", password]
        if realm:
            args += ["--realm", realm]
        if scheme:
            args += ["--scheme", scheme]
        return self.run(*args)

    def show(self, impi):
        """`subscriber show` parsed: {"impus": {uri: {"state", "scscf"}}, "sqn": int, ...}."""
        text = self.run("subscriber", "show", "--impi", impi).stdout.decode()
        return parse_show(text)


def parse_show(text):
    """Parse `mcxctl subscriber show`: top-level "key   value" lines, indented
    sub-keys belonging to the line above; IMPU sections keyed by URI."""
    out = {"impus": {}, "fields": {}, "raw": text}
    section = impu = None
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = re.split(r"\s{2,}", line.strip(), maxsplit=1)
        key, val = parts[0], (parts[1] if len(parts) > 1 else "")
        if not line.startswith(" "):
            section, impu = key, None
            if key == "IMPU":
                impu = val.split()[0]
                out["impus"][impu] = {"default": "(default)" in val, "barred": "barred" in val}
            else:
                out["fields"][key] = val
        elif impu:
            out["impus"][impu][key] = val
        else:
            out["fields"]["%s.%s" % (section, key)] = val
    sqn = out["fields"].get("IMS AKA.SQN")
    out["sqn"] = int(sqn.split()[0]) if sqn else None
    out["scscf"] = out["fields"].get("S-CSCF")
    return out


@pytest.fixture
def mcxctl_factory():
    return Mcxctl


# ----------------------------------------------------------------------------
# AKA helper (UE side, lib/auth)


class Aka:
    def _run(self, *args):
        p = subprocess.run([str(binary("aka-check"))] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=10)
        if p.returncode == 2:
            raise AssertionError("aka-check %s: %s" % (args[0], p.stderr.decode()))
        return json.loads(p.stdout.decode())

    def challenge(self, k, opc, rand, autn):
        """What the ISIM computes: {"mac_ok", "sqn", "amf", "res", "ck", "ik"}."""
        return self._run("challenge", k, opc, rand.hex() if isinstance(rand, bytes) else rand,
                         autn.hex() if isinstance(autn, bytes) else autn)

    def auts(self, k, opc, rand, sqn_ms):
        return bytes.fromhex(self._run("auts", k, opc, rand.hex() if isinstance(rand, bytes)
                                       else rand, str(sqn_ms))["auts"])


@pytest.fixture
def aka():
    return Aka()


# ----------------------------------------------------------------------------
# Raw Diameter


@pytest.fixture
def raw_diameter():
    """raw_diameter(port, origin_host=RAW_ID) -> diamraw.Client after CER/CEA."""
    clients = []

    def connect(port, origin_host=RAW_ID, origin_realm=REALM, **kw):
        c = diamraw.Client(port, origin_host, origin_realm, **kw)
        clients.append(c)
        return c
    yield connect
    for c in clients:
        c.close()


# ----------------------------------------------------------------------------
# tshark


class Capture:
    """tshark on lo for some TCP ports, into a pcap under tmp_path."""

    def __init__(self, tmp_path, ports, name="capture"):
        self.ports = list(ports)
        self.pcap = tmp_path / ("%s.pcap" % name)
        self.log = tmp_path / ("%s.tshark.log" % name)
        self.proc = None

    def start(self):
        flt = " or ".join("tcp port %d" % p for p in self.ports)
        logf = open(self.log, "wb")
        self.proc = subprocess.Popen([shutil.which("tshark"), "-i", "lo", "-f", flt, "-w",
                                      str(self.pcap)], stdin=subprocess.DEVNULL,
                                     stdout=logf, stderr=logf)
        logf.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if "Capturing on" in self.log.read_text(errors="replace"):
                time.sleep(0.3)  # the filter is attached just after this line
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("tshark exited: %s" % self.log.read_text())
            time.sleep(0.05)
        raise RuntimeError("tshark did not start: %s" % self.log.read_text())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            time.sleep(0.3)  # let the last packets reach the capture
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def _decode_args(self):
        args = []
        for p in self.ports:
            args += ["-d", "tcp.port==%d,diameter" % p]
        return args

    def verbose(self):
        p = subprocess.run(["tshark", "-r", str(self.pcap)] + self._decode_args() + ["-V"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        return p.stdout.decode(errors="replace")

    def fields(self, *fields, display_filter="diameter"):
        args = ["tshark", "-r", str(self.pcap)] + self._decode_args() + [
            "-Y", display_filter, "-T", "fields"]
        for f in fields:
            args += ["-e", f]
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        return [line.split("\t") for line in p.stdout.decode().splitlines()]

    def expert(self, severity):
        """Expert-info lines of `tshark -V` of one severity (Error, Warning, Note, Chat)."""
        return [line.strip() for line in self.verbose().splitlines()
                if "Expert Info (%s/" % severity in line]

    def problems(self):
        """Malformed packets and expert errors: what must never appear."""
        return [line.strip() for line in self.verbose().splitlines()
                if "Malformed" in line or "Expert Info (Error/" in line]


@pytest.fixture
def capture(tmp_path):
    """capture(ports) -> started Capture; stopped at teardown (by pid)."""
    caps = []

    def start(ports, name="capture"):
        if not shutil.which("tshark"):
            pytest.skip("tshark not installed")
        c = Capture(tmp_path, ports, name).start()
        caps.append(c)
        return c
    yield start
    for c in caps:
        c.stop()
