"""Sends a job's outcome to the node: CompleteJob, FailJob, ThrowError, or giving it back.

`Outcomes(jobs_stub, worker_name)` maps what a handler did to the Jobs API
(docs/worker-python.md, "Outcomes"):
- a returned dict (None for {}) -> CompleteJob with it as output_json; the
  node refusing the output (INVALID_ARGUMENT: it fails the step's input
  schema) or the step (FAILED_PRECONDITION while the job is still leased to
  this worker: a guard) fails the job like an exception would, so it does
  not sit activated until its lease ends;
- BusinessError -> ThrowError with its code, message and variables;
- any other exception -> FailJob with retries = job.retries - 1 (never
  below 0; at 0 the node raises an incident) and the exception's text;
- `give_back` -> the job is made activatable again at once without using a
  retry: FailJob with the retries unchanged and backoff_ms 0; a job with 0
  retries left gets a 1 ms lease instead (UpdateJobTimeout), since FailJob
  with 0 retries would raise an incident.

Calls are idempotent at the node (by job key), so one that fails for want
of the node (UNAVAILABLE, DEADLINE_EXCEEDED) is repeated with backoff until
the job's lease ends (for about 0.7 s once the worker is stopping, so a
stop with the node gone does not take minutes); any other refusal (NOT_FOUND, FAILED_PRECONDITION:
the job was cancelled or closed meanwhile) is logged and dropped.

Thread-safety: stateless apart from the stub (gRPC stubs are thread-safe);
call from any thread.
"""
import json
import logging
import time

import grpc

from .pool import now_ms
from .stubs import pb

log = logging.getLogger("treaty_worker")

_TRANSIENT = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED)
_MAX_MESSAGE = 4000  # error messages are for people; a whole traceback belongs in the worker's log
_CALL_TIMEOUT_S = 35  # CompleteJob and ThrowError wait for the step (the node's default wait is 30 s)


class Outcomes:
    """Reports handler outcomes for one worker (see the module doc). Thread-safe: no mutable state."""

    def __init__(self, jobs_stub, worker_name, stopping):
        self._jobs = jobs_stub
        self._name = worker_name
        self._stopping = stopping  # an Event: while stopping, transient failures are not retried for long

    def complete(self, job, output):
        if output is None:
            output = {}
        if not isinstance(output, dict):
            return self.fail(job, f"the handler returned {type(output).__name__}, not a dict (the step's input)")
        try:
            text = json.dumps(output)
        except (TypeError, ValueError) as e:
            return self.fail(job, f"the handler's output is not JSON: {e}")
        try:
            r = self._call(job, "CompleteJob", pb.CompleteJobRequest(key=job.key, output_json=text), _CALL_TIMEOUT_S)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.INVALID_ARGUMENT:
                return self.fail(job, f"the node refused the handler's output: {e.details()}")
            if e.code() == grpc.StatusCode.FAILED_PRECONDITION and self._still_leased(job):
                # The step was refused before it was proposed (a guard): fail the job rather than
                # leave it activated until its lease ends.
                return self.fail(job, f"the node refused the job's step: {e.details()}")
            return self._refused(job, "CompleteJob", e)
        if r is None:
            return
        if r.outcome == pb.REJECTED:
            log.warning("job %s: completed, but the node rejected its step (an incident is raised): %s",
                        job.key, r.job.error_message or pb.Outcome.Name(r.outcome))
        else:
            log.info("job %s: completed (%s)", job.key, pb.Outcome.Name(r.outcome))

    def fail(self, job, message, backoff_ms=None):
        retries = max(job.retries - 1, 0)
        req = pb.FailJobRequest(key=job.key, retries=retries, error_message=message[:_MAX_MESSAGE])
        if backoff_ms is not None:
            req.backoff_ms = backoff_ms
        try:
            r = self._call(job, "FailJob", req, 10)
        except grpc.RpcError as e:
            return self._refused(job, "FailJob", e)
        if r is not None:
            log.info("job %s: failed (%d retries left%s): %s", job.key, retries,
                     ", incident raised" if retries == 0 else "", message[:200])

    def throw(self, job, error):
        req = pb.ThrowErrorRequest(key=job.key, error_code=error.code, error_message=error.message[:_MAX_MESSAGE],
                                   variables_json=json.dumps(error.variables or {}))
        try:
            r = self._call(job, "ThrowError", req, _CALL_TIMEOUT_S)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.INVALID_ARGUMENT:
                return self.fail(job, f"the node refused business error {error.code}: {e.details()}")
            return self._refused(job, "ThrowError", e)
        if r is None:
            return
        if r.step:
            log.info("job %s: business error %s -> step %s (%s)", job.key, error.code, r.step,
                     pb.Outcome.Name(r.outcome))
        else:
            log.warning("job %s: business error %s maps to no step; incident %s raised", job.key, error.code,
                        r.incident.incident_id)

    def give_back(self, job, message):
        """Activatable again at once, its retries unchanged (the worker stops or cannot take it)."""
        if job.retries > 0:
            method, req = "FailJob", pb.FailJobRequest(key=job.key, retries=job.retries, error_message=message,
                                                       backoff_ms=0)
        else:
            method, req = "UpdateJobTimeout", pb.UpdateJobTimeoutRequest(key=job.key, timeout_ms=1)
        try:
            r = self._call(job, method, req, 5)
        except grpc.RpcError as e:
            return self._refused(job, method + " (giving it back)", e)
        if r is not None:
            log.info("job %s: given back (%s)", job.key, message)

    def _still_leased(self, job):
        """Whether the job is still activated for this worker (not cancelled, closed or in an incident)."""
        try:
            now = self._jobs.GetJob(pb.GetJobRequest(key=job.key), timeout=10)
        except grpc.RpcError:
            return False
        return now.state == pb.JOB_ACTIVATED and now.worker == self._name

    def _call(self, job, method, request, timeout_s):
        """The call's response, repeated while the node is unreachable and the lease lasts; None if given up."""
        delay = 0.1
        while True:
            try:
                return getattr(self._jobs, method)(request, timeout=timeout_s)
            except grpc.RpcError as e:
                if e.code() not in _TRANSIENT:
                    raise
                left_ms = job.deadline_ms - now_ms() if job.deadline_ms else 0
                if left_ms <= delay * 1000 or (self._stopping.is_set() and delay > 0.5):  # ~0.7 s when stopping
                    log.error("job %s: %s failed (%s: %s) and the lease is over or the worker is stopping; "
                              "giving up (the node offers the job again when its lease ends)",
                              job.key, method, e.code().name, e.details())
                    return None
                log.warning("job %s: %s failed (%s: %s); retrying in %.1fs", job.key, method, e.code().name,
                            e.details(), delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _refused(self, job, method, e):
        log.warning("job %s: %s refused by the node (%s: %s); dropped", job.key, method, e.code().name, e.details())
