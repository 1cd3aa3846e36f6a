"""A loopback HTTP proxy that forwards every request to an AWS emulator and counts them.

Usage: count_proxy.py LISTEN_PORT UPSTREAM_URL COUNT_FILE
Each request adds one line `<X-Amz-Target or Action or METHOD path>` to COUNT_FILE, so a
benchmark can say how many AWS calls a command made.
"""
import http.client
import http.server
import sys
import urllib.parse

PORT, UPSTREAM, COUNT = int(sys.argv[1]), urllib.parse.urlsplit(sys.argv[2]), sys.argv[3]


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _forward(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else None
        what = self.headers.get("x-amz-target")
        if not what and body and b"Action=" in body:
            what = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action", ["?"])[0]
        with open(COUNT, "a") as f:
            f.write(f"{what or self.command + ' ' + self.path.split('?')[0]}\n")
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        headers["Host"] = UPSTREAM.netloc
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Proxy).serve_forever()
