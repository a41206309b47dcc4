#include "jobs.h"

#include <cctype>
#include <climits>
#include <ctime>
#include <iostream>
#include <optional>
#include <string>

namespace treaty::cli {

namespace {

namespace pb = ::treaty::v1;

// A job's state as the --state flag spells it: activatable, error_thrown, ...
std::string JobStateText(pb::JobState s) {
  if (s == pb::JOB_STATE_UNSPECIFIED) return "?";
  std::string name = pb::JobState_Name(s).substr(4);  // without "JOB_"
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

// Node time (ms since the epoch) as UTC, to the millisecond; "-" for none.
std::string TimeText(int64_t ms) {
  if (ms <= 0) return "-";
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

// The number `text` must be, for `what` (a flag or argument name); nothing,
// after a usage message whose exit code goes to *code, when it is not one.
std::optional<int64_t> Number(const std::string& text, const std::string& what, int64_t lo, int64_t hi, int* code) {
  auto v = ParseInt(text);
  if (!v) {
    *code = Usage(what + " takes a whole number, not '" + text + "'");
    return std::nullopt;
  }
  if (*v < lo || *v > hi) {
    *code = Usage(what + " takes a number from " + std::to_string(lo) + " to " + std::to_string(hi) + ", not " +
                  text);
    return std::nullopt;
  }
  return v;
}

// When an activated job's lease ends, or a failed job is activatable again.
std::string DueText(const pb::Job& j) {
  if (j.state() == pb::JOB_ACTIVATED) return "until " + TimeText(j.deadline_ms());
  if (j.state() == pb::JOB_FAILED) return "retry " + TimeText(j.retry_at_ms());
  return "-";
}

std::string HeadersText(const pb::Job& j) {
  std::string out;
  for (const auto& [k, v] : j.headers()) out += (out.empty() ? "" : ", ") + k + "=" + v;
  return out;
}

void PrintJobRow(const pb::Job& j) {
  if (g_json) {
    std::cout << ToJson(j) << "\n";
    return;
  }
  std::cout << Pad(j.key() + " ", 36) << Pad(j.type() + " ", 16) << Pad(JobStateText(j.state()) + " ", 13)
            << Pad(std::to_string(j.retries()), 8) << Pad((j.worker().empty() ? "-" : j.worker()) + " ", 14)
            << Pad(DueText(j) + " ", 32) << (j.incident_id().empty() ? "-" : j.incident_id()) << "\n";
}

void PrintJob(const pb::Job& j) {
  if (g_json) {
    std::cout << ToJson(j) << "\n";
    return;
  }
  std::cout << "job        " << j.key() << "\n"
            << "type       " << j.type() << "\n"
            << "instance   " << j.instance_id() << " (" << j.definition() << " v" << j.version() << ")\n"
            << "step       " << j.step() << "\n"
            << "state      " << JobStateText(j.state()) << (j.close_reason().empty() ? "" : ": " + j.close_reason())
            << "\n"
            << "retries    " << j.retries() << " left, " << j.failures() << " failure(s)\n"
            << "worker     " << (j.worker().empty() ? "-" : j.worker()) << "\n";
  if (j.state() == pb::JOB_ACTIVATED) std::cout << "lease      until " << TimeText(j.deadline_ms()) << "\n";
  if (j.state() == pb::JOB_FAILED) std::cout << "retry at   " << TimeText(j.retry_at_ms()) << "\n";
  if (!j.incident_id().empty()) std::cout << "incident   " << j.incident_id() << "\n";
  if (!j.error_code().empty() || !j.error_message().empty())
    std::cout << "error      " << (j.error_code().empty() ? "" : j.error_code() + ": ") << j.error_message() << "\n";
  std::cout << "created    " << TimeText(j.created_ms()) << " (ledger time), ledger height " << j.created_height()
            << ", position " << j.position() << "\n";
  if (j.opened_ms() > 0) std::cout << "opened     " << TimeText(j.opened_ms()) << " (node time)\n";
  if (j.closed_height() > 0)
    std::cout << "closed     " << TimeText(j.closed_ms()) << ", ledger height " << j.closed_height()
              << (j.closed_by().empty() ? "" : " by " + j.closed_by()) << "\n";
  std::cout << "headers    " << (j.headers().empty() ? "-" : HeadersText(j)) << "\n"
            << "variables  " << (j.variables_json().empty() ? "-" : j.variables_json()) << "\n";
}

void PrintIncidentRow(const pb::Incident& i) {
  if (g_json) {
    std::cout << ToJson(i) << "\n";
    return;
  }
  std::cout << Pad(i.incident_id() + " ", 40) << Pad(i.type() + " ", 16) << Pad(i.kind() + " ", 16)
            << Pad(std::to_string(i.retries()), 8) << Pad(TimeText(i.raised_ms()) + " ", 26) << i.message() << "\n";
}

// The step a completion or thrown error proposed, and where it left the
// instance, in the words of `treaty step`.
void PrintProposal(const std::string& step, pb::Outcome outcome, uint64_t height, const std::string& proposal,
                   const pb::Instance& instance) {
  std::cout << step << " " << OutcomeName(outcome);
  if (outcome == pb::CONFIRMED)
    std::cout << " at ledger height " << height << ": " << instance.instance_id() << " is now "
              << Join(instance.states());
  else
    std::cout << " (proposal " << proposal << ")";
  std::cout << "\n";
}

template <typename Req>
bool SetWaitAll(const Args& a, Req* req, int* code) {
  if (a.Has("--wait-all")) req->set_wait_for(pb::WAIT_ATTESTED_BY_ALL);
  if (!a.Has("--timeout")) return true;
  auto ms = Number(a.Get("--timeout"), "--timeout", 0, UINT32_MAX, code);
  if (!ms) return false;
  req->set_wait_timeout_ms(static_cast<uint32_t>(*ms));
  return true;
}

int Show(pb::Jobs::Stub* jobs, const std::string& key) {
  pb::GetJobRequest req;
  req.set_key(key);
  pb::Job job;
  grpc::ClientContext ctx;
  auto st = jobs->GetJob(&ctx, req, &job);
  if (!st.ok()) return Fail(st);
  PrintJob(job);
  return 0;
}

int Activate(pb::Jobs::Stub* jobs, const Args& a) {
  if (!a.Has("--type") || !a.Has("--worker")) return Usage("job activate needs --type T and --worker W");
  pb::ActivateJobsRequest req;
  req.set_type(a.Get("--type"));
  req.set_worker(a.Get("--worker"));
  int code = 0;
  // The node checks the ranges (max 1..1000, the long poll's cap): the CLI
  // only makes sure each is a number.
  auto max = Number(a.Get("--max", "1"), "--max", INT32_MIN, INT32_MAX, &code);
  if (!max) return code;
  auto lease = Number(a.Get("--lease", "0"), "--lease", INT64_MIN, INT64_MAX, &code);
  if (!lease) return code;
  auto wait = Number(a.Get("--wait", "0"), "--wait", INT64_MIN, INT64_MAX, &code);
  if (!wait) return code;
  req.set_max_jobs(static_cast<int32_t>(*max));
  req.set_timeout_ms(*lease);
  req.set_request_timeout_ms(*wait);
  pb::ActivateJobsResponse resp;
  grpc::ClientContext ctx;
  auto st = jobs->ActivateJobs(&ctx, req, &resp);
  if (!st.ok()) return Fail(st);
  if (g_json) {
    for (const auto& j : resp.jobs()) std::cout << ToJson(j) << "\n";
    return 0;
  }
  if (resp.jobs().empty()) std::cout << "no job of type " << req.type() << " activatable\n";
  for (const auto& j : resp.jobs()) {
    std::cout << "activated " << j.key() << " for " << j.worker() << " until " << TimeText(j.deadline_ms()) << ", "
              << j.retries() << " retries left\n"
              << "  headers    " << (j.headers().empty() ? "-" : HeadersText(j)) << "\n"
              << "  variables  " << j.variables_json() << "\n";
  }
  return 0;
}

int Complete(pb::Jobs::Stub* jobs, const Args& a, const std::string& key) {
  pb::CompleteJobRequest req;
  req.set_key(key);
  req.set_output_json(a.Get("--output"));
  if (int code = 0; !SetWaitAll(a, &req, &code)) return code;
  pb::CompleteJobResponse resp;
  grpc::ClientContext ctx;
  auto st = jobs->CompleteJob(&ctx, req, &resp);
  if (!st.ok()) return Fail(st);
  if (g_json) {
    std::cout << ToJson(resp) << "\n";
    return 0;
  }
  std::cout << "job " << key << " " << JobStateText(resp.job().state()) << ": ";
  PrintProposal(resp.job().step(), resp.outcome(), resp.ledger_height(), resp.proposal_id(), resp.instance());
  if (resp.has_attestation()) PrintAttestation(resp.attestation());
  return 0;
}

int FailCmd(pb::Jobs::Stub* jobs, const Args& a, const std::string& key) {
  if (!a.Has("--retries")) return Usage("job fail needs --retries N (the retries left; 0 raises an incident)");
  pb::FailJobRequest req;
  req.set_key(key);
  int code = 0;
  // Negative retries go to the node, whose contract refuses them.
  auto retries = Number(a.Get("--retries"), "--retries", INT32_MIN, INT32_MAX, &code);
  if (!retries) return code;
  req.set_retries(static_cast<int32_t>(*retries));
  req.set_error_message(a.Get("--message"));
  if (a.Has("--backoff")) {
    auto backoff = Number(a.Get("--backoff"), "--backoff", INT64_MIN, INT64_MAX, &code);
    if (!backoff) return code;
    req.set_backoff_ms(*backoff);
  }
  pb::Job job;
  grpc::ClientContext ctx;
  auto st = jobs->FailJob(&ctx, req, &job);
  if (!st.ok()) return Fail(st);
  if (g_json) {
    std::cout << ToJson(job) << "\n";
  } else if (job.state() == pb::JOB_INCIDENT) {
    std::cout << "job " << key << " failed with no retries left: incident " << job.incident_id() << " raised\n";
  } else if (job.state() == pb::JOB_FAILED) {
    std::cout << "job " << key << " failed: " << job.retries() << " retries left, activatable again at "
              << TimeText(job.retry_at_ms()) << "\n";
  } else {
    std::cout << "job " << key << " " << JobStateText(job.state()) << ", " << job.retries() << " retries left\n";
  }
  return 0;
}

int Throw(pb::Jobs::Stub* jobs, const Args& a, const std::string& key) {
  if (!a.Has("--code")) return Usage("job throw needs --code C (a business error code)");
  pb::ThrowErrorRequest req;
  req.set_key(key);
  req.set_error_code(a.Get("--code"));
  req.set_error_message(a.Get("--message"));
  req.set_variables_json(a.Get("--variables"));
  if (int code = 0; !SetWaitAll(a, &req, &code)) return code;
  pb::ThrowErrorResponse resp;
  grpc::ClientContext ctx;
  auto st = jobs->ThrowError(&ctx, req, &resp);
  if (!st.ok()) return Fail(st);
  if (g_json) {
    std::cout << ToJson(resp) << "\n";
  } else if (resp.step().empty()) {
    std::cout << "job " << key << " threw " << req.error_code() << ", which no step maps: incident "
              << resp.incident().incident_id() << " raised\n";
  } else {
    std::cout << "job " << key << " threw " << req.error_code() << ": ";
    PrintProposal(resp.step(), resp.outcome(), resp.ledger_height(), resp.proposal_id(), resp.instance());
    if (resp.has_attestation()) PrintAttestation(resp.attestation());
  }
  return 0;
}

int Retries(pb::Jobs::Stub* jobs, const std::string& key, const std::string& n) {
  pb::UpdateJobRetriesRequest req;
  req.set_key(key);
  int code = 0;
  auto retries = Number(n, "job retries N", INT32_MIN, INT32_MAX, &code);
  if (!retries) return code;
  req.set_retries(static_cast<int32_t>(*retries));
  pb::Job job;
  grpc::ClientContext ctx;
  auto st = jobs->UpdateJobRetries(&ctx, req, &job);
  if (!st.ok()) return Fail(st);
  if (g_json)
    std::cout << ToJson(job) << "\n";
  else
    std::cout << "job " << key << " " << JobStateText(job.state()) << ", " << job.retries() << " retries left\n";
  return 0;
}

int Timeout(pb::Jobs::Stub* jobs, const std::string& key, const std::string& ms) {
  pb::UpdateJobTimeoutRequest req;
  req.set_key(key);
  int code = 0;
  auto lease = Number(ms, "job timeout MS", INT64_MIN, INT64_MAX, &code);
  if (!lease) return code;
  req.set_timeout_ms(*lease);
  pb::Job job;
  grpc::ClientContext ctx;
  auto st = jobs->UpdateJobTimeout(&ctx, req, &job);
  if (!st.ok()) return Fail(st);
  if (g_json)
    std::cout << ToJson(job) << "\n";
  else
    std::cout << "job " << key << " leased to " << job.worker() << " until " << TimeText(job.deadline_ms()) << "\n";
  return 0;
}

}  // namespace

int JobsCommand(pb::Jobs::Stub* jobs, const Args& a) {
  if (!a.positional.empty()) return Usage("jobs takes no argument '" + a.positional[0] + "'");
  pb::SearchJobsRequest req;
  req.set_type(a.Get("--type"));
  req.set_instance_id(a.Get("--instance"));
  req.set_definition(a.Get("--definition"));
  auto range = a.opts.equal_range("--state");
  for (auto it = range.first; it != range.second; ++it) {
    std::string name = "JOB_" + it->second;
    for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    pb::JobState s;
    if (!pb::JobState_Parse(name, &s) || s == pb::JOB_STATE_UNSPECIFIED)
      return Usage("--state takes activatable, activated, failed, incident, completed, error_thrown or cancelled, "
                   "not '" +
                   it->second + "'");
    req.add_states(s);
  }
  int code = 0;
  auto limit = Number(a.Get("--limit", "1000"), "--limit", 1, INT32_MAX, &code);
  if (!limit) return code;
  if (!g_json)
    std::cout << Pad("KEY", 36) << Pad("TYPE", 16) << Pad("STATE", 13) << Pad("RETRIES", 8) << Pad("WORKER", 14)
              << Pad("LEASE / RETRY", 32) << "INCIDENT\n";
  return Paged<pb::SearchJobsResponse>(
      &req, static_cast<int>(*limit),
      [&](grpc::ClientContext* ctx, pb::SearchJobsResponse* resp) { return jobs->SearchJobs(ctx, req, resp); },
      [](const pb::SearchJobsResponse& resp) {
        for (const auto& j : resp.jobs()) PrintJobRow(j);
        return resp.jobs_size();
      });
}

int JobCommand(pb::Jobs::Stub* jobs, const Args& a) {
  static const char* kVerbs = "show, activate, complete, fail, throw, retries or timeout";
  if (a.positional.empty()) return Usage(std::string("job takes ") + kVerbs);
  const std::string& verb = a.positional[0];
  if (verb == "activate") {
    if (a.positional.size() != 1) return Usage("job activate takes no KEY: it activates jobs of --type T");
    return Activate(jobs, a);
  }
  if (verb == "retries" || verb == "timeout") {
    if (a.positional.size() != 3) return Usage("job " + verb + " needs KEY and " + (verb == "retries" ? "N" : "MS"));
    return verb == "retries" ? Retries(jobs, a.positional[1], a.positional[2])
                             : Timeout(jobs, a.positional[1], a.positional[2]);
  }
  bool known = verb == "show" || verb == "complete" || verb == "fail" || verb == "throw";
  if (!known) return Usage("job takes " + std::string(kVerbs) + ", not '" + verb + "'");
  if (a.positional.size() != 2) return Usage("job " + verb + " needs KEY");
  const std::string& key = a.positional[1];
  if (verb == "show") return Show(jobs, key);
  if (verb == "complete") return Complete(jobs, a, key);
  if (verb == "fail") return FailCmd(jobs, a, key);
  return Throw(jobs, a, key);
}

int IncidentsCommand(pb::Jobs::Stub* jobs, const Args& a) {
  if (!a.positional.empty()) return Usage("incidents takes no argument '" + a.positional[0] + "'");
  pb::ListIncidentsRequest req;
  req.set_type(a.Get("--type"));
  req.set_instance_id(a.Get("--instance"));
  int code = 0;
  auto limit = Number(a.Get("--limit", "1000"), "--limit", 1, INT32_MAX, &code);
  if (!limit) return code;
  if (!g_json)
    std::cout << Pad("INCIDENT", 40) << Pad("TYPE", 16) << Pad("KIND", 16) << Pad("RETRIES", 8) << Pad("RAISED", 26)
              << "MESSAGE\n";
  return Paged<pb::ListIncidentsResponse>(
      &req, static_cast<int>(*limit),
      [&](grpc::ClientContext* ctx, pb::ListIncidentsResponse* resp) { return jobs->ListIncidents(ctx, req, resp); },
      [](const pb::ListIncidentsResponse& resp) {
        for (const auto& i : resp.incidents()) PrintIncidentRow(i);
        return resp.incidents_size();
      });
}

int IncidentCommand(pb::Jobs::Stub* jobs, const Args& a) {
  if (a.positional.size() != 2 || a.positional[0] != "resolve") return Usage("incident takes resolve ID");
  pb::ResolveIncidentRequest req;
  req.set_incident_id(a.positional[1]);
  pb::Incident incident;
  grpc::ClientContext ctx;
  auto st = jobs->ResolveIncident(&ctx, req, &incident);
  if (!st.ok()) return Fail(st);
  if (g_json)
    std::cout << ToJson(incident) << "\n";
  else
    std::cout << "incident " << incident.incident_id() << " resolved: job " << incident.job_key()
              << " is activatable again (" << incident.retries() << " retries left)\n";
  return 0;
}

}  // namespace treaty::cli
