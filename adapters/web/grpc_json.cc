#include "grpc_json.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdlib>
#include <limits>
#include <optional>
#include <vector>

#include "proto_json.h"

namespace treaty::web {
namespace {

namespace gp = google::protobuf;

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t comma = s.find(',', start);
    out.push_back(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// The whole text as a signed or unsigned number in [lo, hi], or false.
bool ParseSigned(const std::string& s, long long lo, long long hi, long long* out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

bool ParseUnsigned(const std::string& s, unsigned long long hi, unsigned long long* out) {
  if (s.empty() || s[0] == '-' || s[0] == '+' || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v > hi) return false;
  *out = v;
  return true;
}

// One value of a query parameter into the field (appended when repeated).
bool SetOne(gp::Message* m, const gp::FieldDescriptor* f, const std::string& v, std::string* why) {
  const gp::Reflection* r = m->GetReflection();
  bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case gp::FieldDescriptor::CPPTYPE_STRING:
      rep ? r->AddString(m, f, v) : r->SetString(m, f, v);
      return true;
    case gp::FieldDescriptor::CPPTYPE_INT32: {
      long long x;
      if (!ParseSigned(v, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(), &x)) {
        *why = "a 32-bit integer";
        return false;
      }
      rep ? r->AddInt32(m, f, static_cast<int32_t>(x)) : r->SetInt32(m, f, static_cast<int32_t>(x));
      return true;
    }
    case gp::FieldDescriptor::CPPTYPE_INT64: {
      long long x;
      if (!ParseSigned(v, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), &x)) {
        *why = "a 64-bit integer";
        return false;
      }
      rep ? r->AddInt64(m, f, x) : r->SetInt64(m, f, x);
      return true;
    }
    case gp::FieldDescriptor::CPPTYPE_UINT32: {
      unsigned long long x;
      if (!ParseUnsigned(v, std::numeric_limits<uint32_t>::max(), &x)) {
        *why = "an unsigned 32-bit integer";
        return false;
      }
      rep ? r->AddUInt32(m, f, static_cast<uint32_t>(x)) : r->SetUInt32(m, f, static_cast<uint32_t>(x));
      return true;
    }
    case gp::FieldDescriptor::CPPTYPE_UINT64: {
      unsigned long long x;
      if (!ParseUnsigned(v, std::numeric_limits<uint64_t>::max(), &x)) {
        *why = "an unsigned 64-bit integer";
        return false;
      }
      rep ? r->AddUInt64(m, f, x) : r->SetUInt64(m, f, x);
      return true;
    }
    case gp::FieldDescriptor::CPPTYPE_BOOL: {
      bool b;
      if (v == "true" || v == "1") b = true;
      else if (v == "false" || v == "0") b = false;
      else {
        *why = "true or false";
        return false;
      }
      rep ? r->AddBool(m, f, b) : r->SetBool(m, f, b);
      return true;
    }
    case gp::FieldDescriptor::CPPTYPE_ENUM: {
      const gp::EnumValueDescriptor* e = f->enum_type()->FindValueByName(v);
      long long n;
      if (e == nullptr && ParseSigned(v, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(), &n))
        e = f->enum_type()->FindValueByNumber(static_cast<int>(n));
      if (e == nullptr) {
        std::string names;
        for (int i = 0; i < f->enum_type()->value_count(); ++i)
          names += (i ? ", " : "") + f->enum_type()->value(i)->name();
        *why = "one of " + names;
        return false;
      }
      rep ? r->AddEnum(m, f, e) : r->SetEnum(m, f, e);
      return true;
    }
    default:
      *why = "a field a query parameter can set (it is a message: use a JSON body)";
      return false;
  }
}

}  // namespace

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  if (CanPrint(m.GetDescriptor())) {
    if (ProtoJson(m, &out)) return out;
    return ErrorBody({500, "INTERNAL", "the answer could not be printed as JSON: a string field is not UTF-8", ""});
  }
  gp::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  opts.always_print_primitive_fields = true;
  auto st = gp::util::MessageToJsonString(m, &out, opts);
  // Printing a well-formed message fails only on invalid UTF-8 in a string
  // field; the client gets an error body rather than half an object.
  if (!st.ok()) return ErrorBody({500, "INTERNAL", "the answer could not be printed as JSON: " + st.ToString(), ""});
  return out;
}

bool ParseBody(const std::string& body, google::protobuf::Message* out, HttpError* err) {
  bool blank = body.find_first_not_of(" \t\r\n") == std::string::npos;
  if (blank) return true;
  gp::util::JsonParseOptions opts;  // unknown fields are errors
  auto st = gp::util::JsonStringToMessage(body, out, opts);
  if (st.ok()) return true;
  *err = {400, "BAD_JSON",
          "the body is not a valid " + out->GetDescriptor()->name() + " in JSON: " + std::string(st.message().data(), st.message().size()),
          ""};
  return false;
}

bool ApplyQuery(const std::multimap<std::string, std::string>& params, google::protobuf::Message* out,
                HttpError* err) {
  const gp::Descriptor* d = out->GetDescriptor();
  for (const auto& [name, value] : params) {
    const gp::FieldDescriptor* f = d->FindFieldByName(name);
    if (f == nullptr) {
      std::string known;
      for (int i = 0; i < d->field_count(); ++i) known += (i ? ", " : "") + d->field(i)->name();
      *err = {400, "BAD_PARAMETER",
              "unknown query parameter '" + name + "'" + (known.empty() ? " (none are taken)" : " (taken: " + known + ")"), ""};
      return false;
    }
    std::vector<std::string> values = f->is_repeated() ? SplitCommas(value) : std::vector<std::string>{value};
    for (const auto& v : values) {
      if (f->is_repeated() && v.empty()) continue;  // "a,,b" and a trailing comma add nothing
      std::string why;
      if (!SetOne(out, f, v, &why)) {
        *err = {400, "BAD_PARAMETER", "query parameter '" + name + "': '" + v + "' is not " + why, ""};
        return false;
      }
    }
  }
  return true;
}

bool SetStringField(google::protobuf::Message* m, const std::string& field, const std::string& value) {
  const gp::FieldDescriptor* f = m->GetDescriptor()->FindFieldByName(field);
  if (f == nullptr || f->is_repeated() || f->cpp_type() != gp::FieldDescriptor::CPPTYPE_STRING) return false;
  m->GetReflection()->SetString(m, f, value);
  return true;
}

int HttpStatusOf(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return 200;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE: return 400;
    case grpc::StatusCode::NOT_FOUND: return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED: return 409;
    case grpc::StatusCode::FAILED_PRECONDITION: return 412;
    case grpc::StatusCode::PERMISSION_DENIED: return 403;
    case grpc::StatusCode::UNAUTHENTICATED: return 401;
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return 429;
    case grpc::StatusCode::DEADLINE_EXCEEDED: return 504;
    case grpc::StatusCode::UNAVAILABLE: return 503;
    case grpc::StatusCode::UNIMPLEMENTED: return 501;
    default: return 500;
  }
}

std::string CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN";
  }
}

std::optional<::treaty::v1::StepRejection> LedgerRejection(const grpc::Status& st) {
  // The node marks a waited-for step the ledger ordered and then rejected
  // with a StepRejection in the status details (treaty.proto); refusals
  // before anything was proposed carry none.
  if (st.ok() || st.error_details().empty()) return std::nullopt;
  ::treaty::v1::RpcStatus details;
  if (!details.ParseFromString(st.error_details())) return std::nullopt;
  const std::string want = "type.googleapis.com/" + ::treaty::v1::StepRejection::descriptor()->full_name();
  for (const auto& any : details.details()) {
    ::treaty::v1::StepRejection r;
    if (any.type_url() == want && r.ParseFromString(any.value())) return r;
  }
  return std::nullopt;
}

HttpError FromGrpc(const grpc::Status& st) {
  // A step the ledger ordered and then rejected conflicts with what the
  // ledger ordered first: 409, distinct from the preflight's 400/403/404/412.
  if (auto r = LedgerRejection(st)) return {409, "REJECTED", st.error_message(), ToJson(*r)};
  return {HttpStatusOf(st.error_code()), CodeName(st.error_code()), st.error_message(), ""};
}

std::string ErrorBody(const HttpError& e) {
  nlohmann::json j = {{"error", {{"code", e.code}, {"message", e.message}}}};
  if (!e.rejection_json.empty()) j["error"]["rejection"] = nlohmann::json::parse(e.rejection_json, nullptr, false);
  // Messages come from the node and may hold any bytes; replace invalid
  // UTF-8 rather than throw.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace treaty::web
