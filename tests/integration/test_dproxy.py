# SPDX-License-Identifier: AGPL-3.0-or-later
"""mcx-dproxy on loopback: routing by realm, Public-Identity and application,
load balance over equal peers, failover of pending requests when a server is
SIGKILLed, 3003 / 3002 / 3005, Route-Record and Hop-by-Hop handling, and the
proxy in front of two real mcx-sipdb.

Servers are mcx-dproxy-testpeer (answers every Cx request with 2001, after an
optional delay), diamraw.Server (records what reaches it) or mcx-sipdb. The
client is a raw Diameter connection (diamraw.Client), so nothing between the
test and the proxy routes on its own.
"""

import subprocess
import time

import pytest

import diamraw as D
from conftest import (REALM, REPO, Daemon, Mcxctl, SipDb, binary, build_dir,
                      diameter_section, free_port, to_yaml)

PROXY_ID = "dproxy.alpha.test"
CLIENT_ID = "c1.clients.alpha.test"
V3 = D.VENDOR_3GPP


def _testpeer_binary():
    p = build_dir() / "src/mcx-dproxy/mcx-dproxy-testpeer"
    if not p.exists():
        pytest.skip("mcx-dproxy-testpeer not built (looked for %s)" % p)
    return p


class Proxy:
    def __init__(self, procs, tmp_path, peers, routes, accept=("*.clients.alpha.test",),
                 name="dproxy", identity=PROXY_ID, realm=REALM, **dproxy_opts):
        self.procs = procs
        self.identity = identity
        self.port = free_port()
        self.config = tmp_path / ("%s.yaml" % name)
        self.log = tmp_path / ("%s.log" % name)
        dp = {"log_level": "debug", "advertise": ["cx"], "routes": list(routes)}
        dp.update(dproxy_opts)
        conf = {"diameter": diameter_section(identity, realm, self.port, peers=peers,
                                             accept=accept, watchdog_seconds=6,
                                             log_level="notice"),
                "dproxy": dp}
        self.config.write_text(to_yaml(conf) + "\n")
        self.daemon = None

    def start(self):
        self.daemon = self.procs.add(Daemon("dproxy", [binary("mcx-dproxy"), "-c", self.config],
                                            self.log, self.port)).start()
        return self

    def wait_open(self, identities, timeout=10.0):
        """Wait until the proxy logged an open connection to each identity."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.daemon.log_text()
            if all("-> 'STATE_OPEN'\t'%s'" % i in text for i in identities):
                return
            time.sleep(0.05)
        raise AssertionError("proxy did not open %s\n%s" % (identities,
                                                              self.daemon.log_text()[-3000:]))


class FdPeer:
    """mcx-dproxy-testpeer server: answers Cx with 2001 after delay_ms."""

    def __init__(self, procs, tmp_path, identity, delay_ms=0, accept=(PROXY_ID,)):
        self.identity = identity
        self.port = free_port()
        self.log = tmp_path / ("%s.log" % identity)
        argv = [_testpeer_binary(), "server", "--identity", identity, "--realm",
                identity.split(".", 1)[1], "--port", self.port, "--delay-ms", delay_ms]
        for a in accept:
            argv += ["--accept", a]
        self.daemon = procs.add(Daemon(identity, argv, self.log, self.port)).start()

    def peer(self):
        return {"identity": self.identity, "address": "127.0.0.1", "port": self.port}

    def received(self):
        return self.daemon.log_text().count("request received")


def mar(client, realm, public_identity="sip:alice@alpha.test", user_name="alice@alpha.test",
        extra=()):
    return client.cx_request("MAR", [
        D.utf8(D.USER_NAME, user_name), D.utf8(D.PUBLIC_IDENTITY, public_identity, V3),
        D.grouped(D.SIP_AUTH_DATA_ITEM, [D.utf8(D.SIP_AUTHENTICATION_SCHEME,
                                                "Digest-AKAv1-MD5", V3)], V3),
        D.u32(D.SIP_NUMBER_AUTH_ITEMS, 1, V3), D.utf8(D.SERVER_NAME, "sip:scscf.test:6060", V3),
    ] + list(extra), realm)


def send_many(client, msgs, timeout=20.0):
    """Send all, then collect the answers by Hop-by-Hop id (any order)."""
    want = {}
    for m in msgs:
        want[m.hbh] = None
        client.send(m)
    deadline = time.monotonic() + timeout
    while any(v is None for v in want.values()) and time.monotonic() < deadline:
        a = client.recv(timeout=max(0.1, deadline - time.monotonic()))
        if a is None:
            break
        if not a.is_request and a.hbh in want:
            want[a.hbh] = a
    return [want[m.hbh] for m in msgs]


def origin(ans):
    return ans.find(D.ORIGIN_HOST).text


def is_error(ans):
    return bool(ans.flags & D.FLAG_E)


ALPHA_ROUTES = [
    {"realm": "alpha.test", "application": "cx", "peer": "sipdb1.alpha.test", "priority": 10},
    {"realm": "alpha.test", "application": "cx", "peer": "sipdb2.alpha.test", "priority": 10},
    {"realm": "alpha.test", "public_identity": r"^sip:.*@mc\.alpha\.test$",
     "peer": "sipdb3.alpha.test", "priority": 20},
    {"realm": "alpha.test", "application": "16777999", "peer": "sipdb3.alpha.test",
     "priority": 40},
]


@pytest.fixture
def alpha(procs, tmp_path):
    """Proxy with three test servers: sipdb1/2 (equal, Cx), sipdb3 (mc. users)."""
    def make(delay_ms=0, routes=ALPHA_ROUTES, **opts):
        servers = [FdPeer(procs, tmp_path, "sipdb%d.alpha.test" % i, delay_ms)
                   for i in (1, 2, 3)]
        proxy = Proxy(procs, tmp_path, [s.peer() for s in servers], routes, **opts).start()
        proxy.wait_open([s.identity for s in servers])
        return proxy, servers
    return make


# ----------------------------------------------------------------------------
# Configuration


def run_check(config):
    return subprocess.run([str(binary("mcx-dproxy")), "-c", str(config), "--check"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)


def test_sample_config_checks():
    p = run_check(REPO / "configs/mcx-dproxy.yaml")
    assert p.returncode == 0, p.stderr.decode()
    out = p.stdout.decode()
    assert 'dr="bravo.test" : "dproxy.bravo.test" += 5 ;' in out
    assert 'LoadExtension = "rt_load_balance.fdx";' in out
    assert "NoRelay" not in out


@pytest.mark.parametrize("dproxy, peers, accept, reason", [
    ({"routes": [{"peer": "a.alpha.test", "colour": "red"}]}, ["a.alpha.test"], [],
     "dproxy.routes[0].colour"),
    ({"routes": [{"peer": "a.alpha.test", "public_identity": "^sip:(.*"}]}, ["a.alpha.test"],
     [], "dproxy.routes[0].public_identity: bad POSIX extended regex"),
    ({"routes": [{"peer": "a.alpha.test", "user_name": "[z-a]"}]}, ["a.alpha.test"], [],
     "dproxy.routes[0].user_name: bad POSIX extended regex"),
    ({"routes": [{"peer": "nobody.alpha.test"}]}, ["a.alpha.test"], [],
     "dproxy.routes[0].peer: 'nobody.alpha.test' is neither in diameter.peers"),
    ({"routes": [{"peer": "a.alpha.test", "application": "sh"}]}, ["a.alpha.test"], [],
     "dproxy.routes[0].application"),
    ({"routes": [{"peer": "a.alpha.test", "priority": 51}]}, ["a.alpha.test"], [],
     "dproxy.routes[0].priority"),
    ({"routes": []}, ["a.alpha.test"], ["a.alpha.test"], "is also in diameter.peers"),
])
def test_config_errors_name_the_key(tmp_path, dproxy, peers, accept, reason):
    conf = {"diameter": diameter_section(PROXY_ID, REALM, 3868, peers=[
        {"identity": p, "address": "127.0.0.1", "port": 3870} for p in peers], accept=accept),
        "dproxy": dproxy}
    f = tmp_path / "bad.yaml"
    f.write_text(to_yaml(conf) + "\n")
    p = run_check(f)
    assert p.returncode != 0
    assert reason in p.stderr.decode(), p.stderr.decode()


def test_accept_wildcard_counts_as_known_peer(tmp_path):
    conf = {"diameter": diameter_section(PROXY_ID, REALM, 3868, accept=["*.alpha.test"]),
            "dproxy": {"routes": [{"realm": "alpha.test", "peer": "hss.alpha.test"}]}}
    f = tmp_path / "ok.yaml"
    f.write_text(to_yaml(conf) + "\n")
    p = run_check(f)
    assert p.returncode == 0, p.stderr.decode()


# ----------------------------------------------------------------------------
# Routing


def test_realm_route_load_balances_over_equal_peers(alpha):
    proxy, servers = alpha()
    with D.Client(proxy.port, CLIENT_ID, REALM) as c:
        answers = send_many(c, [mar(c, "alpha.test") for _ in range(40)])
    assert all(a is not None and a.result_code == 2001 for a in answers)
    by = {}
    for a in answers:
        by[origin(a)] = by.get(origin(a), 0) + 1
    # Equal priority: both carry load; sipdb3 is only for mc. identities.
    assert set(by) == {"sipdb1.alpha.test", "sipdb2.alpha.test"}, by
    assert min(by.values()) >= 5, by


def test_public_identity_route_wins(alpha):
    proxy, servers = alpha()
    with D.Client(proxy.port, CLIENT_ID, REALM) as c:
        answers = send_many(c, [mar(c, "alpha.test", public_identity="sip:bob@mc.alpha.test",
                                    user_name="bob@mc.alpha.test") for _ in range(10)])
    assert [origin(a) for a in answers] == ["sipdb3.alpha.test"] * 10
    assert all(a.result_code == 2001 for a in answers)


def test_application_criterion(alpha):
    """A route for another application (priority 40) must not attract Cx."""
    proxy, servers = alpha()
    with D.Client(proxy.port, CLIENT_ID, REALM) as c:
        answers = send_many(c, [mar(c, "alpha.test") for _ in range(10)])
    assert "sipdb3.alpha.test" not in {origin(a) for a in answers}


def test_realm_not_served_3003(alpha):
    proxy, servers = alpha()
    with D.Client(proxy.port, CLIENT_ID, REALM) as c:
        a = c.request(mar(c, "nowhere.test"))
    assert a.result_code == 3003 and is_error(a)
    assert origin(a) == PROXY_ID
    assert sum(s.received() for s in servers) == 0
    assert "3003 DIAMETER_REALM_NOT_SERVED for Destination-Realm nowhere.test" in \
        proxy.daemon.log_text()
    assert proxy.daemon.stop() == 0  # clean shutdown on SIGTERM


def test_loop_detected_3005(alpha):
    proxy, servers = alpha()
    with D.Client(proxy.port, CLIENT_ID, REALM) as c:
        a = c.request(mar(c, "alpha.test", extra=[D.utf8(282, "elsewhere.test"),
                                                 D.utf8(282, PROXY_ID)]))
    assert a.result_code == 3005 and is_error(a)
    assert sum(s.received() for s in servers) == 0


def test_all_peers_down_3002(alpha):
    proxy, servers = alpha()
    for s in servers:
        s.daemon.kill()
    time.sleep(0.5)
    with D.Client(proxy.port, CLIENT_ID, REALM) as c:
        a = c.request(mar(c, "alpha.test"))
    assert a.result_code == 3002 and is_error(a)
    assert origin(a) == PROXY_ID


def test_strict_keeps_accept_only_peers_out(procs, tmp_path):
    """A client in the same realm is never a next hop, even with no server up."""
    s1 = FdPeer(procs, tmp_path, "sipdb1.alpha.test")
    proxy = Proxy(procs, tmp_path, [s1.peer()], ALPHA_ROUTES[:1],
                  accept=("*.clients.alpha.test",)).start()
    proxy.wait_open([s1.identity])
    s1.daemon.kill()
    time.sleep(0.5)
    with D.Client(proxy.port, "c2.clients.alpha.test", REALM) as bystander, \
            D.Client(proxy.port, CLIENT_ID, REALM) as c:
        a = c.request(mar(c, "alpha.test"))
        assert a.result_code == 3002
        bystander.sock.settimeout(0.3)
        with pytest.raises(OSError):
            D.read_message(bystander.sock, 0.3)


def test_failover_of_pending_requests_on_sigkill(alpha):
    """Requests pending at a server that dies are answered by the other one."""
    proxy, servers = alpha(delay_ms=1500)
    s1, s2 = servers[0], servers[1]
    with D.Client(proxy.port, CLIENT_ID, REALM, timeout=20) as c:
        msgs = [mar(c, "alpha.test") for _ in range(30)]
        for m in msgs:
            c.send(m)
        # Wait until sipdb1 holds some requests, then kill it mid-answer.
        deadline = time.monotonic() + 10
        while s1.received() < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        pending_at_kill = s1.received()
        s1.daemon.kill()
        want = {m.hbh: None for m in msgs}
        deadline = time.monotonic() + 20
        while any(v is None for v in want.values()) and time.monotonic() < deadline:
            a = c.recv(timeout=20)
            if a is None:
                break
            if not a.is_request and a.hbh in want:
                want[a.hbh] = a
    answers = list(want.values())
    assert all(a is not None for a in answers), "unanswered: %d" % answers.count(None)
    assert all(a.result_code == 2001 for a in answers)
    assert pending_at_kill >= 5
    # sipdb1 answered none of them (1500 ms delay); sipdb2 answered all 30,
    # including those that were pending at sipdb1.
    assert {origin(a) for a in answers} == {"sipdb2.alpha.test"}
    assert s2.received() == 30


def test_route_record_and_hop_by_hop(procs, tmp_path):
    seen = []

    def handler(m):
        seen.append(m)
        return m.answer([m.find(D.SESSION_ID), D.u32(D.RESULT_CODE, 2001)] + hss.origin())
    hss = D.Server("hss.alpha.test", REALM, handler)
    try:
        proxy = Proxy(procs, tmp_path, [{"identity": hss.identity, "address": "127.0.0.1",
                                         "port": hss.port}],
                      [{"realm": "alpha.test", "peer": hss.identity}]).start()
        proxy.wait_open([hss.identity])
        with D.Client(proxy.port, CLIENT_ID, REALM) as c:
            req = mar(c, "alpha.test")
            a = c.request(req)
        assert a.result_code == 2001 and a.hbh == req.hbh and a.e2e == req.e2e
        fwd = seen[0]
        assert [x.text for x in fwd.find_all(282)] == [CLIENT_ID]
        assert fwd.e2e == req.e2e  # End-to-End kept
        assert fwd.find(D.SESSION_ID).text == req.find(D.SESSION_ID).text
    finally:
        hss.close()


def test_two_proxies_next_hop_to_partner(procs, tmp_path):
    """alpha's proxy sends bravo.test to bravo's proxy, which serves it."""
    bdb = FdPeer(procs, tmp_path, "sipdb1.bravo.test", accept=("dproxy.bravo.test",))
    bravo = Proxy(procs, tmp_path, [bdb.peer()],
                  [{"realm": "bravo.test", "peer": bdb.identity}],
                  accept=(PROXY_ID,), name="dproxy-bravo", identity="dproxy.bravo.test",
                  realm="bravo.test").start()
    bravo.wait_open([bdb.identity])
    alpha = Proxy(procs, tmp_path, [{"identity": "dproxy.bravo.test", "address": "127.0.0.1",
                                     "port": bravo.port}],
                  [{"realm": "bravo.test", "peer": "dproxy.bravo.test", "priority": 5}]).start()
    alpha.wait_open(["dproxy.bravo.test"])
    with D.Client(alpha.port, CLIENT_ID, REALM) as c:
        a = c.request(mar(c, "bravo.test"))
        nf = c.request(mar(c, "charlie.test"))
    assert a.result_code == 2001 and origin(a) == "sipdb1.bravo.test"
    assert nf.result_code == 3003 and origin(nf) == PROXY_ID


# ----------------------------------------------------------------------------
# In front of two real mcx-sipdb sharing one store


K = "465b5ce8b199b49faa5f0a2ee238a6bc"
OPC = "cd63cb71954a9f4e48a5994e37a02baf"


def test_in_front_of_two_sipdb(procs, tmp_path):
    binary("mcx-sipdb")
    db = tmp_path / "shared.sqlite"
    Mcxctl(db).add("alice@alpha.test", "sip:alice@alpha.test", k=K, opc=OPC, scheme="aka")
    dbs = [SipDb(procs, tmp_path, identity="sipdb%d.alpha.test" % i, db=db,
                 accept=(PROXY_ID,)).start() for i in (1, 2)]
    proxy = Proxy(procs, tmp_path, [d.peer() for d in dbs], ALPHA_ROUTES[:2]).start()
    proxy.wait_open([d.identity for d in dbs])
    with D.Client(proxy.port, CLIENT_ID, REALM) as c:
        answers = send_many(c, [mar(c, "alpha.test") for _ in range(10)])
        assert all(a is not None and a.result_code == 2001 for a in answers), answers
        assert {origin(a) for a in answers} == {d.identity for d in dbs}
        dbs[0].kill()
        time.sleep(0.3)
        answers = send_many(c, [mar(c, "alpha.test") for _ in range(5)])
    assert all(a is not None and a.result_code == 2001 for a in answers)
    assert {origin(a) for a in answers} == {"sipdb2.alpha.test"}
