#!/usr/bin/python3
"""ctest adapters.python_worker: adapters/python/treaty_worker against real treatyd processes.

Each test starts its own treatyd on 127.0.0.1 (a free port, a temporary data
directory, definitions: a copy of examples/loan/loan.yaml whose backoffs are
100ms so retries are quick) and stops it by its PID. Environment (set by
tests/CMakeLists.txt): TREATY_TREATYD (the treatyd binary), TREATY_SOURCE_DIR
(the source tree), TREATY_PYTHON_STUBS (the generated stubs). Run alone with
    TREATY_TREATYD=build/bin/treatyd /usr/bin/python3 tests/adapters/python_worker_test.py -v
"""
import hashlib
import json
import os
import queue
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

SOURCE = os.environ.get("TREATY_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TREATYD = os.environ.get("TREATY_TREATYD") or os.path.join(SOURCE, "build", "bin", "treatyd")
ADAPTERS = os.path.join(SOURCE, "adapters", "python")
sys.path.insert(0, ADAPTERS)

import grpc  # noqa: E402
from treaty_worker import BusinessError, Worker, node_channel  # noqa: E402
from treaty_worker.stubs import pb, rpc  # noqa: E402

TYPE = "credit-check"


def free_port():
    """A free port below the ephemeral range (as tests/integration/treatyd_process.cc picks them)."""
    for _ in range(200):
        port = random.randint(20000, 31999)
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port")


def loan_definition():
    """examples/loan/loan.yaml with 100ms backoffs (each replaced text must be there exactly once)."""
    with open(os.path.join(SOURCE, "examples", "loan", "loan.yaml")) as f:
        text = f.read()
    for old, new in (("backoff: 1s", "backoff: 100ms"), ("backoff: 2s", "backoff: 100ms")):
        if text.count(old) != 1:
            raise AssertionError(f"examples/loan/loan.yaml no longer has '{old}' once; update this test")
        text = text.replace(old, new)
    return text


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


# The secure node's clients (docs/security.md): the test itself (every permission), a worker of credit-check
# jobs, and a client that may do nothing with jobs.
ACCESS = """clients:
  tester:
    processes: [{ definition: loan, roles: ["*"] }]
    operator: true
  checker:
    job_types: [credit-check, payout]
  bystander:
    processes: [{ definition: loan, roles: [applicant] }]
"""


class Node:
    """A treatyd process with the loan definition, on `port` (default: a free one).

    secure=True: TLS with a certificate of a CA made here with openssl (as tests/integration/test_pki.cc
    does), bearer tokens for the clients of ACCESS (self.tokens[name]) and that access file; the test's own
    channel presents TLS and the tester's token."""

    def __init__(self, port=None, secure=False):
        self.secure = secure
        self.dir = tempfile.mkdtemp(prefix="treaty-pyworker-")
        os.makedirs(os.path.join(self.dir, "defs"))
        with open(os.path.join(self.dir, "defs", "loan.yaml"), "w") as f:
            f.write(loan_definition())
        self.address = f"127.0.0.1:{port or free_port()}"
        self.log_path = os.path.join(self.dir, "treatyd.log")
        self.proc = None
        self.channel = None

    def path(self, name):
        return os.path.join(self.dir, name)

    def make_credentials(self):
        """ca.pem, node.pem/key (127.0.0.1, localhost), tokens.yaml and access.yaml; the treatyd flags."""
        key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        openssl("req", "-x509", *key, "-keyout", self.path("ca.key"), "-out", self.path("ca.pem"), "-days", "2",
                "-subj", "/CN=treaty-pyworker-ca")
        openssl("req", "-new", *key, "-keyout", self.path("node.key"), "-out", self.path("node.csr"),
                "-subj", "/CN=node")
        with open(self.path("san.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        openssl("x509", "-req", "-in", self.path("node.csr"), "-CA", self.path("ca.pem"), "-CAkey",
                self.path("ca.key"), "-CAcreateserial", "-out", self.path("node.pem"), "-days", "2",
                "-extfile", self.path("san.ext"))
        self.tokens = {name: os.urandom(32).hex() for name in ("tester", "checker", "bystander")}
        with open(self.path("tokens.yaml"), "w") as f:
            f.write("tokens:\n")
            for name, token in self.tokens.items():
                f.write(f"  - name: {name}\n    sha256: {hashlib.sha256(token.encode()).hexdigest()}\n")
        with open(self.path("access.yaml"), "w") as f:
            f.write(ACCESS)
        return ["--tls-cert", self.path("node.pem"), "--tls-key", self.path("node.key"),
                "--tokens", self.path("tokens.yaml"), "--access", self.path("access.yaml")]

    def start(self):
        api = self.make_credentials() if self.secure else ["--plaintext"]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([TREATYD, "--data", os.path.join(self.dir, "data"), "--listen", self.address,
                                          "--definitions", os.path.join(self.dir, "defs"), *api],
                                         stdout=log, stderr=subprocess.STDOUT)
        self.channel = (node_channel(self.address, tls_ca=self.path("ca.pem"), token=self.tokens["tester"])
                        if self.secure else grpc.insecure_channel(self.address))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"treatyd exited with {self.proc.returncode}:\n{self.log()}")
            try:
                grpc.channel_ready_future(self.channel).result(timeout=0.2)
                break
            except grpc.FutureTimeoutError:
                pass
        else:
            raise AssertionError(f"treatyd did not listen on {self.address} within 20 s:\n{self.log()}")
        self.processes = rpc.ProcessesStub(self.channel)
        self.jobs = rpc.JobsStub(self.channel)
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.channel is not None:
            self.channel.close()
        if not os.environ.get("TREATY_KEEP_TEST_DIRS"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    # ---- the loan

    def apply(self, applicant="ann", amount=1000):
        """A loan instance that applied: its `check` job (type credit-check) is open."""
        iid = self.processes.StartProcess(pb.StartProcessRequest(definition="loan"), timeout=30).instance_id
        r = self.processes.TriggerStep(pb.TriggerStepRequest(
            instance_id=iid, step="apply", input_json=json.dumps({"applicant": applicant, "amount": amount})),
            timeout=30)
        assert r.outcome == pb.CONFIRMED, r
        return iid

    def states(self, iid):
        return list(self.processes.GetInstance(pb.GetInstanceRequest(instance_id=iid), timeout=10).states)

    def data(self, iid):
        return json.loads(self.processes.GetInstance(pb.GetInstanceRequest(instance_id=iid), timeout=10).data_json)

    def job(self, iid, step="check"):
        found = [j for j in self.jobs.SearchJobs(pb.SearchJobsRequest(instance_id=iid), timeout=10).jobs
                 if j.step == step]
        assert len(found) == 1, f"jobs of step {step} of {iid}: {found}"
        return self.jobs.GetJob(pb.GetJobRequest(key=found[0].key), timeout=10)


class Running:
    """Runs a Worker on a thread for a with-block; stops it and checks run() returned."""

    def __init__(self, worker):
        self.worker = worker
        self.thread = threading.Thread(target=worker.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self.worker

    def __exit__(self, *exc):
        self.worker.stop()
        self.thread.join(20)
        assert not self.thread.is_alive(), "Worker.run() did not return within 20 s of stop()"


class Gauge:
    """Counts handlers running at once; `peak` is the most seen."""

    def __init__(self):
        self.now = self.peak = 0
        self.lock = threading.Lock()

    def __enter__(self):
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def __exit__(self, *exc):
        with self.lock:
            self.now -= 1


WORKER_SCRIPT = r'''
import logging, sys, time
sys.path.insert(0, sys.argv[1])
from treaty_worker import Worker
server, delay, grace = sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
def check(job):
    print("started " + job.key, flush=True)
    time.sleep(delay)
    return {"score": 650}
logging.basicConfig(level=logging.INFO)
Worker(server, "credit-check", check, concurrency=2, grace_s=grace).run()
print("run returned", flush=True)
'''


class Subprocess:
    """A Python worker process whose stdout lines are collected; stderr goes to a log file."""

    def __init__(self, args, log_path):
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_line(self, prefix, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if line.startswith(prefix):
                return line
        raise AssertionError(f"no line '{prefix}...' from the worker within {timeout}s:\n{self.log()}")

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()[-4000:]

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


class NodeTestCase(unittest.TestCase):
    """A treatyd per test (TLS, tokens and an access file when `secure`) and waiting on it."""

    secure = False

    def setUp(self):
        self.node = Node(secure=self.secure)
        self.addCleanup(self.node.stop)
        self.node.start()

    def wait_for(self, what, predicate, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        self.fail(f"timed out after {timeout}s waiting for {what}\ntreatyd's log:\n{self.node.log()}")


class WorkerTest(NodeTestCase):
    def test_streamed_job_runs_the_handler_and_completes_the_step(self):
        seen = []

        def check(job):
            seen.append(job)
            return {"score": 720}

        with Running(Worker(self.node.address, TYPE, check, concurrency=2)) as worker:
            iid = self.node.apply("ann", 1500)
            self.wait_for("the instance to be checked", lambda: self.node.states(iid) == ["checked"])
        self.assertEqual(len(seen), 1)
        job = seen[0]
        self.assertEqual((job.type, job.step, job.instance_id), (TYPE, "check", iid))
        self.assertEqual(job.variables, {"applicant": "ann", "amount": 1500})
        self.assertEqual(job.headers, {"bureau": "acme-credit"})
        self.assertEqual(job.retries, 3)
        self.assertGreater(job.deadline_ms, time.time() * 1000 + 20000)  # the definition's 30 s lease
        at_node = self.node.job(iid)
        self.assertEqual(at_node.key, job.key)
        self.assertEqual(at_node.state, pb.JOB_COMPLETED)
        self.assertEqual(at_node.worker, worker.name)
        self.assertEqual(self.node.data(iid)["score"], 720)

    def test_long_poll_asks_for_no_more_jobs_than_free_slots(self):
        activated_seen = []
        gauge = Gauge()

        def check(job):
            with gauge:
                found = self.node.jobs.SearchJobs(pb.SearchJobsRequest(type=TYPE, states=[pb.JOB_ACTIVATED]),
                                                  timeout=10)
                activated_seen.append(len(found.jobs))
                time.sleep(0.8 if job.variables["applicant"] == "a0" else 0.2)  # slots free one at a time
            return {"score": 610}

        first = [self.node.apply(f"a{i}") for i in range(5)]  # waiting before the worker asks
        with Running(Worker(self.node.address, TYPE, check, concurrency=2, stream=False, poll_timeout_ms=2000)):
            self.wait_for("the first five checked", lambda: all(self.node.states(i) == ["checked"] for i in first))
            time.sleep(0.5)  # the worker is now in a long poll with nothing to take
            late = self.node.apply("late")
            self.wait_for("the late one checked", lambda: self.node.states(late) == ["checked"], timeout=5)
        self.assertEqual(len(activated_seen), 6)
        self.assertLessEqual(max(activated_seen), 2, f"jobs activated at the node while handlers ran: {activated_seen}")
        self.assertEqual(gauge.peak, 2)

    def test_handler_exception_fails_with_one_retry_less_until_an_incident(self):
        attempts = []

        def check(job):
            j = self.node.jobs.GetJob(pb.GetJobRequest(key=job.key), timeout=10)
            attempts.append((job.retries, j.retries, j.failures, j.error_message))
            raise RuntimeError("bureau down")

        with Running(Worker(self.node.address, TYPE, check)):
            iid = self.node.apply()
            incidents = self.wait_for("an incident", lambda: list(self.node.jobs.ListIncidents(
                pb.ListIncidentsRequest(type=TYPE), timeout=10).incidents))
        self.assertEqual(attempts, [(3, 3, 0, ""), (2, 2, 1, "bureau down"), (1, 1, 2, "bureau down")])
        job = self.node.job(iid)
        self.assertEqual((job.state, job.retries, job.failures, job.error_message),
                         (pb.JOB_INCIDENT, 0, 3, "bureau down"))
        self.assertEqual(len(incidents), 1)
        self.assertEqual((incidents[0].job_key, incidents[0].kind), (job.key, "no_retries"))
        self.assertIn("bureau down", incidents[0].message)
        self.assertEqual(self.node.states(iid), ["applied"])

    def test_output_the_step_refuses_fails_the_job(self):
        with Running(Worker(self.node.address, TYPE, lambda job: {"score": 5000})):  # the step allows 0..999
            iid = self.node.apply()
            self.wait_for("the job failed", lambda: self.node.job(iid).failures >= 1)
        job = self.node.job(iid)
        self.assertTrue(job.error_message.startswith("the node refused the handler's output: "), job.error_message)
        self.assertIn("score", job.error_message)
        self.assertEqual(self.node.states(iid), ["applied"])

    def test_business_error_takes_the_mapped_step_or_raises_an_incident(self):
        def check(job):
            if job.variables["amount"] == 13:
                raise BusinessError("FRAUD", "not mapped by the definition")
            raise BusinessError("DECLINED", "score 310", {})

        with Running(Worker(self.node.address, TYPE, check)):
            declined = self.node.apply("bob", 900)
            unmapped = self.node.apply("eve", 13)
            self.wait_for("the instance declined", lambda: self.node.states(declined) == ["declined"])
            self.wait_for("the unmapped code's incident",
                          lambda: self.node.job(unmapped).state == pb.JOB_INCIDENT)
        job = self.node.job(declined)
        self.assertEqual((job.state, job.error_code, job.error_message), (pb.JOB_ERROR_THROWN, "DECLINED", "score 310"))
        incidents = self.node.jobs.ListIncidents(pb.ListIncidentsRequest(instance_id=unmapped), timeout=10).incidents
        self.assertEqual([i.kind for i in incidents], ["unmapped_error"])
        self.assertEqual(self.node.states(unmapped), ["applied"])

    def test_stream_runs_at_most_concurrency_handlers_at_once(self):
        gauge = Gauge()

        def check(job):
            with gauge:
                time.sleep(0.3)
            return {"score": 700}

        loans = [self.node.apply(f"c{i}") for i in range(9)]  # all pushed to the stream as it opens
        with Running(Worker(self.node.address, TYPE, check, concurrency=3)):
            self.wait_for("nine instances checked", lambda: all(self.node.states(i) == ["checked"] for i in loans))
        self.assertEqual(gauge.peak, 3)

    def test_a_busy_streaming_worker_leaves_the_jobs_it_cannot_run_to_others(self):
        # A (concurrency 1) holds one running and one queued job. The node keeps the other two from A's
        # stream (max_active_jobs), or, if it pushed them anyway, A closes its stream within about a
        # second and gives them back: either way B runs them long before their 30 s leases end.
        slow_started = threading.Event()

        def slow(job):
            slow_started.set()
            time.sleep(3)
            return {"score": 640}

        by_b = []
        loans = [self.node.apply(f"s{i}") for i in range(4)]
        start = time.monotonic()
        with Running(Worker(self.node.address, TYPE, slow, concurrency=1, name="slow-a")):
            self.assertTrue(slow_started.wait(10))
            with Running(Worker(self.node.address, TYPE, lambda job: by_b.append(job.key) or {"score": 650},
                                concurrency=2, stream=False, poll_timeout_ms=1000, name="quick-b")):
                self.wait_for("B to complete two jobs", lambda: len(by_b) >= 2, timeout=8)
                self.wait_for("all four checked", lambda: all(self.node.states(i) == ["checked"] for i in loans),
                              timeout=15)
        self.assertLess(time.monotonic() - start, 20)
        jobs = [self.node.job(i) for i in loans]
        workers = sorted(j.worker for j in jobs)
        self.assertEqual(workers.count("slow-a"), 2, workers)
        self.assertEqual(workers.count("quick-b"), 2, workers)
        # A asked for flow control (max_active_jobs 2), so the node never pushed it more: nothing given back.
        self.assertEqual([j.failures for j in jobs], [0, 0, 0, 0])

    def test_worker_waits_for_an_unavailable_node(self):
        self.node.stop()
        node = Node()  # not started yet: the worker's first attempts find nobody
        self.addCleanup(node.stop)
        with Running(Worker(node.address, TYPE, lambda job: {"score": 800})):
            time.sleep(1.0)
            node.start()
            self.node = node
            iid = node.apply()
            self.wait_for("the instance checked after the node came up", lambda: node.states(iid) == ["checked"])

    def run_worker_process(self, delay_s, grace_s):
        script = os.path.join(self.node.dir, "worker.py")
        with open(script, "w") as f:
            f.write(WORKER_SCRIPT)
        p = Subprocess([sys.executable, script, ADAPTERS, self.node.address, str(delay_s), str(grace_s)],
                       os.path.join(self.node.dir, "worker.log"))
        self.addCleanup(p.kill)
        return p

    def test_sigterm_lets_a_running_job_finish(self):
        worker = self.run_worker_process(delay_s=1.5, grace_s=10)
        iid = self.node.apply()
        key = worker.wait_line("started ", 15).split(" ", 1)[1]
        os.kill(worker.proc.pid, signal.SIGTERM)
        self.assertEqual(worker.proc.wait(timeout=15), 0, worker.log())
        worker.wait_line("run returned", 2)
        job = self.node.job(iid)
        self.assertEqual((job.key, job.state), (key, pb.JOB_COMPLETED))
        self.assertEqual(self.node.states(iid), ["checked"])

    def test_sigterm_gives_a_job_still_running_after_the_grace_back(self):
        worker = self.run_worker_process(delay_s=60, grace_s=0.5)
        iid = self.node.apply()
        worker.wait_line("started ", 15)
        os.kill(worker.proc.pid, signal.SIGTERM)
        stopped_at = time.monotonic()
        self.assertEqual(worker.proc.wait(timeout=10), 0, worker.log())
        job = self.node.job(iid)
        self.assertIn(job.state, (pb.JOB_ACTIVATABLE, pb.JOB_FAILED))
        self.assertEqual((job.retries, job.error_message), (3, "worker stopped"))  # retries unchanged
        with Running(Worker(self.node.address, TYPE, lambda job: {"score": 660})):
            self.wait_for("another worker to check it", lambda: self.node.states(iid) == ["checked"], timeout=10)
        self.assertLess(time.monotonic() - stopped_at, 20, "not taken again before its 30 s lease would end")

    def test_example_payout_worker_pays_out(self):
        payout = Subprocess([sys.executable, os.path.join(SOURCE, "examples", "loan", "payout_worker.py"),
                             "--server", self.node.address, "--fail-first", "1"],
                            os.path.join(self.node.dir, "payout.log"))
        self.addCleanup(payout.kill)
        with Running(Worker(self.node.address, TYPE, lambda job: {"score": 700})):
            iid = self.node.apply("ann", 2500)
            self.wait_for("the instance checked", lambda: self.node.states(iid) == ["checked"])
        r = self.node.processes.TriggerStep(pb.TriggerStepRequest(instance_id=iid, step="approve"), timeout=30)
        self.assertEqual(r.outcome, pb.CONFIRMED)
        self.wait_for("the loan paid", lambda: self.node.states(iid) == ["paid"])
        job = self.node.job(iid, "pay_out")
        expected = "PAY-" + hashlib.sha256(job.key.encode()).hexdigest()[:12].upper()
        self.assertEqual(self.node.data(iid)["payment"], expected)
        self.assertEqual((job.state, job.type, job.failures, job.retries), (pb.JOB_COMPLETED, "payout", 1, 4))
        os.kill(payout.proc.pid, signal.SIGTERM)
        self.assertEqual(payout.proc.wait(timeout=15), 0, payout.log())


class SecureWorkerTest(NodeTestCase):
    """A node with TLS, bearer tokens and an access file: the worker presents them (tls_ca, token, or
    $TREATY_TOKEN), and without them or without the job type's permission it takes no job."""

    secure = True

    def test_worker_with_the_ca_and_a_token_completes_jobs(self):
        with Running(Worker(self.node.address, TYPE, lambda job: {"score": 710}, tls_ca=self.node.path("ca.pem"),
                            token=self.node.tokens["checker"], stream=False, poll_timeout_ms=2000)):
            iid = self.node.apply("ann", 1200)
            self.wait_for("the instance to be checked", lambda: self.node.states(iid) == ["checked"])
        self.assertEqual(self.node.data(iid)["score"], 710)
        # The certificate is checked against the name given instead of the address's host.
        with Running(Worker(self.node.address, TYPE, lambda job: {"score": 720}, tls_ca=self.node.path("ca.pem"),
                            tls_server_name="localhost", token=self.node.tokens["checker"])):
            iid = self.node.apply("bob", 1300)
            self.wait_for("the second instance to be checked", lambda: self.node.states(iid) == ["checked"])
        self.assertEqual(self.node.data(iid)["score"], 720)

    def test_token_from_the_environment(self):
        os.environ["TREATY_TOKEN"] = self.node.tokens["checker"]
        self.addCleanup(os.environ.pop, "TREATY_TOKEN", None)
        with Running(Worker(self.node.address, TYPE, lambda job: {"score": 690}, tls_ca=self.node.path("ca.pem"))):
            iid = self.node.apply("cy", 1100)
            self.wait_for("the instance to be checked", lambda: self.node.states(iid) == ["checked"])

    def test_refused_workers_take_no_job(self):
        iid = self.node.apply("dee", 1400)
        calls = []
        # No token; a token whose client may not take credit-check jobs; plaintext to a TLS node.
        refused = [Worker(self.node.address, TYPE, calls.append, tls_ca=self.node.path("ca.pem"), name="anonymous"),
                   Worker(self.node.address, TYPE, calls.append, tls_ca=self.node.path("ca.pem"),
                          token=self.node.tokens["bystander"], name="bystander"),
                   Worker(self.node.address, TYPE, calls.append, name="plaintext")]
        with Running(refused[0]), Running(refused[1]), Running(refused[2]):
            self.wait_for("the refusals in the node's log", lambda: "may not activate jobs of type 'credit-check'"
                          in self.node.log() and "a bearer token ('authorization: Bearer <token>') on every call" in self.node.log())
            time.sleep(0.5)
        self.assertEqual(calls, [])
        self.assertEqual(self.node.job(iid).state, pb.JOB_ACTIVATABLE)
        self.assertEqual(self.node.states(iid), ["applied"])

    def test_example_payout_worker_with_tls_and_a_token_file(self):
        with open(self.node.path("checker.token"), "w") as f:
            f.write(self.node.tokens["checker"] + "\n")
        payout = Subprocess([sys.executable, os.path.join(SOURCE, "examples", "loan", "payout_worker.py"),
                             "--server", self.node.address, "--tls-ca", self.node.path("ca.pem"),
                             "--token-file", self.node.path("checker.token")],
                            os.path.join(self.node.dir, "payout.log"))
        self.addCleanup(payout.kill)
        with Running(Worker(self.node.address, TYPE, lambda job: {"score": 700}, tls_ca=self.node.path("ca.pem"),
                            token=self.node.tokens["checker"])):
            iid = self.node.apply("eve", 2500)
            self.wait_for("the instance checked", lambda: self.node.states(iid) == ["checked"])
        r = self.node.processes.TriggerStep(pb.TriggerStepRequest(instance_id=iid, step="approve"), timeout=30)
        self.assertEqual(r.outcome, pb.CONFIRMED, r.reason)
        self.wait_for("the loan paid", lambda: self.node.states(iid) == ["paid"])
        os.kill(payout.proc.pid, signal.SIGTERM)
        self.assertEqual(payout.proc.wait(timeout=15), 0, payout.log())


if __name__ == "__main__":
    if not os.access(TREATYD, os.X_OK):
        sys.exit(f"python_worker_test: no treatyd at {TREATYD} (build it, or set TREATY_TREATYD)")
    unittest.main(verbosity=2)
