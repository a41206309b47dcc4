#!/usr/bin/python3
"""A tiny credit bureau for the loan example (docs/webhook.md).

    /usr/bin/python3 examples/loan/bureau.py [--port 8089]

POST /score with a JSON body holding "applicant" (the loan's variables, as
treaty-webhook sends them) answers, by the applicant's name:

    starts with "Nobody"  404 {"error": "no file"}         -> NO_FILE, referred
    starts with "Bad"     422 {"code": "DECLINED", ...}    -> DECLINED, declined
    starts with "Flaky"   503 the first time for a job (Treaty-Job-Key), then a score
    anyone else           200 {"result": {"score": N, "band": B}, "bureau": "acme-credit"}

The score is the same for the same name (300 to 849). Requests without the
API key of examples/loan/webhook.yaml get 401. Listens on 127.0.0.1 only.
"""
import argparse
import hashlib
import http.server
import json
import sys
import threading

API_KEY = "demo-key"
seen_jobs = set()
seen_lock = threading.Lock()


def score_of(name):
    digest = hashlib.sha256(name.strip().lower().encode()).digest()
    return 300 + int.from_bytes(digest[:2], "big") % 550


def band_of(score):
    return "good" if score >= 700 else "fair" if score >= 600 else "poor"


class Bureau(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are separate writes: without this, Nagle's algorithm
    # holds the body for the client's delayed ACK (40 ms a request).
    disable_nagle_algorithm = True

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        if self.path != "/score":
            return self.reply(404, {"error": "no such endpoint " + self.path})
        if self.headers.get("X-Api-Key") != API_KEY:
            return self.reply(401, {"error": "unknown API key"})
        try:
            body = json.loads(raw)
        except ValueError:
            return self.reply(400, {"error": "the body is not JSON"})
        name = body.get("applicant") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name:
            return self.reply(400, {"error": "no applicant"})
        if name.startswith("Nobody"):
            return self.reply(404, {"error": "no file"})
        if name.startswith("Bad"):
            return self.reply(422, {"code": "DECLINED", "reason": "fraud alert on file"})
        if name.startswith("Flaky"):
            job = self.headers.get("Treaty-Job-Key", "")
            with seen_lock:
                first = job not in seen_jobs
                seen_jobs.add(job)
            if first:
                return self.reply(503, {"error": "try again later"})
        score = score_of(name)
        return self.reply(200, {"result": {"score": score, "band": band_of(score)}, "bureau": "acme-credit"})

    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        sys.stderr.write("bureau: %s %s\n" % (self.address_string(), fmt % args))


def main():
    p = argparse.ArgumentParser(description="A tiny credit bureau for the loan example.")
    p.add_argument("--port", type=int, default=8089)
    a = p.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Bureau)
    server.daemon_threads = True
    print("bureau: listening on 127.0.0.1:%d" % a.port, file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
