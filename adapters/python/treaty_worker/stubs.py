"""Where the worker gets Treaty's generated gRPC stubs (treaty.v1).

The stubs are not checked in: the build generates them from
proto/treaty/v1/treaty.proto into <repo>/build/python (target
treaty_proto_python). TREATY_PYTHON_STUBS names another directory holding
the `treaty` package. Importing this module puts that directory on sys.path
once and exposes the messages as `pb` and the service stubs as `rpc`.

Thread-safety: import-time only; `pb` and `rpc` are modules, safe to share.
"""
import importlib.util
import os
import sys

_REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def stubs_dir():
    """The directory searched for the `treaty` package: TREATY_PYTHON_STUBS, else <repo>/build/python."""
    return os.environ.get("TREATY_PYTHON_STUBS") or os.path.join(_REPO, "build", "python")


def _load():
    missing = [m for m in ("grpc", "google.protobuf") if importlib.util.find_spec(m.split(".")[0]) is None]
    if missing:
        raise ImportError(
            f"treaty_worker needs {', '.join(missing)}: run it with Debian's /usr/bin/python3 "
            "(packages python3-grpcio and python3-protobuf)")
    where = stubs_dir()
    if not os.path.isfile(os.path.join(where, "treaty", "v1", "treaty_pb2_grpc.py")):
        raise ImportError(
            f"Treaty's Python stubs are not in {where} (no treaty/v1/treaty_pb2_grpc.py): build them with "
            "`cmake --build build --target treaty_proto_python` or set TREATY_PYTHON_STUBS to their directory")
    if where not in sys.path:
        sys.path.insert(0, where)
    from treaty.v1 import treaty_pb2, treaty_pb2_grpc
    return treaty_pb2, treaty_pb2_grpc


pb, rpc = _load()
