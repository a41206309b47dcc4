"""What a handler gets and what it may raise: `Job` and `BusinessError`.

A `Job` is one activated job as the node handed it to this worker: its key
("<instance>:<position>:<step>"), type, instance, step, the instance data
this party may see (`variables`, parsed from JSON), the definition's job
headers, the retries left and the lease's end (`deadline_ms`, node time in
ms since the epoch). A handler returns a dict (the step's input), raises
`BusinessError` for an outcome the definition maps to another step (its
`errors:`), or raises anything else to fail the job (docs/worker-python.md).

Thread-safety: a Job is immutable after construction (its dicts are copies
made for the handler; mutating them changes nothing at the node) and may be
read from any thread. BusinessError is an ordinary exception.
"""
import json


class BusinessError(Exception):
    """A business outcome, not a fault: the worker calls ThrowError with `code`.

    The node proposes the step the definition's `errors:` maps `code` to, with
    `variables` (a dict, or None for {}) as its input; an unmapped code raises
    an incident. `message` is recorded with the job.
    """

    def __init__(self, code, message="", variables=None):
        if not isinstance(code, str) or not code:
            raise ValueError("BusinessError needs a non-empty error code (a string)")
        if variables is not None and not isinstance(variables, dict):
            raise TypeError(f"BusinessError variables must be a dict or None, not {type(variables).__name__}")
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.variables = variables


class Job:
    """One activated job (see the module docstring for the fields)."""

    __slots__ = ("key", "type", "instance_id", "definition", "version", "step", "variables", "headers",
                 "retries", "deadline_ms", "worker")

    def __init__(self, key, type, instance_id, step, variables, headers, retries, deadline_ms,
                 definition="", version=0, worker=""):
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "instance_id", instance_id)
        object.__setattr__(self, "definition", definition)
        object.__setattr__(self, "version", version)
        object.__setattr__(self, "step", step)
        object.__setattr__(self, "variables", variables)
        object.__setattr__(self, "headers", headers)
        object.__setattr__(self, "retries", retries)
        object.__setattr__(self, "deadline_ms", deadline_ms)
        object.__setattr__(self, "worker", worker)

    def __setattr__(self, name, value):
        raise AttributeError("a Job is read-only")

    @classmethod
    def from_proto(cls, message):
        """A Job from a treaty.v1.Job. Variables that are not a JSON object raise ValueError."""
        text = message.variables_json or "{}"
        try:
            variables = json.loads(text)
        except ValueError as e:
            raise ValueError(f"job {message.key}: variables_json is not JSON: {e}") from e
        if not isinstance(variables, dict):
            raise ValueError(f"job {message.key}: variables_json is not a JSON object")
        return cls(key=message.key, type=message.type, instance_id=message.instance_id, step=message.step,
                   variables=variables, headers=dict(message.headers), retries=message.retries,
                   deadline_ms=message.deadline_ms, definition=message.definition, version=message.version,
                   worker=message.worker)

    def __repr__(self):
        return f"Job(key={self.key!r}, type={self.type!r}, step={self.step!r}, retries={self.retries})"
