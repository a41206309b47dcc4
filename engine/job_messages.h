// How the Jobs service speaks of jobs (proto/treaty/v1/treaty.proto): job
// rows as API messages, their states, and the checks of names and leases
// the activation calls share (jobs_service.cc, job_stream.cc), and the
// checks of what a worker sends back.
//
// Thread-safety: pure functions; FillJob reads through the Node, which is
// thread-safe.
#pragma once

#include <optional>
#include <string>

#include "engine/node.h"
#include "treaty/v1/treaty.pb.h"

namespace treaty::engine::service {

::treaty::v1::JobState JobStateToPb(JobState s);
std::optional<JobState> JobStateFromPb(int s);

// The job as a message: its definition's headers always; with `variables`
// the instance's data as this party sees it (a read of the store).
void FillJob(Node* node, const JobRow& j, ::treaty::v1::Job* out, bool variables);
// A job in state incident as its incident.
void FillIncident(const JobRow& j, ::treaty::v1::Incident* out);

// A type, worker or error code: present and at most 256 bytes.
Status CheckName(const std::string& v, const char* what);
// A lease asked for: 0 (the definition's) up to JobBook::kMaxLeaseMs.
Status CheckLease(int64_t ms);
// A worker's error message: at most 16 KiB (a stack trace fits).
Status CheckMessage(const std::string& m);
// A JSON object (empty text: {}), or INVALID_ARGUMENT naming the field.
Result<Value> ObjectOf(const std::string& text, const char* field);
// The step of the job's definition, as loaded here; null if it is not.
const defs::StepSpec* StepOf(Node* node, const JobRow& j, const std::string& step);
// The job's definition or step is not loaded here.
Status NotLoaded(const JobRow& j, const std::string& step);
// Whether a job may be completed or throw now (no open incident) with this
// wait_for.
Status MayFinish(const JobRow& j, int wait_for);

}  // namespace treaty::engine::service
