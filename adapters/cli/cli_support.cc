#include "cli_support.h"

#include <google/protobuf/util/json_util.h>

#include <charconv>
#include <iostream>

namespace treaty::cli {

namespace pb = ::treaty::v1;

bool g_json = false;

int Fail(const grpc::Status& st) {
  static const char* kNames[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
                                 "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
                                 "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  int c = st.error_code();
  std::cerr << "treaty: " << (c >= 0 && c <= 16 ? kNames[c] : "ERROR") << ": " << st.error_message() << "\n";
  return 1;
}

std::optional<int64_t> ParseInt(const std::string& text) {
  int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || p != end || text.empty()) return std::nullopt;
  return v;
}

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

std::string Join(const google::protobuf::RepeatedPtrField<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string Pad(std::string s, size_t n) {
  if (s.size() < n) s.resize(n, ' ');
  return s;
}

const char* OutcomeName(pb::Outcome o) {
  switch (o) {
    case pb::PENDING: return "PENDING";
    case pb::CONFIRMED: return "CONFIRMED";
    case pb::REJECTED: return "REJECTED";
    default: return "?";
  }
}

void PrintAttestation(const pb::AttestationStatus& at) {
  if (at.attested_by_size() > 0) std::cout << "attested by " << Join(at.attested_by()) << "\n";
  if (at.missing_size() > 0) std::cout << "not attested within the timeout by " << Join(at.missing()) << "\n";
  if (at.mismatched_size() > 0) std::cout << "ANOTHER OUTCOME attested by " << Join(at.mismatched()) << "\n";
}

}  // namespace treaty::cli
