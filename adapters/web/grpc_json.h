// The JSON side of treaty-web's API: gRPC messages to and from protobuf's
// JSON mapping (proto field names, every primitive field printed), query
// parameters onto a request's fields by their proto names (protobuf
// reflection), and gRPC statuses to HTTP statuses with the JSON error body
// {"error":{"code":"NOT_FOUND","message":"..."}} (docs/web.md).
//
// Thread-safety: free functions without shared state; call from any thread.
#pragma once

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include <map>
#include <optional>
#include <string>

#include "treaty/v1/treaty.pb.h"

namespace treaty::web {

// An answer other than 2xx: the HTTP status and the error body's fields.
struct HttpError {
  int status = 500;
  std::string code;     // e.g. NOT_FOUND, BAD_JSON, REJECTED
  std::string message;
  std::string rejection_json;  // a ledger rejection's StepRejection as JSON, else empty
};

// The message in protobuf's JSON mapping with the proto field names and
// every primitive field, defaults included.
std::string ToJson(const google::protobuf::Message& m);

// Parses a request body into `out`: an empty body is `{}`; unknown fields
// and wrong types are errors (400 BAD_JSON naming the problem).
bool ParseBody(const std::string& body, google::protobuf::Message* out, HttpError* err);

// Sets the fields named by query parameters: scalars, enums (by name or
// number) and repeated scalars (comma-separated, or the parameter given
// again). An unknown name, a message field or a value of the wrong type is
// a 400 BAD_PARAMETER naming the parameter.
bool ApplyQuery(const std::multimap<std::string, std::string>& params, google::protobuf::Message* out,
                HttpError* err);

// Sets a string field by its proto name (the path parameters); false if
// the message has no such string field.
bool SetStringField(google::protobuf::Message* m, const std::string& field, const std::string& value);

// The StepRejection a failed call's status details carry when the ledger
// ordered the step and then rejected it; nothing for any other failure.
std::optional<::treaty::v1::StepRejection> LedgerRejection(const grpc::Status& st);

// The HTTP status and error body for a failed call. A step the ledger
// ordered and then rejected is 409 REJECTED (the body's error.rejection
// holds the StepRejection); any other status maps by its code
// (INVALID_ARGUMENT 400, NOT_FOUND 404, FAILED_PRECONDITION 412, ...).
HttpError FromGrpc(const grpc::Status& st);

// The HTTP status of a gRPC code (the table in docs/web.md).
int HttpStatusOf(grpc::StatusCode code);

// The gRPC code's name, e.g. "NOT_FOUND".
std::string CodeName(grpc::StatusCode code);

// {"error":{"code":...,"message":...}} (and "rejection":{...} for a 409
// REJECTED)
std::string ErrorBody(const HttpError& e);

}  // namespace treaty::web
