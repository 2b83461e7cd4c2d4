#!/usr/bin/env python3
"""A small HTTP/1.1 server on loopback for the http_client, ruxc and slack tests.

Prints "PORT <n>" once listening. Every request is recorded as one JSON line in --log:
method, path, headers, body and the number of the TCP connection it came on.

Paths: /text (two lines), /status/<code>, /redirect (302 to /text), /big/<n> (n bytes, no
line feed), /slow/<ms> (answers after ms), /conn (the connection number), anything else: "ok".
--tls CERT KEY serves HTTPS; --proxy-to PORT makes it a CONNECT proxy to 127.0.0.1:PORT.
"""
import argparse, json, socket, ssl, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = None
lock = threading.Lock()
connections = [0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        with lock:
            connections[0] += 1
            self.conn_id = connections[0]

    def log_message(self, *a):
        pass

    def record(self, body):
        entry = {"method": self.command, "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                 "body": body.decode("utf-8", "replace"), "conn": self.conn_id}
        with lock, open(args.log, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def answer(self, code, body, headers=()):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        self.record(body)
        p = self.path.split("?")[0]
        if p == "/text":
            self.answer(200, "first line\nsecond line\n")
        elif p.startswith("/status/"):
            code = int(p.split("/")[2])
            self.answer(code, "status %d\nmore" % code)
        elif p == "/redirect":
            self.answer(302, "moved\n", [("Location", "/text")])
        elif p.startswith("/big/"):
            self.answer(200, "0123456789" * (int(p.split("/")[2]) // 10))
        elif p.startswith("/slow/"):
            time.sleep(int(p.split("/")[2]) / 1000.0)
            self.answer(200, "slow\n")
        elif p == "/conn":
            self.answer(200, str(self.conn_id))
        elif p.startswith("/user/"):
            self.answer(200, "hello-" + p.split("/")[2] + "\nignored")
        elif p == "/echo":
            self.answer(200, self.command + " " + body.decode("utf-8", "replace"))
        else:
            self.answer(200, "ok")

    do_GET = do_POST = do_DELETE = do_PUT = handle_any

    def do_CONNECT(self):
        self.record(b"")
        upstream = socket.create_connection(("127.0.0.1", args.proxy_to))
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        client = self.connection

        def pipe(a, b):
            try:
                while True:
                    d = a.recv(65536)
                    if not d:
                        break
                    b.sendall(d)
            except OSError:
                pass
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        t = threading.Thread(target=pipe, args=(upstream, client), daemon=True)
        t.start()
        pipe(client, upstream)
        t.join()
        self.close_connection = True


def main():
    global args
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--tls", nargs=2)
    ap.add_argument("--proxy-to", type=int)
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
