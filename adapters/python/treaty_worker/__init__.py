"""Treaty job workers in Python (issue #17): `Worker`, `Job`, `BusinessError`.

    import sys; sys.path.insert(0, "<repo>/adapters/python")
    from treaty_worker import Worker, BusinessError

    def check(job):
        if job.variables["amount"] > 10**6:
            raise BusinessError("DECLINED", "over the limit")
        return {"score": 700}

    Worker("127.0.0.1:7420", "credit-check", check, concurrency=4).run()
    # a TLS node with bearer tokens (docs/security.md):
    Worker("node.example:7420", "credit-check", check, tls_ca="ca.pem", token=os.environ["TREATY_TOKEN"]).run()

A client of the node's public gRPC API only (service Jobs); the generated
stubs come from the build (stubs.py). See docs/worker-python.md.

Thread-safety: see each module; the package itself holds no state.
"""
from .stubs import stubs_dir  # first: it says what is missing (grpcio, the stubs) before anything needs it
from .channel import node_channel, read_token_file  # noqa: E402
from .job import BusinessError, Job  # noqa: E402
from .worker import Worker  # noqa: E402

__all__ = ["BusinessError", "Job", "Worker", "node_channel", "read_token_file", "stubs_dir"]
