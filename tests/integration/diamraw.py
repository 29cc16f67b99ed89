# SPDX-License-Identifier: AGPL-3.0-or-later
"""Diameter (RFC 6733) at the byte level, for TESTS ONLY.

This module lets a test speak Diameter without freeDiameter in the way: a
client that does the CER/CEA handshake and then sends well-formed or broken
requests (wrong AVP lengths, truncated AVPs, unknown mandatory AVPs), and a
tiny scripted server used to exercise mcx-cxtool against answers we choose.
It checks every length it decodes; it is not meant for production traffic.
"""

import itertools
import os
import select
import socket
import struct
import threading

# Header flags (RFC 6733 §3)
FLAG_R, FLAG_P, FLAG_E, FLAG_T = 0x80, 0x40, 0x20, 0x10
# AVP flags (RFC 6733 §4.1)
AVP_V, AVP_M, AVP_P = 0x80, 0x40, 0x20

VENDOR_3GPP = 10415
APP_CX = 16777216

CMD = {"CER": 257, "DWR": 280, "DPR": 282, "UAR": 300, "SAR": 301, "LIR": 302, "MAR": 303}

# Base AVP codes
USER_NAME = 1
HOST_IP_ADDRESS = 257
AUTH_APPLICATION_ID = 258
VSAI = 260
SESSION_ID = 263
ORIGIN_HOST = 264
SUPPORTED_VENDOR_ID = 265
VENDOR_ID = 266
PRODUCT_NAME = 269
RESULT_CODE = 268
DISCONNECT_CAUSE = 273
AUTH_SESSION_STATE = 277
ORIGIN_STATE_ID = 278
FAILED_AVP = 279
ERROR_MESSAGE = 281
DESTINATION_REALM = 283
DESTINATION_HOST = 293
ORIGIN_REALM = 296
EXPERIMENTAL_RESULT = 297
EXPERIMENTAL_RESULT_CODE = 298
INBAND_SECURITY_ID = 299

# Cx AVP codes (vendor 10415), TS 29.229 §6.3
VISITED_NETWORK_IDENTIFIER = 600
PUBLIC_IDENTITY = 601
SERVER_NAME = 602
USER_DATA = 606
SIP_NUMBER_AUTH_ITEMS = 607
SIP_AUTHENTICATION_SCHEME = 608
SIP_AUTHENTICATE = 609
SIP_AUTHORIZATION = 610
SIP_AUTH_DATA_ITEM = 612
SIP_ITEM_NUMBER = 613
SERVER_ASSIGNMENT_TYPE = 614
USER_AUTHORIZATION_TYPE = 623
USER_DATA_ALREADY_AVAILABLE = 624
CONFIDENTIALITY_KEY = 625
INTEGRITY_KEY = 626


class DecodeError(Exception):
    """The bytes are not a well-formed Diameter message."""


def _pad4(n):
    return (4 - n % 4) % 4


class Avp:
    """One AVP: code, flags, vendor (None when the V bit is clear), raw data."""

    def __init__(self, code, data=b"", vendor=None, flags=None):
        self.code = code
        self.vendor = vendor
        if flags is None:
            flags = AVP_M
        if vendor is not None:
            flags |= AVP_V
        self.flags = flags
        self.data = data

    # ---- encoding
    def encode(self, length=None):
        """Bytes of this AVP. `length` overrides the header length field
        (for deliberately wrong lengths); padding follows the real data."""
        hdr_len = 12 if self.flags & AVP_V else 8
        ln = hdr_len + len(self.data) if length is None else length
        out = struct.pack("!IB", self.code, self.flags) + ln.to_bytes(3, "big")
        if self.flags & AVP_V:
            out += struct.pack("!I", self.vendor or 0)
        return out + self.data + b"\0" * _pad4(len(self.data))

    # ---- decoding helpers
    @property
    def u32(self):
        if len(self.data) != 4:
            raise DecodeError("AVP %d: %d octets, not an Unsigned32" % (self.code, len(self.data)))
        return struct.unpack("!I", self.data)[0]

    @property
    def text(self):
        return self.data.decode("utf-8")

    @property
    def children(self):
        return decode_avps(self.data)

    def find(self, code, vendor=None):
        return find(self.children, code, vendor)

    def __repr__(self):
        return "Avp(%d%s, %r)" % (self.code, "/%d" % self.vendor if self.vendor else "", self.data)


def u32(code, value, vendor=None, flags=None):
    return Avp(code, struct.pack("!I", value), vendor, flags)


def utf8(code, value, vendor=None, flags=None):
    return Avp(code, value.encode("utf-8") if isinstance(value, str) else value, vendor, flags)


def grouped(code, children, vendor=None, flags=None):
    return Avp(code, b"".join(c.encode() if isinstance(c, Avp) else c for c in children),
               vendor, flags)


def decode_avps(data):
    """Decode a sequence of AVPs, checking every length."""
    avps = []
    off = 0
    while off < len(data):
        if len(data) - off < 8:
            raise DecodeError("truncated AVP header at offset %d" % off)
        code, flags = struct.unpack_from("!IB", data, off)
        ln = int.from_bytes(data[off + 5:off + 8], "big")
        hdr = 12 if flags & AVP_V else 8
        if ln < hdr or off + ln > len(data):
            raise DecodeError("AVP %d: bad length %d at offset %d" % (code, ln, off))
        vendor = struct.unpack_from("!I", data, off + 8)[0] if flags & AVP_V else None
        a = Avp(code, data[off + hdr:off + ln], vendor, flags)
        a.flags = flags
        avps.append(a)
        off += ln + _pad4(ln)
    if off != len(data):
        raise DecodeError("padding runs past the end")
    return avps


def find(avps, code, vendor=None):
    for a in avps:
        if a.code == code and a.vendor == vendor:
            return a
    return None


def find_all(avps, code, vendor=None):
    return [a for a in avps if a.code == code and a.vendor == vendor]


_ids = itertools.count(int.from_bytes(os.urandom(3), "big") << 8)


class Message:
    def __init__(self, code, flags=FLAG_R | FLAG_P, app=0, avps=None, hbh=None, e2e=None):
        self.code = code
        self.flags = flags
        self.app = app
        self.avps = [a for a in (avps or []) if a is not None]  # None: "not present"
        self.hbh = next(_ids) & 0xFFFFFFFF if hbh is None else hbh
        self.e2e = next(_ids) & 0xFFFFFFFF if e2e is None else e2e

    @property
    def is_request(self):
        return bool(self.flags & FLAG_R)

    def body(self):
        return b"".join(a.encode() if isinstance(a, Avp) else a for a in self.avps)

    def encode(self):
        body = self.body()
        ln = 20 + len(body)
        return (bytes([1]) + ln.to_bytes(3, "big") + bytes([self.flags]) +
                self.code.to_bytes(3, "big") + struct.pack("!III", self.app, self.hbh, self.e2e) +
                body)

    @classmethod
    def decode(cls, data):
        if len(data) < 20:
            raise DecodeError("short header")
        if data[0] != 1:
            raise DecodeError("version %d" % data[0])
        ln = int.from_bytes(data[1:4], "big")
        if ln != len(data):
            raise DecodeError("length field %d, have %d" % (ln, len(data)))
        flags = data[4]
        code = int.from_bytes(data[5:8], "big")
        app, hbh, e2e = struct.unpack_from("!III", data, 8)
        return cls(code, flags, app, decode_avps(data[20:]), hbh, e2e)

    def find(self, code, vendor=None):
        return find(self.avps, code, vendor)

    def find_all(self, code, vendor=None):
        return find_all(self.avps, code, vendor)

    # What a test asserts on
    @property
    def result_code(self):
        a = self.find(RESULT_CODE)
        return a.u32 if a else None

    @property
    def experimental_result(self):
        a = self.find(EXPERIMENTAL_RESULT)
        if not a:
            return None
        code = a.find(EXPERIMENTAL_RESULT_CODE)
        vendor = a.find(VENDOR_ID)
        return (vendor.u32 if vendor else None, code.u32 if code else None)

    @property
    def failed_avps(self):
        """The AVPs inside Failed-AVP, decoded leniently (they may be the broken ones)."""
        a = self.find(FAILED_AVP)
        if not a:
            return []
        try:
            return a.children
        except DecodeError:
            return [Avp(0, a.data)]

    def answer(self, avps=(), flags=None):
        return Message(self.code, (self.flags & FLAG_P) if flags is None else flags, self.app,
                       avps, self.hbh, self.e2e)

    def __repr__(self):
        return "Message(code=%d flags=%#x app=%d avps=%r)" % (self.code, self.flags, self.app,
                                                              self.avps)


def read_message(sock, timeout=5.0):
    """Read exactly one message from a stream socket; None on clean EOF."""
    sock.settimeout(timeout)
    hdr = b""
    while len(hdr) < 4:
        chunk = sock.recv(4 - len(hdr))
        if not chunk:
            if hdr:
                raise DecodeError("connection closed inside a header")
            return None
        hdr += chunk
    ln = int.from_bytes(hdr[1:4], "big")
    if ln < 20 or ln > 1 << 20:
        raise DecodeError("message length %d" % ln)
    data = hdr
    while len(data) < ln:
        chunk = sock.recv(ln - len(data))
        if not chunk:
            raise DecodeError("connection closed inside a message")
        data += chunk
    return Message.decode(data)


def _host_ip():
    return Avp(HOST_IP_ADDRESS, struct.pack("!H", 1) + socket.inet_aton("127.0.0.1"))


def cer(origin_host, origin_realm, apps=((VENDOR_3GPP, APP_CX),)):
    avps = [utf8(ORIGIN_HOST, origin_host), utf8(ORIGIN_REALM, origin_realm), _host_ip(),
            u32(VENDOR_ID, 0), utf8(PRODUCT_NAME, "diamraw", flags=0),
            u32(ORIGIN_STATE_ID, 1), u32(INBAND_SECURITY_ID, 0)]
    for vendor, app in apps:
        avps.append(u32(SUPPORTED_VENDOR_ID, vendor))
        avps.append(grouped(VSAI, [u32(VENDOR_ID, vendor), u32(AUTH_APPLICATION_ID, app)]))
    return Message(CMD["CER"], FLAG_R, 0, avps)


class Client:
    """A raw Diameter connection: connect, CER/CEA, then requests.

    Watchdog requests from the peer are answered while waiting for answers."""

    def __init__(self, port, origin_host, origin_realm, host="127.0.0.1", timeout=5.0,
                 apps=((VENDOR_3GPP, APP_CX),)):
        self.origin_host = origin_host
        self.origin_realm = origin_realm
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.sendall(cer(origin_host, origin_realm, apps).encode())
        self.cea = self.recv()
        if self.cea is None:
            raise ConnectionError("peer closed the connection after CER")
        self.peer_identity = self.cea.find(ORIGIN_HOST).text if self.cea.find(ORIGIN_HOST) else None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, msg_or_bytes):
        data = msg_or_bytes.encode() if isinstance(msg_or_bytes, Message) else msg_or_bytes
        self.sock.sendall(data)

    def recv(self, timeout=None):
        """Next message that is not a watchdog request; None on EOF."""
        while True:
            m = read_message(self.sock, self.timeout if timeout is None else timeout)
            if m is None:
                return None
            if m.is_request and m.code == CMD["DWR"]:
                self.send(m.answer([u32(RESULT_CODE, 2001), utf8(ORIGIN_HOST, self.origin_host),
                                    utf8(ORIGIN_REALM, self.origin_realm)], flags=0))
                continue
            return m

    def request(self, msg_or_bytes, hbh=None, timeout=None):
        """Send and return the answer with the same Hop-by-Hop id."""
        if isinstance(msg_or_bytes, Message):
            hbh = msg_or_bytes.hbh
        elif hbh is None:
            hbh = struct.unpack_from("!I", msg_or_bytes, 12)[0]
        self.send(msg_or_bytes)
        while True:
            m = self.recv(timeout)
            if m is None:
                raise ConnectionError("peer closed the connection before answering")
            if not m.is_request and m.hbh == hbh:
                return m

    def cx_request(self, cmd, avps, destination_realm, destination_host=None, session=True):
        """A Cx request with the usual head and `avps` after it."""
        head = []
        if session:
            head.append(utf8(SESSION_ID, "%s;%d;raw" % (self.origin_host, next(_ids))))
        head += [grouped(VSAI, [u32(VENDOR_ID, VENDOR_3GPP), u32(AUTH_APPLICATION_ID, APP_CX)]),
                 u32(AUTH_SESSION_STATE, 1), utf8(ORIGIN_HOST, self.origin_host),
                 utf8(ORIGIN_REALM, self.origin_realm),
                 utf8(DESTINATION_REALM, destination_realm)]
        if destination_host:
            head.append(utf8(DESTINATION_HOST, destination_host))
        return Message(CMD[cmd], FLAG_R | FLAG_P, APP_CX, head + list(avps))


class Server:
    """A scripted Diameter peer for tests of clients.

    `handler(request) -> Message | None` builds each answer (None: never
    answer). Answers CER with a CEA advertising Cx, DWR with DWA."""

    def __init__(self, identity, realm, handler, host="127.0.0.1", port=0):
        self.identity = identity
        self.realm = realm
        self.handler = handler
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((host, port))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        self.received = []
        self._stop = threading.Event()
        self._threads = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads.append(t)

    def origin(self):
        return [utf8(ORIGIN_HOST, self.identity), utf8(ORIGIN_REALM, self.realm)]

    def _accept(self):
        while not self._stop.is_set():
            r, _, _ = select.select([self.lsock], [], [], 0.1)
            if not r:
                continue
            try:
                conn, _ = self.lsock.accept()
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, conn):
        try:
            while not self._stop.is_set():
                try:
                    m = read_message(conn, timeout=0.2)
                except socket.timeout:
                    continue
                if m is None:
                    return
                if not m.is_request:
                    continue
                if m.code == CMD["CER"]:
                    ans = m.answer([u32(RESULT_CODE, 2001)] + self.origin() + [
                        _host_ip(), u32(VENDOR_ID, 0), utf8(PRODUCT_NAME, "diamraw", flags=0),
                        u32(SUPPORTED_VENDOR_ID, VENDOR_3GPP),
                        grouped(VSAI, [u32(VENDOR_ID, VENDOR_3GPP),
                                       u32(AUTH_APPLICATION_ID, APP_CX)])], flags=0)
                elif m.code == CMD["DWR"]:
                    ans = m.answer([u32(RESULT_CODE, 2001)] + self.origin(), flags=0)
                elif m.code == CMD["DPR"]:
                    conn.sendall(m.answer([u32(RESULT_CODE, 2001)] + self.origin(),
                                          flags=0).encode())
                    return
                else:
                    self.received.append(m)
                    ans = self.handler(m)
                if ans is not None:
                    conn.sendall(ans.encode() if isinstance(ans, Message) else ans)
        except (OSError, DecodeError):
            return
        finally:
            conn.close()

    def close(self):
        self._stop.set()
        self.lsock.close()
        for t in self._threads:
            t.join(timeout=2)
