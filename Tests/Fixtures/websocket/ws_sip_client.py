#!/usr/bin/env python3
"""A SIP-over-WebSocket client (RFC 6455 + RFC 7118) on the python3 standard library, for
the websocket tests. Prints one line per step ("HANDSHAKE 101", "REGISTER 200", ...) and
exits 0 when every step went as expected.

  ws_sip_client.py call PROXY_PORT USER CALLEE_URI
      handshake, REGISTER, INVITE CALLEE_URI (ACK, BYE), print READY, then answer one
      incoming call (180/200, ACK, BYE -> 200) within 20 s
  ws_sip_client.py hold PROXY_PORT SECONDS [nopong]
      handshake, print OPEN, then for SECONDS print each Ping ("PING payload", answered
      with a Pong unless nopong) and Close ("CLOSE code reason", answered with a Close);
      EOF when the server closes
  ws_sip_client.py callee PROXY_PORT USER
      handshake, REGISTER, print READY, then answer one incoming call as `call` does
  ws_sip_client.py bad PROXY_PORT KIND
      handshake, then send a bad frame (unmasked | oversized | badutf8 | opcode | fragclose: a Close
      in the middle of a fragmented message) and print
      the close code the server answers with ("CLOSE 1002"); `pieces` sends four requests in
      frames cut across TCP writes and prints the CSeq numbers of the replies ("CSEQ 1,2,3,4")

With `--tls CA_FILE` first, the connection is WebSocket over TLS (WSS): the server's
certificate must verify against CA_FILE for 127.0.0.1.
"""
import base64, hashlib, os, random, socket, ssl, struct, sys, time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TLS_CA = None  # --tls CA_FILE: WSS


class WS:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        if TLS_CA:
            context = ssl.create_default_context(cafile=TLS_CA)
            self.s = context.wrap_socket(self.s, server_hostname="127.0.0.1")
            print("TLS %s" % self.s.version(), flush=True)
        self.buf = b""
        self.local = self.s.getsockname()

    def handshake(self):
        key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n"
               "Origin: http://test.example\r\n\r\n" % key)
        self.s.sendall(req.encode())
        while b"\r\n\r\n" not in self.buf:
            data = self.s.recv(4096)
            if not data:
                raise SystemExit("closed during handshake")
            self.buf += data
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        code = int(lines[0].split()[1])
        headers = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
        expected = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        if code == 101 and headers.get("sec-websocket-accept") != expected:
            raise SystemExit("bad Sec-WebSocket-Accept")
        print("HANDSHAKE %d %s" % (code, headers.get("sec-websocket-protocol", "")), flush=True)
        return code

    def frame(self, opcode, payload, mask=True, fin=True, length=None):
        n = len(payload) if length is None else length
        head = bytes([(0x80 if fin else 0) | opcode])
        m = 0x80 if mask else 0
        if n < 126:
            head += bytes([m | n])
        elif n < 65536:
            head += bytes([m | 126]) + struct.pack(">H", n)
        else:
            head += bytes([m | 127]) + struct.pack(">Q", n)
        if mask:
            key = os.urandom(4)
            head += key
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        self.s.sendall(head + payload)

    def send_sip(self, text):
        self.frame(1, text.encode())

    def read_frame(self, timeout=10):
        self.s.settimeout(timeout)
        while True:
            got = self.take_frame()
            if got:
                return got
            try:
                data = self.s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                data = b""
            if not data:
                return None, b""
            self.buf += data

    def take_frame(self):
        if len(self.buf) < 2:
            return None
        b0, b1 = self.buf[0], self.buf[1]
        if b1 & 0x80:
            raise SystemExit("server frame is masked")
        n, pos = b1 & 0x7F, 2
        if n == 126:
            if len(self.buf) < 4:
                return None
            n, pos = struct.unpack(">H", self.buf[2:4])[0], 4
        elif n == 127:
            if len(self.buf) < 10:
                return None
            n, pos = struct.unpack(">Q", self.buf[2:10])[0], 10
        if len(self.buf) < pos + n:
            return None
        payload = self.buf[pos:pos + n]
        self.buf = self.buf[pos + n:]
        return b0 & 0x0F, payload

    def read_sip(self, timeout=10):
        while True:
            op, payload = self.read_frame(timeout)
            if op is None:
                raise SystemExit("connection closed")
            if op in (1, 2):
                return payload.decode()
            if op == 9:
                self.frame(10, payload)


def header(msg, name):
    for line in msg.split("\r\n")[1:]:
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def status(msg):
    return int(msg.split(" ", 2)[1]) if msg.startswith("SIP/2.0") else 0


def request(method, uri, user, cseq, call_id, ftag, to, extra="", body="", via_branch=None):
    branch = via_branch or "z9hG4bK" + str(random.randrange(1 << 40))
    msg = ("%s %s SIP/2.0\r\nVia: SIP/2.0/WSS abcdef.invalid;branch=%s\r\nMax-Forwards: 70\r\n"
           "From: <sip:%s@test.example>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n"
           "Contact: <sip:%s@abcdef.invalid;transport=ws>\r\n%s" % (
               method, uri, branch, user, ftag, to, call_id, cseq, method, user, extra))
    if body:
        msg += "Content-Type: application/sdp\r\n"
    msg += "Content-Length: %d\r\n\r\n%s" % (len(body.encode()), body)
    return msg


SDP = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")


def final(ws):
    while True:
        msg = ws.read_sip()
        if status(msg) >= 200:
            return msg


def register(port, user):
    ws = WS(port)
    if ws.handshake() != 101:
        sys.exit(1)
    aor = "<sip:%s@test.example>" % user
    ws.send_sip(request("REGISTER", "sip:test.example", user, 1, "reg-%s" % user, "r1", aor,
                        extra="Expires: 600\r\n"))
    r = final(ws)
    print("REGISTER %d" % status(r), flush=True)
    return ws


def call(port, user, callee):
    ws = register(port, user)
    call_id = "ws-call-%d" % random.randrange(1 << 30)
    ws.send_sip(request("INVITE", callee, user, 1, call_id, "c1", "<%s>" % callee, body=SDP))
    r = final(ws)
    print("INVITE %d" % status(r), flush=True)
    to = header(r, "To")
    ws.send_sip(request("ACK", callee, user, 1, call_id, "c1", to))
    time.sleep(0.2)
    ws.send_sip(request("BYE", callee, user, 2, call_id, "c1", to))
    r = final(ws)
    print("BYE %d" % status(r), flush=True)
    print("READY", flush=True)
    answer(ws, user)


def answer(ws, user):
    """Answers one incoming call (found through usrloc)."""
    deadline = time.time() + 20
    got = []
    while time.time() < deadline:
        msg = ws.read_sip(timeout=deadline - time.time())
        if status(msg):
            continue
        method = msg.split(" ", 1)[0]
        got.append(method)
        vias = "".join("Via: %s\r\n" % l.split(":", 1)[1].strip() for l in msg.split("\r\n")
                       if l.lower().startswith("via:"))
        common = "%sFrom: %s\r\nTo: %s;tag=ws1\r\nCall-ID: %s\r\nCSeq: %s\r\n" % (
            vias, header(msg, "From"), header(msg, "To"), header(msg, "Call-ID"), header(msg, "CSeq"))
        if method == "INVITE":
            print("INCOMING INVITE %s" % msg.split(" ", 2)[1], flush=True)
            print("INCOMING VIA %s" % header(msg, "Via"), flush=True)
            ws.send_sip("SIP/2.0 180 Ringing\r\n" + common + "Content-Length: 0\r\n\r\n")
            ws.send_sip("SIP/2.0 200 OK\r\n" + common + "Contact: <sip:%s@abcdef.invalid;transport=ws>\r\n"
                        "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s" % (user, len(SDP), SDP))
        elif method == "BYE":
            ws.send_sip("SIP/2.0 200 OK\r\n" + common + "Content-Length: 0\r\n\r\n")
            print("INCOMING BYE", flush=True)
            break
    print("DONE %s" % ",".join(got), flush=True)


def bad(port, kind):
    ws = WS(port)
    if ws.handshake() != 101:
        sys.exit(1)
    if kind == "unmasked":
        ws.frame(1, b"OPTIONS sip:x SIP/2.0\r\n\r\n", mask=False)
    elif kind == "oversized":
        ws.frame(1, b"", length=70000)  # header only: refused before the payload comes
    elif kind == "badutf8":
        ws.frame(1, b"OPTIONS sip:\xff\xfe SIP/2.0\r\n\r\n")
    elif kind == "badutf8late":
        # Valid two-byte characters, then a lead byte without its continuation, far in.
        ws.frame(1, ("OPTIONS sip:x SIP/2.0\r\nSubject: Zo\u00eb \u00e9t\u00e9 ").encode() + b"\xc3(\r\n\r\n")
    elif kind == "utf8ok":
        # Non-ASCII in a header: answered in a text frame.
        ws.send_sip(request("OPTIONS", "sip:nobody@127.0.0.1", "u", 1, "u1", "t1", "<sip:nobody@127.0.0.1>",
                            extra="Subject: Zo\u00eb \u00e9t\u00e9\r\n"))
    elif kind == "opcode":
        ws.frame(3, b"x")
    elif kind == "close":
        ws.frame(8, struct.pack(">H", 1000) + b"bye")
    elif kind == "fragclose":
        # The first fragment of a message, then a Close before its continuation.
        ws.frame(1, b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/WS ", fin=False)
        ws.frame(8, struct.pack(">H", 1000) + b"bye")
    elif kind == "message":
        ws.send_sip(request("MESSAGE", "sip:x@test.example", "m", 1, "m1", "t1", "<sip:x@test.example>"))
    elif kind == "partial":
        # Half a frame, then the TCP connection goes away mid-message.
        ws.s.sendall(bytes([0x81, 0x80 | 100]) + os.urandom(4) + b"OPTIONS si")
        ws.s.close()
        print("GONE", flush=True)
        return
    elif kind == "pieces":
        # Four masked frames cut across TCP writes: a header in two writes, a payload in
        # two, then the end of one frame, a whole one and the start of the next in one write.
        frames = []
        for n in range(1, 5):
            text = request("OPTIONS", "sip:nobody@127.0.0.1", "p", n, "p1", "t1", "<sip:nobody@127.0.0.1>").encode()
            key = os.urandom(4)
            frames.append(bytes([0x81, 0x80 | 126]) + struct.pack(">H", len(text)) + key
                          + bytes(b ^ key[i % 4] for i, b in enumerate(text)))
        first = frames[0]
        for piece in (first[:3], first[3:40], first[40:], frames[1] + frames[2][:10], frames[2][10:] + frames[3]):
            ws.s.sendall(piece)
            time.sleep(0.2)
        got = []
        for _ in frames:
            msg = ws.read_sip()
            got.append(header(msg, "CSeq").split()[0])
        print("CSEQ %s" % ",".join(got), flush=True)
        return
    elif kind == "ping":
        ws.frame(9, b"hello")
        op, payload = ws.read_frame()
        print("PONG %s" % payload.decode(), flush=True)
        return
    op, payload = ws.read_frame()
    if op == 8:
        print("CLOSE %d %s" % (struct.unpack(">H", payload[:2])[0], payload[2:].decode()), flush=True)
    else:
        print("FRAME %s" % op, flush=True)
    # The server closes the TCP connection afterwards.
    op, _ = ws.read_frame(timeout=5)
    print("EOF" if op is None else "MORE %s" % op, flush=True)


def hold(port, seconds, pong):
    ws = WS(port)
    if ws.handshake() != 101:
        sys.exit(1)
    print("OPEN %d" % ws.local[1], flush=True)
    deadline = time.time() + seconds
    while time.time() < deadline:
        op, payload = ws.read_frame(timeout=max(0.1, deadline - time.time()))
        if op is None:
            if time.time() < deadline:
                print("EOF", flush=True)
            return
        if op == 9:
            print("PING %s" % payload.decode(), flush=True)
            if pong:
                ws.frame(10, payload)
        elif op == 8:
            print("CLOSE %d %s" % (struct.unpack(">H", payload[:2])[0], payload[2:].decode()), flush=True)
            ws.frame(8, payload[:2])


if __name__ == "__main__":
    if sys.argv[1] == "--tls":
        TLS_CA = sys.argv[2]
        del sys.argv[1:3]
    if sys.argv[1] == "callee":
        ws = register(int(sys.argv[2]), sys.argv[3])
        print("READY", flush=True)
        answer(ws, sys.argv[3])
    elif sys.argv[1] == "hold":
        hold(int(sys.argv[2]), float(sys.argv[3]), len(sys.argv) < 5)
    elif sys.argv[1] == "call":
        call(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        bad(int(sys.argv[2]), sys.argv[3])
