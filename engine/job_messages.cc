#include "engine/job_messages.h"

namespace treaty::engine::service {

namespace pb = ::treaty::v1;

pb::JobState JobStateToPb(JobState s) {
  switch (s) {
    case JobState::kActivatable: return pb::JOB_ACTIVATABLE;
    case JobState::kActivated: return pb::JOB_ACTIVATED;
    case JobState::kFailed: return pb::JOB_FAILED;
    case JobState::kIncident: return pb::JOB_INCIDENT;
    case JobState::kCompleted: return pb::JOB_COMPLETED;
    case JobState::kErrorThrown: return pb::JOB_ERROR_THROWN;
    case JobState::kCancelled: return pb::JOB_CANCELLED;
  }
  return pb::JOB_STATE_UNSPECIFIED;
}

std::optional<JobState> JobStateFromPb(int s) {
  switch (s) {
    case pb::JOB_ACTIVATABLE: return JobState::kActivatable;
    case pb::JOB_ACTIVATED: return JobState::kActivated;
    case pb::JOB_FAILED: return JobState::kFailed;
    case pb::JOB_INCIDENT: return JobState::kIncident;
    case pb::JOB_COMPLETED: return JobState::kCompleted;
    case pb::JOB_ERROR_THROWN: return JobState::kErrorThrown;
    case pb::JOB_CANCELLED: return JobState::kCancelled;
    default: return std::nullopt;
  }
}

Status CheckName(const std::string& v, const char* what) {
  if (v.empty()) return Status::InvalidArgument(std::string(what) + " is required");
  if (v.size() > 256) return Status::InvalidArgument(std::string(what) + " is at most 256 bytes");
  return Status::Ok();
}

Status CheckLease(int64_t ms) {
  if (ms < 0 || ms > JobBook::kMaxLeaseMs)
    return Status::InvalidArgument("timeout_ms must be from 0 (the definition's) to " +
                                   std::to_string(JobBook::kMaxLeaseMs) + ", not " + std::to_string(ms));
  return Status::Ok();
}

void FillJob(Node* node, const JobRow& j, pb::Job* out, bool variables) {
  out->set_key(j.id);
  out->set_type(j.type);
  out->set_instance_id(j.instance);
  out->set_definition(j.definition);
  out->set_version(j.version);
  out->set_step(j.step);
  out->set_state(JobStateToPb(j.state));
  out->set_retries(static_cast<int32_t>(j.retries));
  out->set_worker(j.worker);
  out->set_deadline_ms(j.deadline_ms);
  out->set_retry_at_ms(j.retry_at_ms);
  out->set_error_message(j.error_message);
  out->set_error_code(j.error_code);
  if (j.state == JobState::kIncident) out->set_incident_id(j.IncidentId());
  out->set_position(static_cast<uint64_t>(j.position));
  out->set_created_ms(j.created_ms);
  out->set_created_height(static_cast<uint64_t>(j.created_height));
  out->set_closed_ms(j.closed_ms);
  out->set_closed_height(static_cast<uint64_t>(j.closed_height));
  out->set_close_reason(j.close_reason);
  out->set_closed_by(j.closed_by);
  out->set_updated_ms(j.updated_ms);
  out->set_failures(static_cast<int32_t>(j.failures));
  out->set_opened_ms(j.opened_ms);
  if (const defs::TaskSpec* spec = node->jobs()->SpecOf(j)) {
    for (const auto& [k, v] : spec->job_headers) (*out->mutable_headers())[k] = v;
  }
  if (!variables) return;
  auto inst = node->GetInstance(j.instance);
  out->set_variables_json(inst.ok() && *inst ? (*inst)->data_json : "{}");
}

void FillIncident(const JobRow& j, pb::Incident* out) {
  out->set_incident_id(j.IncidentId());
  out->set_job_key(j.id);
  out->set_type(j.type);
  out->set_instance_id(j.instance);
  out->set_definition(j.definition);
  out->set_step(j.step);
  out->set_kind(j.incident_kind);
  out->set_message(j.incident_message);
  out->set_raised_ms(j.incident_ms);
  out->set_retries(static_cast<int32_t>(j.retries));
}

// The longest error message a worker may send.
constexpr size_t kMaxMessage = 16 * 1024;

Status CheckMessage(const std::string& m) {
  if (m.size() > kMaxMessage)
    return Status::InvalidArgument("error_message is " + std::to_string(m.size()) + " bytes; at most " +
                                   std::to_string(kMaxMessage));
  return Status::Ok();
}

Result<Value> ObjectOf(const std::string& text, const char* field) {
  Result<Value> v = Value::FromJson(text.empty() ? "{}" : text);
  if (!v.ok()) return Status::InvalidArgument(std::string(field) + ": " + v.status().message());
  if (!v->is_object()) return Status::InvalidArgument(std::string(field) + " must be a JSON object");
  return v;
}

const defs::StepSpec* StepOf(Node* node, const JobRow& j, const std::string& step) {
  auto def = node->registry()->Find(j.definition, j.version);
  return def ? def->model().FindStep(step) : nullptr;
}

Status NotLoaded(const JobRow& j, const std::string& step) {
  return Status::FailedPrecondition("definition " + j.definition + " v" + std::to_string(j.version) + " with step '" +
                                    step + "' is not loaded on this node");
}

Status MayFinish(const JobRow& j, int wait_for) {
  if (j.state == JobState::kIncident)
    return Status::FailedPrecondition("job '" + j.id + "' has an open incident '" + j.IncidentId() + "' (" +
                                      j.incident_message + "); resolve it first");
  if (wait_for != pb::WAIT_CONFIRMED_HERE && wait_for != pb::WAIT_ATTESTED_BY_ALL)
    return Status::InvalidArgument("unknown wait_for " + std::to_string(wait_for));
  return Status::Ok();
}

}  // namespace treaty::engine::service
