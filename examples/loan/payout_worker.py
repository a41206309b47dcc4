#!/usr/bin/python3
"""The bank's payout worker for examples/loan/loan.yaml: jobs of type `payout` (the `pay_out` step).

It stands in for a payment system: each job "pays out" the loan and
completes with {"payment": "PAY-<12 hex digits>"}, a reference derived from
the job key, so a job run twice (a retry, or a lease that ran out) gets the
same reference, as a real payment system keyed by the job would give.

    /usr/bin/python3 examples/loan/payout_worker.py --server 127.0.0.1:7420

To a node with TLS and bearer tokens (docs/security.md), the `treaty` CLI's
flags: --tls-ca FILE, --tls-cert FILE --tls-key FILE, --tls-server-name
NAME, --token-file FILE (or $TREATY_TOKEN).

--fail-first N makes each job fail its first N attempts (a flaky payment
system, for the demo): the node retries it after the definition's backoff,
with one retry less each time (see `treaty jobs`). --delay S makes each
payout take S seconds. SIGTERM or Ctrl-C stops it gracefully
(docs/worker-python.md).
"""
import argparse
import hashlib
import logging
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "adapters", "python"))

from treaty_worker import Worker, read_token_file  # noqa: E402


def payment_reference(job_key):
    """The payout's reference: the same for every attempt of one job."""
    return "PAY-" + hashlib.sha256(job_key.encode()).hexdigest()[:12].upper()


class Payouts:
    """The handler. Thread-safe: the attempt counts are guarded by a lock (the worker runs jobs in parallel)."""

    def __init__(self, fail_first, delay_s):
        self._fail_first = fail_first
        self._delay_s = delay_s
        self._attempts = {}
        self._lock = threading.Lock()

    def __call__(self, job):
        with self._lock:
            attempt = self._attempts.get(job.key, 0) + 1
            self._attempts[job.key] = attempt
        logging.info("paying out %s to %s (job %s, attempt %d)", job.variables.get("amount"),
                     job.variables.get("applicant"), job.key, attempt)
        if self._delay_s:
            time.sleep(self._delay_s)
        if attempt <= self._fail_first:
            raise RuntimeError(f"payment system unavailable (simulated, attempt {attempt} of {self._fail_first} "
                               "that fail)")
        return {"payment": payment_reference(job.key)}


def main():
    ap = argparse.ArgumentParser(description="Pays out loans: the Python worker for jobs of type payout.")
    ap.add_argument("--server", default="127.0.0.1:7420", help="the bank's treatyd (host:port)")
    ap.add_argument("--concurrency", type=int, default=4, help="jobs run at once (default 4)")
    ap.add_argument("--poll", action="store_true", help="long-poll ActivateJobs instead of streaming")
    ap.add_argument("--fail-first", type=int, default=0, metavar="N", help="fail each job's first N attempts")
    ap.add_argument("--delay", type=float, default=0.0, metavar="S", help="seconds each payout takes")
    ap.add_argument("--name", default=None, help="the worker's name at the node (default: payout@host:pid:random)")
    ap.add_argument("--tls-ca", metavar="FILE", help="TLS: the CA that signed the node's certificate")
    ap.add_argument("--tls-cert", metavar="FILE", help="a client certificate (with --tls-key)")
    ap.add_argument("--tls-key", metavar="FILE", help="the client certificate's key")
    ap.add_argument("--tls-server-name", metavar="NAME", help="the name checked in the node's certificate")
    ap.add_argument("--token-file", metavar="FILE", help="a bearer token, the file's first line ($TREATY_TOKEN)")
    args = ap.parse_args()
    if args.fail_first < 0 or args.delay < 0 or args.concurrency < 1:
        ap.error("--fail-first and --delay must be 0 or more, --concurrency 1 or more")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        token = read_token_file(args.token_file) if args.token_file else None
        worker = Worker(args.server, "payout", Payouts(args.fail_first, args.delay), concurrency=args.concurrency,
                        name=args.name, stream=not args.poll, tls_ca=args.tls_ca, tls_cert=args.tls_cert,
                        tls_key=args.tls_key, tls_server_name=args.tls_server_name, token=token)
    except (OSError, ValueError) as e:
        ap.error(str(e))
    worker.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
