#!/usr/bin/python3
"""Drives a purchase order through a Treaty node over gRPC.

Run with Debian's Python (which has grpcio) against a running treatyd:

    /usr/bin/python3 examples/purchase-order/client.py --server 127.0.0.1:7420

The stubs are generated from proto/ at build time into build/python.
"""
import argparse
import json
import os
import sys
import threading
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "build", "python"))

import grpc  # noqa: E402
from treaty.v1 import treaty_pb2 as pb  # noqa: E402
from treaty.v1 import treaty_pb2_grpc as rpc  # noqa: E402


def step(processes, instance, name, payload=None, key=None):
    return processes.TriggerStep(pb.TriggerStepRequest(
        instance_id=instance, step=name, input_json=json.dumps(payload or {}),
        idempotency_key=key or ""))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default="127.0.0.1:7420")
    args = ap.parse_args()
    channel = grpc.insecure_channel(args.server)
    processes = rpc.ProcessesStub(channel)
    suffix = uuid.uuid4().hex[:8]

    # 1. An order from submission to payment.
    order = "py-" + suffix
    processes.StartProcess(pb.StartProcessRequest(definition="purchase-order", instance_id=order))
    items = [{"sku": "BOLT-M8", "qty": 100}]
    r = step(processes, order, "submit", {"po_number": "PO-" + suffix, "items": items, "total": 400},
             key="submit-" + order)
    print(f"submit: {pb.Outcome.Name(r.outcome)}, now {list(r.instance.states)}")
    again = step(processes, order, "submit", {"po_number": "PO-" + suffix, "items": items, "total": 400},
                 key="submit-" + order)
    print(f"retry with the same key returns the same proposal: {again.proposal_id == r.proposal_id}")
    step(processes, order, "accept")
    try:
        step(processes, order, "pay", {"amount": 399})
    except grpc.RpcError as e:
        print(f"pay 399: {e.code().name}: {e.details()}")
    r = step(processes, order, "pay", {"amount": 400})
    print(f"pay 400: {pb.Outcome.Name(r.outcome)}, final={r.instance.final}")
    for h in processes.GetHistory(pb.GetHistoryRequest(instance_id=order)).entries:
        print(f"  {h.seq:>2} {h.step:<8} {pb.Outcome.Name(h.outcome):<10} height {h.ledger_height}")

    # 2. Accept and cancel race: exactly one wins.
    race = "py-race-" + suffix
    processes.StartProcess(pb.StartProcessRequest(definition="purchase-order", instance_id=race))
    step(processes, race, "submit", {"po_number": "R-" + suffix, "items": items, "total": 10})
    results = {}

    def attempt(name):
        try:
            step(processes, race, name)
            results[name] = "CONFIRMED"
        except grpc.RpcError as e:
            results[name] = f"{e.code().name}: {e.details()}"

    threads = [threading.Thread(target=attempt, args=(n,)) for n in ("accept", "cancel")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name, outcome in sorted(results.items()):
        print(f"race {name}: {outcome}")
    winners = [n for n, o in results.items() if o == "CONFIRMED"]
    assert len(winners) == 1, results
    return 0


if __name__ == "__main__":
    sys.exit(main())
