"""`node_channel`: a gRPC channel to a Treaty node that presents what its API asks for (docs/security.md).

    node_channel(server, tls_ca=None, tls_cert=None, tls_key=None, tls_server_name=None, token=None, options=())

The same choices as the `treaty` CLI's flags of the same names:
- tls_ca: a PEM file; the channel uses TLS and checks the node's certificate against it. Any tls_* argument
  means TLS; without tls_ca the system's roots check the node. $TREATY_TLS_CA is the default.
- tls_cert, tls_key: PEM files of a client certificate and its key (mutual TLS); both or neither.
- tls_server_name: the name checked in the node's certificate instead of the address's host.
- token: a bearer token sent as `authorization: Bearer <token>` with every call (an interceptor on the channel,
  so it goes over a plaintext loopback channel too, where gRPC's call credentials would not be sent);
  $TREATY_TOKEN is the default. A token may also be given as a file: `token=read_token_file(path)`.

A file that cannot be read raises OSError naming it; tls_cert without tls_key (or the reverse) ValueError.

Thread-safety: node_channel is a pure function; the channel is gRPC's, safe from any thread.
"""
import collections
import os

import grpc


class _CallDetails(collections.namedtuple("_CallDetails", ("method", "timeout", "metadata", "credentials",
                                                            "wait_for_ready", "compression")),
                   grpc.ClientCallDetails):
    pass


class _BearerToken(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                   grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds the token to every call's metadata."""

    def __init__(self, token):
        self._header = ("authorization", "Bearer " + token)

    def _with_token(self, d):
        metadata = list(d.metadata or []) + [self._header]
        return _CallDetails(d.method, d.timeout, metadata, d.credentials, getattr(d, "wait_for_ready", None),
                            getattr(d, "compression", None))

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._with_token(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._with_token(details), request)

    def intercept_stream_unary(self, continuation, details, request_iterator):
        return continuation(self._with_token(details), request_iterator)

    def intercept_stream_stream(self, continuation, details, request_iterator):
        return continuation(self._with_token(details), request_iterator)


def _read(path, what):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise OSError(f"{what} {path}: cannot read the file ({e.strerror})") from e


def read_token_file(path):
    """The first line of a token file, stripped (as `treaty --token-file`); ValueError when it holds none."""
    first = _read(path, "token file").decode("utf-8", "replace").split("\n", 1)[0].strip()
    if not first:
        raise ValueError(f"token file {path}: the first line holds no token")
    return first


def node_channel(server, tls_ca=None, tls_cert=None, tls_key=None, tls_server_name=None, token=None, options=()):
    """A channel to the node at `server` ("host:port"); see the module doc."""
    if tls_ca is None:
        tls_ca = os.environ.get("TREATY_TLS_CA") or None
    if token is None:
        token = os.environ.get("TREATY_TOKEN") or None
    if bool(tls_cert) != bool(tls_key):
        raise ValueError("tls_cert and tls_key go together (the client certificate and its key)")
    options = list(options)
    if tls_ca or tls_cert or tls_server_name:
        creds = grpc.ssl_channel_credentials(
            root_certificates=_read(tls_ca, "tls_ca") if tls_ca else None,
            private_key=_read(tls_key, "tls_key") if tls_key else None,
            certificate_chain=_read(tls_cert, "tls_cert") if tls_cert else None)
        if tls_server_name:
            options.append(("grpc.ssl_target_name_override", tls_server_name))
        channel = grpc.secure_channel(server, creds, options=options)
    else:
        channel = grpc.insecure_channel(server, options=options)
    if token:
        channel = grpc.intercept_channel(channel, _BearerToken(token))
    return channel
