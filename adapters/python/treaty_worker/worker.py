"""`Worker`: a job worker for one job type of a Treaty node, over the public gRPC API.

    Worker(server, type, handler, concurrency=4, name=None, lease_ms=0, stream=True,
           poll_timeout_ms=10000, channel=None, grace_s=10,
           tls_ca=None, tls_cert=None, tls_key=None, tls_server_name=None, token=None).run()

takes jobs of `type` from the node at `server` ("host:port"), runs
`handler(job)` for each on a pool of `concurrency` threads and reports what
it did (outcomes.py: a dict completes the job, BusinessError throws a
business error, any other exception fails it with one retry less).

Taking jobs (docs/worker-python.md, "Taking jobs"):
- stream=True: StreamJobs. Every job read from the stream belongs to this
  worker, so the worker keeps a local queue of `concurrency` jobs besides
  the `concurrency` running ones and asks the node (max_active_jobs) to
  keep no more than that many activated for the stream. Should it hold that
  many anyway, it stops reading (what the node writes meanwhile waits in
  the transport, still leased to this worker); if no slot frees within 1 s
  it cancels the stream. The node then yields the jobs it had not written;
  those written but unread are lost in transit yet leased to this worker,
  so the worker looks them up (SearchJobs: activated, its name, not held)
  and gives them back at once (FailJob, retries unchanged, backoff 0). The
  stream is opened again once the queue is empty. A queued job whose lease
  ends before a slot frees is not run (pool.py).
- stream=False: ActivateJobs long polls (`poll_timeout_ms`), each asking for
  no more jobs than there are free slots.
The node being unreachable is logged and retried with backoff (0.1 s
doubling to 5 s); the worker does not stop for it.

Stopping (`stop()`, or SIGTERM/SIGINT when run() is on the main thread):
the stream or poll is cancelled, queued and never-received jobs are given
back, the running handlers get `grace_s` to finish (their outcomes are sent
as usual), and the jobs of those still running then are given back with
their retries unchanged and the message "worker stopped", so another worker
takes them at once instead of after their lease; run() then returns. A
second signal cuts the grace short.

How the worker presents itself to the node (docs/security.md): tls_ca, tls_cert, tls_key,
tls_server_name and token mean what the `treaty` CLI's flags of the same names mean (channel.py);
token defaults to $TREATY_TOKEN and tls_ca to $TREATY_TLS_CA. They make the worker's own channel, so
they do not go with `channel`.

`name` identifies this worker to the node (the job's `worker`); it must be
unique among running workers, since the worker gives back the jobs leased
to its name that it does not hold. The default is type@host:pid:random.

Thread-safety: run() is called once, from one thread, and blocks; stop()
may be called from any thread (or a signal handler) at any time, also
before run(). The handler runs on the pool's threads, up to `concurrency`
at once, and must be thread-safe to that extent.
"""
import logging
import os
import signal
import socket
import threading
import time
import uuid

import grpc

from .channel import node_channel
from .job import BusinessError, Job
from .outcomes import Outcomes
from .pool import JobPool
from .stubs import pb, rpc

log = logging.getLogger("treaty_worker")

STOPPED_MESSAGE = "worker stopped"
UNREAD_MESSAGE = "given back: written to the worker's stream after it was full, never received"
# How long a full worker leaves its stream unread before closing it: long enough for a slot to free
# when handlers are quick (no churn), short enough that jobs do not wait on a busy worker.
_PAUSE_S = 1.0
# After closing a stream, the node gives back the jobs it had not written yet by itself; waiting for
# that first keeps the worker from failing back jobs the node was yielding anyway.
_YIELD_S = 0.2
# gRPC's own reconnection backoff grows to 2 minutes; a worker should notice its node is back sooner.
_CHANNEL_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 100), ("grpc.min_reconnect_backoff_ms", 100),
                    ("grpc.max_reconnect_backoff_ms", 5000)]


class _Backoff:
    """Reconnection delays: 0.1 s doubling to 5 s; sleeps end early when `stop` is set."""

    def __init__(self, stop, first=0.1, cap=5.0):
        self._stop, self._first, self._cap = stop, first, cap
        self.delay = first

    def sleep(self):
        self._stop.wait(self.delay)
        self.delay = min(self.delay * 2, self._cap)

    def reset(self):
        self.delay = self._first


class Worker:
    """A job worker for one type (see the module doc). run() once from one thread; stop() from any."""

    def __init__(self, server, type, handler, concurrency=4, name=None, lease_ms=0, stream=True,
                 poll_timeout_ms=10000, channel=None, grace_s=10, tls_ca=None, tls_cert=None, tls_key=None,
                 tls_server_name=None, token=None):
        if not isinstance(type, str) or not type:
            raise ValueError("Worker needs a job type (a non-empty string)")
        if not callable(handler):
            raise TypeError("Worker's handler must be callable: handler(job) -> dict")
        if not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be an integer, 1 or more, not {concurrency!r}")
        if lease_ms < 0:
            raise ValueError(f"lease_ms must be 0 (the definition's timeout) or more, not {lease_ms!r}")
        if not 0 <= poll_timeout_ms <= 600000:
            raise ValueError(f"poll_timeout_ms must be 0..600000, not {poll_timeout_ms!r}")
        if grace_s < 0:
            raise ValueError(f"grace_s must be 0 or more, not {grace_s!r}")
        if channel is None and not server:
            raise ValueError("Worker needs a server address (host:port) or a channel")
        if channel is not None and (tls_ca or tls_cert or tls_key or tls_server_name or token):
            raise ValueError("tls_* and token make the worker's own channel; with `channel`, give them to it")
        if name is not None and not name:
            raise ValueError("a worker name must not be empty (leave it out for a generated one)")
        self.type = type
        self.name = name or f"{type}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.server = server
        self.concurrency = concurrency
        self.lease_ms = int(lease_ms)
        self.stream = stream
        self.poll_timeout_ms = int(poll_timeout_ms)
        self.grace_s = grace_s
        self._handler = handler
        self._own_channel = channel is None
        self._channel = channel if channel is not None else node_channel(
            server, tls_ca=tls_ca, tls_cert=tls_cert, tls_key=tls_key, tls_server_name=tls_server_name, token=token,
            options=_CHANNEL_OPTIONS)
        self._jobs = rpc.JobsStub(self._channel)
        self._stopping = threading.Event()
        self._hurry = threading.Event()  # a second signal: give running jobs back now
        self._lock = threading.RLock()  # RLock: stop() may run in a signal handler on a thread holding it
        self._call = None  # the open stream or poll, to cancel on stop
        self._started = False
        self._outcomes = Outcomes(self._jobs, self.name, self._stopping)
        self._pool = None

    # ------------------------------------------------------------ lifecycle

    def run(self):
        """Takes and runs jobs until stop() or SIGTERM/SIGINT; returns once stopped (see the module doc)."""
        with self._lock:
            if self._started:
                raise RuntimeError("Worker.run() may be called once")
            self._started = True
        self._pool = JobPool(self.concurrency, self.concurrency if self.stream else 0, self._run_job,
                             f"treaty-worker-{self.type}")
        restore = self._install_signal_handlers()
        fetcher = threading.Thread(target=self._fetch, name=f"treaty-fetch-{self.type}", daemon=True)
        log.info("worker %s: taking jobs of type %s from %s (%s, concurrency %d)", self.name, self.type,
                 self.server or "the given channel", "stream" if self.stream else "long poll", self.concurrency)
        fetcher.start()
        try:
            while not self._stopping.wait(0.5):
                pass
        finally:
            try:
                self._shutdown(fetcher)
            finally:
                restore()

    def stop(self):
        """Asks run() to stop (gracefully, see the module doc); returns at once."""
        self._stopping.set()
        self._cancel_call()

    def _install_signal_handlers(self):
        if threading.current_thread() is not threading.main_thread():
            return lambda: None

        def on_signal(signum, frame):  # only sets events: run()'s thread does the work
            if self._stopping.is_set():
                self._hurry.set()
            self._stopping.set()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}

        def restore():
            for s, h in previous.items():
                signal.signal(s, h)
        return restore

    def _shutdown(self, fetcher):
        self._cancel_call()
        fetcher.join(timeout=10)
        if fetcher.is_alive():
            log.warning("worker %s: the fetch thread did not end within 10 s", self.name)
        queued = self._pool.drain_queued()
        for entry in queued:
            self._outcomes.give_back(entry.job, STOPPED_MESSAGE)
        self._give_back_unreceived(STOPPED_MESSAGE)
        self._pool.close()
        log.info("worker %s: stopping; waiting up to %ss for running jobs", self.name, self.grace_s)
        if not self._pool.wait_idle(self.grace_s, self._hurry):
            for entry in self._pool.abandon_running():
                log.warning("job %s: still running when the worker stopped; given back", entry.job.key)
                self._outcomes.give_back(entry.job, STOPPED_MESSAGE)
                self._pool.release(entry)
            self._pool.wait_idle(5)  # outcomes being sent when the grace ended
        if self._own_channel:
            self._channel.close()
        log.info("worker %s: stopped", self.name)

    def _set_call(self, call):
        with self._lock:
            if self._stopping.is_set():
                call.cancel()
                return False
            self._call = call
            return True

    def _clear_call(self):
        with self._lock:
            self._call = None

    def _cancel_call(self):
        with self._lock:
            call = self._call
        if call is not None:
            call.cancel()

    # ------------------------------------------------------------ taking jobs

    def _fetch(self):
        try:
            if self.stream:
                self._stream_jobs()
            else:
                self._poll_jobs()
        except Exception:
            log.exception("worker %s: taking jobs failed unexpectedly; stopping", self.name)
            self._stopping.set()

    def _stream_jobs(self):
        backoff = _Backoff(self._stopping)
        capacity = self._pool.capacity()
        # The node's flow control keeps the stream within what the worker holds; the pause below is for
        # the rest (a queued job whose lease ended counts no more at the node but is still held here).
        request = pb.StreamJobsRequest(type=self.type, worker=self.name, timeout_ms=self.lease_ms,
                                       max_active_jobs=min(capacity, 1000))
        while not self._stopping.is_set():
            # Open (again) once the local queue is empty: every slot may still be busy.
            if not self._pool.wait_until(lambda held: held <= self.concurrency, self._stopping):
                return
            call = self._jobs.StreamJobs(request)
            if not self._set_call(call):
                return
            opened = time.monotonic()
            paused = False
            try:
                for message in call:
                    backoff.reset()
                    self._accept(message)
                    if self._pool.held() < capacity:
                        continue
                    # Full. Jobs the node has written meanwhile wait unread in the transport, still leased
                    # to this worker: read on if a slot frees soon, else close the stream (the node yields
                    # what it had not written) and give back what was lost in transit.
                    if self._pool.wait_until(lambda held: held < capacity, self._stopping, timeout=_PAUSE_S):
                        continue
                    if self._stopping.is_set():
                        return
                    log.info("worker %s: %d jobs running or queued for %.0fs; closing the stream until the "
                             "queue is empty", self.name, capacity, _PAUSE_S)
                    paused = True
                    call.cancel()
                    break
                else:
                    log.warning("worker %s: the node ended the stream; opening it again", self.name)
                    backoff.sleep()
            except grpc.RpcError as e:
                if self._stopping.is_set():
                    return
                if time.monotonic() - opened > 10:
                    backoff.reset()
                log.warning("worker %s: streaming jobs from %s failed (%s: %s); retrying in %.1fs", self.name,
                            self.server, e.code().name, e.details(), backoff.delay)
                backoff.sleep()
            finally:
                self._clear_call()
            if paused:
                self._stopping.wait(_YIELD_S)
                self._give_back_unreceived(UNREAD_MESSAGE)

    def _poll_jobs(self):
        backoff = _Backoff(self._stopping)
        while not self._stopping.is_set():
            if not self._pool.wait_until(lambda held: held < self.concurrency, self._stopping):
                return
            free = self.concurrency - self._pool.held()
            request = pb.ActivateJobsRequest(type=self.type, worker=self.name, max_jobs=free,
                                             timeout_ms=self.lease_ms, request_timeout_ms=self.poll_timeout_ms)
            future = self._jobs.ActivateJobs.future(request, timeout=self.poll_timeout_ms / 1000 + 10)
            if not self._set_call(future):
                return
            try:
                response = future.result()
            except (grpc.RpcError, grpc.FutureCancelledError) as e:
                if self._stopping.is_set():
                    return
                code = e.code() if isinstance(e, grpc.RpcError) else grpc.StatusCode.CANCELLED
                details = e.details() if isinstance(e, grpc.RpcError) else "cancelled"
                log.warning("worker %s: activating jobs from %s failed (%s: %s); retrying in %.1fs", self.name,
                            self.server, code.name, details, backoff.delay)
                backoff.sleep()
                continue
            finally:
                self._clear_call()
            backoff.reset()
            for message in response.jobs:
                self._accept(message)
            if not response.jobs and self.poll_timeout_ms == 0:
                self._stopping.wait(1.0)  # no long poll: do not spin

    def _accept(self, message):
        try:
            job = Job.from_proto(message)
        except ValueError as e:
            log.error("%s; failing the job", e)
            bare = Job(key=message.key, type=message.type, instance_id=message.instance_id, step=message.step,
                       variables={}, headers={}, retries=message.retries, deadline_ms=message.deadline_ms)
            self._outcomes.fail(bare, str(e))
            return
        if not self._pool.offer(job):
            log.warning("job %s: received again while its handler runs (its lease ended: make the lease longer "
                        "than the handler takes); the running handler's outcome is sent", job.key)

    def _give_back_unreceived(self, why):
        """Gives back jobs leased to this worker's name that it never received (lost with a cancelled call)."""
        lost, token = [], ""
        try:
            while True:  # all pages first: giving jobs back moves the later ones up the (offset) pages
                response = self._jobs.SearchJobs(
                    pb.SearchJobsRequest(type=self.type, states=[pb.JOB_ACTIVATED], page_size=1000, page_token=token),
                    timeout=5)
                lost += [m for m in response.jobs if m.worker == self.name and not self._pool.holds(m.key)]
                token = response.next_page_token
                if not token:
                    break
        except grpc.RpcError as e:
            log.warning("worker %s: could not look for jobs leased to it but not received (%s: %s); the node offers "
                        "them again when their leases end", self.name, e.code().name, e.details())
        for m in lost:
            log.info("job %s: leased to this worker but never received", m.key)
            self._outcomes.give_back(Job(key=m.key, type=m.type, instance_id=m.instance_id, step=m.step, variables={},
                                         headers={}, retries=m.retries, deadline_ms=m.deadline_ms), why)

    # ------------------------------------------------------------ running jobs

    def _run_job(self, entry):
        job = entry.job
        try:
            output = self._handler(job)
        except BusinessError as e:
            if self._pool.claim_report(entry):
                self._outcomes.throw(job, e)
            return
        except BaseException as e:  # noqa: B902 - any handler failure fails the job, never the slot
            log.warning("job %s: the handler raised %s", job.key, type(e).__name__, exc_info=True)
            if self._pool.claim_report(entry):
                self._outcomes.fail(job, str(e) or type(e).__name__)
            return
        if self._pool.claim_report(entry):
            self._outcomes.complete(job, output)
        else:
            log.info("job %s: the handler returned after the job was given back; its result is dropped", job.key)
