#!/usr/bin/python3
"""A fake EVM node for json_rpc_test: the answers a real node never gives.

    json_rpc_fake_node.py --port PORT

Listens on 127.0.0.1:PORT and answers a JSON-RPC POST according to its path:

    /echo              each call's result is its params; a batch is answered
                       in reverse order (ids must be matched, not positions)
    /result/JSON       each call's result is JSON (URL-encoded in the path)
    /notjson           200 with a body that is not JSON
    /noresult          {"jsonrpc": "2.0", "id": ID} (neither result nor error)
    /noversion         {"id": ID, "result": "0x1"} (no "jsonrpc": "2.0")
    /wrongid           the id plus 1000
    /batch-missing     a batch answer without its last element
    /batch-duplicate   a batch answer with its first element twice
    /batch-object      a batch answered by one result object
    /http500           500 with a text body
    /http400-rpc       400 with a JSON-RPC error -32600 (as some nodes do)
    /error/CODE        a JSON-RPC error object with that code
    /malformed-error   an error that is a string, not an object
    /revert            error 3 "execution reverted: not a member" with the
                       ABI-encoded Error("not a member") as its data
    /big/N             200 with a JSON answer of about N bytes (Content-Length)
    /bigchunked/N      the same, chunked (no Content-Length)
    /hang              never answers (sleeps 60 s)
"""
import argparse
import http.server
import json
import time
import urllib.parse


def error_data(reason):
    text = reason.encode()
    padded = text + b"\0" * (-len(text) % 32)
    return "0x08c379a0" + (32).to_bytes(32, "big").hex() + len(text).to_bytes(32, "big").hex() + padded.hex()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as libcurl expects
    disable_nagle_algorithm = True

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        try:
            request = json.loads(self.rfile.read(length))
        except ValueError:
            return self.send(400, "bad request")
        calls = request if isinstance(request, list) else [request]
        path = self.path
        ids = [c.get("id") for c in calls]

        def one(call, **fields):
            return dict({"jsonrpc": "2.0", "id": call.get("id")}, **fields)

        def reply(answers):
            return self.send(200, answers if isinstance(request, list) else answers[0])

        if path == "/echo":
            answers = [one(c, result=c.get("params")) for c in calls]
            answers.reverse()
            return reply(answers) if isinstance(request, list) else self.send(200, answers[0])
        if path.startswith("/result/"):
            value = json.loads(urllib.parse.unquote(path[len("/result/"):]))
            return reply([one(c, result=value) for c in calls])
        if path == "/notjson":
            return self.send(200, "this is not json {")
        if path == "/noresult":
            return reply([one(c) for c in calls])
        if path == "/noversion":
            return reply([{"id": c.get("id"), "result": "0x1"} for c in calls])
        if path == "/wrongid":
            return reply([dict(one(c, result="0x1"), id=c.get("id") + 1000) for c in calls])
        if path == "/batch-missing":
            return self.send(200, [one(c, result="0x1") for c in calls][:-1])
        if path == "/batch-duplicate":
            answers = [one(c, result="0x1") for c in calls]
            return self.send(200, answers + answers[:1])
        if path == "/batch-object":
            return self.send(200, one(calls[0], result="0x1"))
        if path == "/http500":
            return self.send(500, "internal trouble")
        if path == "/http400-rpc":
            return self.send(400, one(calls[0], error={"code": -32600, "message": "invalid request"}))
        if path.startswith("/error/"):
            code = int(path[len("/error/"):])
            return reply([one(c, error={"code": code, "message": "fake failure"}) for c in calls])
        if path == "/malformed-error":
            return reply([one(c, error="oops") for c in calls])
        if path == "/revert":
            err = {"code": 3, "message": "execution reverted: not a member", "data": error_data("not a member")}
            return reply([one(c, error=err) for c in calls])
        if path.startswith("/big/") or path.startswith("/bigchunked/"):
            n = int(path.rsplit("/", 1)[1])
            body = json.dumps(one(calls[0], result="0x" + "00" * (n // 2))).encode()
            return self.send(200, body, chunked=path.startswith("/bigchunked/"))
        if path == "/hang":
            time.sleep(60)
            return
        return self.send(404, "unknown path " + path)

    def send(self, status, payload, chunked=False):
        if isinstance(payload, bytes):
            data, kind = payload, "application/json"
        elif isinstance(payload, str):
            data, kind = payload.encode(), "text/plain"
        else:
            data, kind = json.dumps(payload).encode(), "application/json"
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i in range(0, len(data), 65536):
                    piece = data[i:i + 65536]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its cap or its timeout)

    def log_message(self, fmt, *args):
        pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    a = p.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
