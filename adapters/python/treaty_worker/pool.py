"""The worker's slots: a bounded local queue of received jobs and the threads running them.

`JobPool(size, queue_size, run)` holds every job the worker has received and
not yet finished with ("held"): at most `size` run at once on the pool's own
threads, the others wait in the local queue in the order received. The
fetcher asks `held()` / `wait_until()` before taking more, so the pool never
holds more than `size + queue_size` jobs. A queued job whose lease has ended
before a slot freed is not run: the node offers it again (to this worker or
another), and running it would race the new holder.

Each held job has an entry whose state moves QUEUED -> RUNNING -> REPORTING
(the handler returned; its outcome is being sent) or RUNNING -> ABANDONED
(the worker stopped and gave the job back while the handler still ran; its
result, when it comes, is dropped). `claim_report` and `abandon_running`
decide that race under the pool's lock.

Threads are daemons: a handler that never returns cannot keep the process
alive after the worker has given its job back.

Thread-safety: every method may be called from any thread; the state is
guarded by one condition variable.
"""
import collections
import logging
import threading
import time

log = logging.getLogger("treaty_worker")

QUEUED, RUNNING, REPORTING, ABANDONED = "queued", "running", "reporting", "abandoned"


def now_ms():
    return int(time.time() * 1000)


class Entry:
    """A held job and where it is (QUEUED, RUNNING, REPORTING, ABANDONED); read and changed only under the
    pool's lock (the job itself is immutable)."""

    __slots__ = ("job", "state")

    def __init__(self, job):
        self.job = job
        self.state = QUEUED


class JobPool:
    """`size` threads running held jobs, `queue_size` more waiting (see the module doc). Thread-safe."""

    def __init__(self, size, queue_size, run, name):
        if size < 1:
            raise ValueError("concurrency must be 1 or more")
        self.size = size
        self.queue_size = queue_size
        self._run = run  # run(entry) on a pool thread
        self._cond = threading.Condition()
        self._queue = collections.deque()
        self._held = {}  # key -> Entry
        self._finished = collections.OrderedDict()  # recently finished keys, for reconciliation
        self._closed = False
        self._running = 0
        self._threads = [threading.Thread(target=self._loop, name=f"{name}-{i}", daemon=True) for i in range(size)]
        for t in self._threads:
            t.start()

    def held(self):
        with self._cond:
            return len(self._held)

    def holds(self, key):
        """Whether the job is held now or was finished by this pool recently."""
        with self._cond:
            return key in self._held or key in self._finished

    def capacity(self):
        return self.size + self.queue_size

    def wait_until(self, predicate, stop, timeout=None):
        """Waits until predicate(held) is true or `stop` (an Event) is set; returns predicate's last value."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not predicate(len(self._held)) and not stop.is_set():
                left = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
                if left <= 0:
                    break
                self._cond.wait(left)  # short waits: `stop` is an Event, not this condition
            return predicate(len(self._held))

    def offer(self, job):
        """Takes a received job. A job held already is activated anew (its lease ended and the node gave it
        to this worker again): a queued one takes the new lease; a running one is left running (its outcome
        is the job's), and False is returned."""
        with self._cond:
            if self._closed:
                raise RuntimeError("the pool is closed")
            held = self._held.get(job.key)
            if held is not None:
                if held.state != QUEUED:
                    return False
                held.job = job
                return True
            entry = Entry(job)
            self._held[job.key] = entry
            self._queue.append(entry)
            self._cond.notify_all()
            return True

    def claim_report(self, entry):
        """The handler returned: True if its outcome may be sent (the job was not given back meanwhile)."""
        with self._cond:
            if entry.state != RUNNING:
                return False
            entry.state = REPORTING
            return True

    def abandon_running(self):
        """Marks every running job ABANDONED (the worker gives them back) and returns them."""
        with self._cond:
            out = [e for e in self._held.values() if e.state == RUNNING]
            for e in out:
                e.state = ABANDONED
            return out

    def drain_queued(self):
        """Removes the jobs not started yet and returns them (the worker gives them back)."""
        with self._cond:
            out = list(self._queue)
            self._queue.clear()
            for e in out:
                self._forget(e)
            self._cond.notify_all()
            return out

    def release(self, entry):
        """The worker is done with an entry it took out of the pool (abandoned or drained)."""
        with self._cond:
            self._forget(entry)
            self._cond.notify_all()

    def wait_idle(self, timeout, hurry=None):
        """Waits until no job is running or reporting; False at the timeout or when `hurry` is set."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while any(e.state in (RUNNING, REPORTING) for e in self._held.values()):
                left = deadline - time.monotonic()
                if left <= 0 or (hurry is not None and hurry.is_set()):
                    return False
                self._cond.wait(min(left, 0.2))
            return True

    def close(self):
        """Pool threads exit once their current job is over; nothing more can be offered."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _forget(self, entry):
        if self._held.get(entry.job.key) is entry:
            del self._held[entry.job.key]
            self._finished[entry.job.key] = True
            while len(self._finished) > 4096:
                self._finished.popitem(last=False)

    def _loop(self):
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                entry = self._queue.popleft()
                if entry.job.deadline_ms and now_ms() >= entry.job.deadline_ms:
                    log.warning("job %s: its lease ended while it waited for a slot; not run (the node offers it "
                                "again)", entry.job.key)
                    self._forget(entry)
                    self._cond.notify_all()
                    continue
                entry.state = RUNNING
            try:
                self._run(entry)
            except Exception:  # the runner reports its own errors; this keeps the slot alive
                log.exception("job %s: unexpected error in the worker", entry.job.key)
            finally:
                with self._cond:
                    if entry.state != ABANDONED:
                        self._forget(entry)
                    self._cond.notify_all()
