# SPDX-License-Identifier: AGPL-3.0-or-later
"""mcx-cxtool against a scripted Diameter peer (diamraw.Server).

The peer answers with exactly the bytes a test chooses, so these tests
check what the tool sends (every AVP of the request) and how it reports
answers, silence, bad input and unreachable peers.
"""

import json

import pytest

import diamraw as D
from conftest import CXTOOL_ID, avp, free_port, value

V3 = D.VENDOR_3GPP


def session(m):
    return m.find(D.SESSION_ID)


def maa_success(server):
    def handler(m):
        items = [D.grouped(D.SIP_AUTH_DATA_ITEM, [
            D.u32(D.SIP_ITEM_NUMBER, 1, V3),
            D.utf8(D.SIP_AUTHENTICATION_SCHEME, "Digest-AKAv1-MD5", V3),
            D.Avp(D.SIP_AUTHENTICATE, bytes(range(32)), V3),
            D.Avp(D.SIP_AUTHORIZATION, b"\x00\x01\x02\x03\x04\x05\x06\x07", V3),
            D.Avp(D.CONFIDENTIALITY_KEY, b"\xcc" * 16, V3),
            D.Avp(D.INTEGRITY_KEY, b"\x11" * 16, V3)], V3)]
        return m.answer([session(m), D.u32(D.RESULT_CODE, 2001)] + server.origin() + [
            m.find(D.USER_NAME), D.u32(D.SIP_NUMBER_AUTH_ITEMS, 1, V3),
            D.Avp(9999, b"\xff\xfe", 77, flags=0)] + items)
    return handler


@pytest.fixture
def peer():
    servers = []

    def make(handler_factory, identity="hss.alpha.test"):
        box = {}
        s = D.Server(identity, "alpha.test", lambda m: box["h"](m))
        box["h"] = handler_factory(s)
        servers.append(s)
        return s
    yield make
    for s in servers:
        s.close()


def as_peer(s):
    return {"identity": s.identity, "address": "127.0.0.1", "port": s.port, "realm": s.realm}


def test_request_avps_and_answer_dump(peer, cxtool_factory):
    s = peer(maa_success)
    cx = cxtool_factory([as_peer(s)])
    ans = cx({"cmd": "MAR", "user_name": "alice@alpha.test",
              "public_identity": "sip:alice@alpha.test", "items": 3,
              "server_name": "sip:scscf.alpha.test:6060",
              "authorization_hex": "ab" * 30, "destination_host": "hss.alpha.test"})
    # What crossed the wire (TS 29.229 §6.1.7)
    req = s.received[0]
    assert (req.code, req.app, req.flags) == (303, D.APP_CX, D.FLAG_R | D.FLAG_P)
    assert req.avps[0].code == D.SESSION_ID
    assert session(req).text.startswith(CXTOOL_ID + ";")
    vsai = req.find(D.VSAI)
    assert [(a.code, a.u32) for a in vsai.children] == [(D.VENDOR_ID, V3),
                                                       (D.AUTH_APPLICATION_ID, D.APP_CX)]
    assert req.find(D.AUTH_SESSION_STATE).u32 == 1
    assert req.find(D.ORIGIN_HOST).text == CXTOOL_ID
    assert req.find(D.ORIGIN_REALM).text == "alpha.test"
    assert req.find(D.DESTINATION_REALM).text == "alpha.test"
    assert req.find(D.DESTINATION_HOST).text == "hss.alpha.test"
    assert req.find(D.USER_NAME).text == "alice@alpha.test"
    pi = req.find(D.PUBLIC_IDENTITY, V3)
    assert pi.text == "sip:alice@alpha.test" and pi.flags == D.AVP_V | D.AVP_M
    assert req.find(D.SIP_NUMBER_AUTH_ITEMS, V3).u32 == 3
    assert req.find(D.SERVER_NAME, V3).text == "sip:scscf.alpha.test:6060"
    item = req.find(D.SIP_AUTH_DATA_ITEM, V3)
    assert item.find(D.SIP_AUTHENTICATION_SCHEME, V3).text == "Digest-AKAv1-MD5"
    assert item.find(D.SIP_AUTHORIZATION, V3).data == b"\xab" * 30

    # How the answer is reported
    assert ans["cmd"] == "MAA"
    assert (ans["result_code"], ans["experimental_result_code"]) == (2001, None)
    assert ans["e_bit"] is False
    assert value(ans, "Origin-Host") == "hss.alpha.test"
    a = avp(ans, "SIP-Auth-Data-Item", "SIP-Authorization")
    assert (a["code"], a["vendor"], a["flags"], a["hex"]) == (610, V3, "MV", "0001020304050607")
    assert "value" not in a  # not printable text
    assert avp(ans, "SIP-Auth-Data-Item", "SIP-Authenticate")["hex"] == bytes(range(32)).hex()
    unknown = [x for x in ans["avps"] if x["code"] == 9999][0]
    assert unknown["name"] is None and unknown["vendor"] == 77 and unknown["flags"] == "V"


def test_omit_and_empty(peer, cxtool_factory):
    s = peer(maa_success)
    cx = cxtool_factory([as_peer(s)], answer_timeout_ms=1000)
    rc, out = cx.run([
        {"cmd": "MAR", "user_name": "a@alpha.test", "public_identity": "sip:a@alpha.test",
         "omit": ["User-Name", "SIP-Number-Auth-Items", "Session-Id"],
         "empty": ["Public-Identity"]},
        {"cmd": "SAR", "public_identity": ["sip:a@alpha.test", "tel:+1"],
         "server_assignment_type": 5, "omit": ["User-Data-Already-Available"]}])
    lines = [json.loads(x) for x in out.splitlines()]
    # An answer without Session-Id breaks the MAA's fixed head: freeDiameter
    # drops it, and the tool says so rather than hang.
    assert lines[0] == {"cmd": "MAR", "error": "timeout"}
    assert lines[1]["cmd"] == "SAA" and lines[1]["result_code"] == 2001
    assert rc == 2
    m, sa = s.received
    assert m.find(D.USER_NAME) is None
    assert m.find(D.SESSION_ID) is None
    assert m.find(D.SIP_NUMBER_AUTH_ITEMS, V3) is None
    assert m.find(D.PUBLIC_IDENTITY, V3).data == b""
    assert [a.text for a in sa.find_all(D.PUBLIC_IDENTITY, V3)] == ["sip:a@alpha.test", "tel:+1"]
    assert sa.find(D.SERVER_ASSIGNMENT_TYPE, V3).u32 == 5
    assert sa.find(D.USER_DATA_ALREADY_AVAILABLE, V3) is None


def test_timeout_reported_in_order(peer, cxtool_factory):
    def handler_factory(server):
        ok = maa_success(server)
        # Answer MAR, never answer SAR.
        return lambda m: ok(m) if m.code == 303 else None
    s = peer(handler_factory)
    cx = cxtool_factory([as_peer(s)], answer_timeout_ms=500)
    rc, out = cx.run([{"cmd": "MAR", "user_name": "a@alpha.test"},
                      {"cmd": "SAR", "user_name": "a@alpha.test"},
                      {"cmd": "MAR", "user_name": "a@alpha.test"}])
    lines = [json.loads(x) for x in out.splitlines()]
    assert rc == 2
    assert [x.get("error") for x in lines] == [None, "timeout", None]
    assert [x["cmd"] for x in lines] == ["MAA", "SAR", "MAA"]


def test_bad_request_lines(peer, cxtool_factory):
    s = peer(maa_success)
    cx = cxtool_factory([as_peer(s)])
    rc, out = cx.run(['{"cmd": "XYZ"}', "not json", '{"cmd": "MAR", "bogus": 1}',
                      '{"cmd": "MAR", "items": "three"}', '{"cmd":"MAR"}'])
    lines = [json.loads(x) for x in out.splitlines()]
    assert rc == 2
    assert len(lines) == 5
    assert all(x["error"].startswith("bad ") for x in lines[:4])
    assert "bogus" in lines[2]["error"]
    assert lines[4]["result_code"] == 2001
    assert len(s.received) == 1


def test_no_peer_gives_up(cxtool_factory, tmp_path):
    port = free_port()  # nothing listens there
    cx = cxtool_factory([{"identity": "nobody.alpha.test", "address": "127.0.0.1",
                          "port": port}], connect_timeout_ms=1500)
    rc, out = cx.run([{"cmd": "MAR"}])
    assert rc == 1
    assert out == ""
    assert "no Diameter peer became open" in cx.log.read_text()


def test_ladder(peer, cxtool_factory):
    s = peer(maa_success)
    cx = cxtool_factory([as_peer(s)])
    rc, out = cx.run([{"cmd": "MAR", "user_name": "alice@alpha.test",
                       "public_identity": "sip:alice@alpha.test", "items": 1}], ["--ladder"])
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].startswith("cxtool ──MAR──▶ realm alpha.test")
    assert "User-Name=alice@alpha.test" in lines[0]
    assert "Public-Identity=sip:alice@alpha.test" in lines[0]
    assert lines[1].startswith("cxtool ◀─MAA── hss.alpha.test")
    assert "2001 SUCCESS" in lines[1]
    # Key material is shortened, never printed whole.
    assert "CK=cccccccc…" in lines[1] and "cc" * 16 not in out
    assert "IK=11111111…" in lines[1] and "11" * 16 not in out
    assert "test-only material" in out


def test_help():
    import subprocess
    from conftest import binary
    p = subprocess.run([str(binary("mcx-cxtool")), "--help"], stdout=subprocess.PIPE)
    assert p.returncode == 0
    assert b"Usage: mcx-cxtool" in p.stdout
