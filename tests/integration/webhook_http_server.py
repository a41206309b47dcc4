#!/usr/bin/python3
"""A recording HTTP server for webhook_test: the far end of treaty-webhook.

    webhook_http_server.py --port PORT --log FILE

Listens on 127.0.0.1:PORT. Every request is appended to FILE as one JSON
line (method, path, headers, body, the time it arrived and how many
requests were in flight with it) before it is answered, so a test that sees
the job's outcome finds the request in the file.

The answer depends on the applicant in the request's JSON body (the
variables, or an envelope's "variables"):

    score-N      200 {"result": {"score": N}, "bureau": "test"}
                 (on the path /flat: 200 {"score": N})
    nofile       404 {"error": "no file"}
    declined     422 {"code": "DECLINED"}
    frozen       422 {"code": "FROZEN"}
    boom         500 internal trouble
    binary       500 with bytes that are not UTF-8: ff fe, then " oops"
    text         200 not json
    slow-MS      sleeps MS milliseconds, then 200 {"result": {"score": 700}}
    flaky-N      500 for the first N requests of a job (Treaty-Job-Key), then
                 200 {"result": {"score": 650}}
"""
import argparse
import http.server
import json
import threading
import time

lock = threading.Lock()
in_flight = 0
seen_per_job = {}


def applicant_of(body):
    try:
        doc = json.loads(body)
    except ValueError:
        return ""
    if isinstance(doc, dict) and isinstance(doc.get("variables"), dict):
        doc = doc["variables"]
    return doc.get("applicant", "") if isinstance(doc, dict) else ""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as libcurl expects
    # Headers and body are separate writes: without this, Nagle's algorithm
    # holds the body for the client's delayed ACK (40 ms a request).
    disable_nagle_algorithm = True

    def do_any(self):
        global in_flight
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8", "replace")
        job_key = self.headers.get("Treaty-Job-Key", "")
        with lock:
            in_flight += 1
            seen_per_job[job_key] = seen_per_job.get(job_key, 0) + 1
            attempt = seen_per_job[job_key]
            record = {
                "method": self.command,
                "path": self.path,
                "headers": {k: v for k, v in self.headers.items()},
                "body": body,
                "at_ms": int(time.time() * 1000),
                "in_flight": in_flight,
            }
            with open(self.server.log_path, "a") as f:
                f.write(json.dumps(record) + "\n")
        try:
            self.answer(applicant_of(body), attempt)
        finally:
            with lock:
                in_flight -= 1

    do_POST = do_PUT = do_PATCH = do_any

    def answer(self, applicant, attempt):
        if applicant.startswith("score-"):
            score = int(applicant[len("score-"):])
            if self.path == "/flat":
                return self.send(200, {"score": score})
            return self.send(200, {"result": {"score": score}, "bureau": "test"})
        if applicant == "nofile":
            return self.send(404, {"error": "no file"})
        if applicant == "declined":
            return self.send(422, {"code": "DECLINED"})
        if applicant == "frozen":
            return self.send(422, {"code": "FROZEN"})
        if applicant == "boom":
            return self.send(500, "internal trouble")
        if applicant == "binary":
            return self.send(500, b"\xff\xfe oops")
        if applicant == "text":
            return self.send(200, "not json")
        if applicant.startswith("slow-"):
            time.sleep(int(applicant[len("slow-"):]) / 1000.0)
            return self.send(200, {"result": {"score": 700}})
        if applicant.startswith("flaky-"):
            if attempt <= int(applicant[len("flaky-"):]):
                return self.send(500, "flaky trouble")
            return self.send(200, {"result": {"score": 650}})
        return self.send(400, {"error": "unknown applicant " + applicant})

    def send(self, status, payload):
        if isinstance(payload, bytes):
            data, kind = payload, "application/octet-stream"
        elif isinstance(payload, str):
            data, kind = payload.encode(), "text/plain"
        else:
            data, kind = json.dumps(payload).encode(), "application/json"
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout): nothing to answer

    def log_message(self, fmt, *args):
        pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--log", required=True)
    a = p.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    server.daemon_threads = True
    server.log_path = a.log
    server.serve_forever()


if __name__ == "__main__":
    main()
