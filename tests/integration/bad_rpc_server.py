#!/usr/bin/env python3
"""An HTTP server on 127.0.0.1:PORT that answers every POST with status 200
and a body that is not JSON-RPC: an EVM endpoint gone wrong, for the
ethereum ledger's tests (a node must report it, not crash)."""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        body = b"<html>this is not JSON-RPC</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
