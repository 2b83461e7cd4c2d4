#!/usr/bin/env python3
"""A WebSocket server (RFC 6455) on the python3 standard library, for the lwsc tests.

  ws_test_server.py MODE [--tls CERT KEY]

Listens on 127.0.0.1 (an ephemeral port), prints "LISTEN port", then serves every
connection in a thread:
  echo       handshake (the first subprotocol the client asks for is accepted), then each
             text message is printed ("GOT subprotocol path text") and answered with
             "ECHO subprotocol text"
  silent     handshake, print what arrives, never answer
  hang       accept the TCP connection and never answer the handshake
With --tls the listener is TLS with CERT (a PEM chain) and KEY.
"""
import base64, hashlib, socket, ssl, struct, sys, threading

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def recv_exact(s, n, buf):
    while len(buf) < n:
        data = s.recv(65536)
        if not data:
            return None, buf
        buf += data
    return buf[:n], buf[n:]


def read_frame(s, buf):
    head, buf = recv_exact(s, 2, buf)
    if head is None:
        return None, None, buf
    op = head[0] & 0x0F
    n = head[1] & 0x7F
    masked = head[1] & 0x80
    if n == 126:
        ext, buf = recv_exact(s, 2, buf)
        n = struct.unpack(">H", ext)[0]
    elif n == 127:
        ext, buf = recv_exact(s, 8, buf)
        n = struct.unpack(">Q", ext)[0]
    mask = b"\0\0\0\0"
    if masked:
        mask, buf = recv_exact(s, 4, buf)
    payload, buf = recv_exact(s, n, buf)
    if payload is None:
        return None, None, buf
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return op, payload, buf


def frame(op, payload):
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | op, n])
    elif n < 65536:
        head = bytes([0x80 | op, 126]) + struct.pack(">H", n)
    else:
        head = bytes([0x80 | op, 127]) + struct.pack(">Q", n)
    return head + payload


def serve(conn, mode):
    try:
        if mode == "hang":
            while conn.recv(4096):
                pass
            return
        buf = b""
        while b"\r\n\r\n" not in buf:
            data = conn.recv(4096)
            if not data:
                return
            buf += data
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        path = lines[0].split()[1]
        headers = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
        proto = headers.get("sec-websocket-protocol", "").split(",")[0].strip()
        accept = base64.b64encode(hashlib.sha1((headers["sec-websocket-key"] + GUID).encode()).digest()).decode()
        reply = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\n" % accept)
        if proto:
            reply += "Sec-WebSocket-Protocol: %s\r\n" % proto
        conn.sendall((reply + "\r\n").encode())
        print("OPEN %s %s" % (proto, path), flush=True)
        while True:
            op, payload, buf = read_frame(conn, buf)
            if op is None:
                print("EOF", flush=True)
                return
            if op == 8:
                conn.sendall(frame(8, payload[:2]))
                print("CLOSE", flush=True)
                return
            if op == 9:
                conn.sendall(frame(10, payload))
                continue
            if op in (1, 2):
                text = payload.decode("utf-8", "replace")
                print("GOT %s %s %s" % (proto, path, text), flush=True)
                if mode == "echo":
                    conn.sendall(frame(1, ("ECHO %s %s" % (proto, text)).encode()))
    except (OSError, ssl.SSLError) as e:
        print("ERROR %s" % e, flush=True)
    finally:
        conn.close()


def main():
    mode = sys.argv[1]
    context = None
    if len(sys.argv) > 2 and sys.argv[2] == "--tls":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[3], sys.argv[4])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print("LISTEN %d" % listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        if context is not None:
            try:
                conn = context.wrap_socket(conn, server_side=True)
            except (OSError, ssl.SSLError) as e:
                print("TLSERROR %s" % e, flush=True)
                conn.close()
                continue
        threading.Thread(target=serve, args=(conn, mode), daemon=True).start()


if __name__ == "__main__":
    main()
