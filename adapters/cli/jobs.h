// The `treaty` commands for jobs (steps done by machines) and their
// incidents, clients of the Jobs service of proto/treaty/v1/treaty.proto:
//
//   jobs [--type T] [--state S]... [--instance I] [--definition D] [--limit N]
//   job show|activate|complete|fail|throw|retries|timeout ...
//   incidents [--type T] [--instance I] [--limit N]
//   incident resolve ID
//
// Each returns the process's exit code: 0, 1 after a failed call (its
// status and message on stderr), 2 after a usage error.
// Thread-safety: single-threaded, like the rest of the CLI.
#pragma once

#include "cli_support.h"
#include "treaty/v1/treaty.grpc.pb.h"

namespace treaty::cli {

int JobsCommand(::treaty::v1::Jobs::Stub* jobs, const Args& a);
int JobCommand(::treaty::v1::Jobs::Stub* jobs, const Args& a);
int IncidentsCommand(::treaty::v1::Jobs::Stub* jobs, const Args& a);
int IncidentCommand(::treaty::v1::Jobs::Stub* jobs, const Args& a);

}  // namespace treaty::cli
