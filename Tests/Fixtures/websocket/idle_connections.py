#!/usr/bin/env python3
"""Opens many idle connections to a server and holds them (python3 standard library), for
the idle-connection tests and scripts/bench-idle-tls.sh.

  idle_connections.py KIND PORT COUNT [--ca CA_FILE] [--threads N]

KIND: tls (a TLS handshake, then nothing), ws (a WebSocket handshake answered 101, then
nothing), wss (both). Raises its own open-files soft limit to the hard limit, opens COUNT
connections (N threads, 8 by default), prints "HELD n failed=m seconds=s", then holds them
until its stdin closes or a line arrives; then checks that every connection is still open
(a read that would block), prints "ALIVE a of n", closes them all and prints "CLOSED".
"""
import base64, os, resource, socket, ssl, sys, threading, time


def main():
    kind, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ca, threads = None, 8
    args = sys.argv[4:]
    while args:
        if args[0] == "--ca":
            ca = args[1]
        elif args[0] == "--threads":
            threads = int(args[1])
        args = args[2:]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    context = None
    if kind in ("tls", "wss"):
        context = ssl.create_default_context(cafile=ca) if ca else ssl._create_unverified_context()
        if not ca:
            context.check_hostname = False
    held, failed = [], []
    lock = threading.Lock()

    def open_one():
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        if context is not None:
            s = context.wrap_socket(s, server_hostname="127.0.0.1")
        if kind in ("ws", "wss"):
            key = base64.b64encode(os.urandom(16)).decode()
            s.sendall(("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n"
                       "\r\n" % key).encode())
            buf = b""
            while b"\r\n\r\n" not in buf:
                data = s.recv(4096)
                if not data:
                    raise OSError("closed during the handshake")
                buf += data
            if not buf.startswith(b"HTTP/1.1 101"):
                raise OSError(buf.split(b"\r\n")[0].decode())
        elif context is not None:
            # TLS 1.3: the server's session tickets come after the handshake; read them now.
            s.setblocking(False)
            try:
                s.recv(1)
            except (ssl.SSLWantReadError, BlockingIOError):
                pass
            s.setblocking(True)
        return s

    def worker(n):
        for _ in range(n):
            try:
                s = open_one()
                with lock:
                    held.append(s)
            except (OSError, ssl.SSLError) as e:
                with lock:
                    failed.append(str(e))

    start = time.time()
    per = [count // threads + (1 if i < count % threads else 0) for i in range(threads)]
    ts = [threading.Thread(target=worker, args=(n,)) for n in per if n]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("HELD %d failed=%d seconds=%.1f" % (len(held), len(failed), time.time() - start), flush=True)
    if failed:
        print("FIRST FAILURE %s" % failed[0], flush=True)
    sys.stdin.readline()
    alive = 0
    for s in held:
        s.setblocking(False)
        try:
            data = s.recv(1)
            if data:
                alive += 1  # something arrived (a ping): open
        except (ssl.SSLWantReadError, BlockingIOError):
            alive += 1
        except (OSError, ssl.SSLError):
            pass
    print("ALIVE %d of %d" % (alive, len(held)), flush=True)
    for s in held:
        s.close()
    print("CLOSED", flush=True)


if __name__ == "__main__":
    main()
