#!/usr/bin/env python3
"""SIP over TLS parties for the tls module's tests (SIPp here is built without TLS).

  uac  PORT CA [CERT KEY] TARGET   one call (INVITE, ACK, BYE) through the proxy on PORT;
                                   prints "CALL OK" when the INVITE and BYE got 200
  uas  PORT CERT KEY               answers every request with 200 (INVITEs with a
                                   Contact); port 0: a free one; prints "LISTENING <port>",
                                   "ACCEPTED" per connection and
                                   "REQUEST <method> <top Via>" per request; runs until killed
"""
import socket
import ssl
import sys
import threading
import uuid


def read_message(conn, buf):
    """One SIP message (headers and Content-Length body) from conn; (message, rest)."""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            head = buf[:end].decode()
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() in ("content-length", "l"):
                    length = int(value.strip())
            total = end + 4 + length
            if len(buf) >= total:
                return buf[:total].decode(), buf[total:]
        data = conn.recv(65536)
        if not data:
            return None, buf
        buf += data


def headers(message, name):
    out = []
    for line in message.split("\r\n")[1:]:
        if not line:
            break
        n, _, v = line.partition(":")
        if n.strip().lower() == name.lower():
            out.append(v.strip())
    return out


def uac(port, ca, cert, key, target):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False
    if cert:
        ctx.load_cert_chain(cert, key)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn = ctx.wrap_socket(raw, server_hostname="server.test")
    lport = conn.getsockname()[1]
    call_id = uuid.uuid4().hex
    via = "SIP/2.0/TLS 127.0.0.1:%d;rport;branch=z9hG4bK%s" % (lport, uuid.uuid4().hex)
    sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n"
    common = "From: <sip:alice@client.test>;tag=a1\r\nCall-ID: %s\r\nMax-Forwards: 70\r\n" % call_id
    conn.sendall(("INVITE %s SIP/2.0\r\nVia: %s\r\n%sTo: <%s>\r\nCSeq: 1 INVITE\r\n"
                  "Contact: <sip:alice@127.0.0.1:%d;transport=tls>\r\nContent-Type: application/sdp\r\n"
                  "Content-Length: %d\r\n\r\n%s" % (target, via, common, target, lport, len(sdp), sdp)).encode())
    buf = b""
    while True:
        reply, buf = read_message(conn, buf)
        if reply is None:
            print("CLOSED before the final reply", flush=True)
            return 1
        code = int(reply.split(" ")[1])
        if code >= 200:
            break
    print("INVITE %d" % code, flush=True)
    if code != 200:
        return 1
    to = headers(reply, "To")[0]
    contact = headers(reply, "Contact")[0].strip("<>").split(">")[0]
    routes = "".join("Route: %s\r\n" % r for r in reversed(headers(reply, "Record-Route")))
    ack_via = "SIP/2.0/TLS 127.0.0.1:%d;rport;branch=z9hG4bK%s" % (lport, uuid.uuid4().hex)
    conn.sendall(("ACK %s SIP/2.0\r\nVia: %s\r\n%s%sTo: %s\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
                  % (contact, ack_via, routes, common, to)).encode())
    bye_via = "SIP/2.0/TLS 127.0.0.1:%d;rport;branch=z9hG4bK%s" % (lport, uuid.uuid4().hex)
    conn.sendall(("BYE %s SIP/2.0\r\nVia: %s\r\n%s%sTo: %s\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n"
                  % (contact, bye_via, routes, common, to)).encode())
    reply, buf = read_message(conn, buf)
    code = int(reply.split(" ")[1]) if reply else 0
    print("BYE %d" % code, flush=True)
    if code == 200:
        print("CALL OK", flush=True)
        return 0
    return 1


def serve(conn, lock):
    buf = b""
    while True:
        try:
            msg, buf = read_message(conn, buf)
        except (OSError, ssl.SSLError):
            return
        if msg is None:
            return
        first = msg.split("\r\n")[0]
        method = first.split(" ")[0]
        if method == "SIP/2.0" or method == "ACK":
            with lock:
                print("REQUEST %s" % method, flush=True)
            continue
        with lock:
            print("REQUEST %s %s" % (method, headers(msg, "Via")[0]), flush=True)
        reply = "SIP/2.0 200 OK\r\n"
        for v in headers(msg, "Via"):
            reply += "Via: %s\r\n" % v
        for r in headers(msg, "Record-Route"):
            reply += "Record-Route: %s\r\n" % r
        to = headers(msg, "To")[0]
        if ";tag=" not in to:
            to += ";tag=" + uuid.uuid4().hex + "." + uuid.uuid4().hex[:8]
        reply += "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n" % (
            headers(msg, "From")[0], to, headers(msg, "Call-ID")[0], headers(msg, "CSeq")[0])
        if method == "INVITE":
            reply += "Contact: <sip:bob@127.0.0.1:%d;transport=tls>\r\n" % conn.getsockname()[1]
        reply += "Content-Length: 0\r\n\r\n"
        conn.sendall(reply.encode())


def uas(port, cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(16)
    print("LISTENING %d" % listener.getsockname()[1], flush=True)
    lock = threading.Lock()
    while True:
        raw, _ = listener.accept()
        try:
            conn = ctx.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError) as e:
            print("HANDSHAKE FAILED %s" % e, flush=True)
            continue
        with lock:
            print("ACCEPTED", flush=True)
        threading.Thread(target=serve, args=(conn, lock), daemon=True).start()


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "uac":
        cert, key = (a[3], a[4]) if len(a) == 6 else (None, None)
        sys.exit(uac(int(a[1]), a[2], cert, key, a[-1]))
    uas(int(a[1]), a[2], a[3])
