// ProtoJsonPrinter: a protobuf message as JSON in protobuf's JSON mapping,
// with the proto field names and every primitive field printed (defaults,
// empty repeated fields as [], empty maps as {}), as
// google::protobuf::util::MessageToJsonString prints it with
// preserve_proto_field_names and always_print_primitive_fields.
//
// Why not that function: in protobuf 3.21 (Debian 12) it serialises the
// message, parses it again through a type resolver and builds a tree of
// every default before writing; web_bench measured it at a fifth of
// treaty-web's CPU per call. This walks the message once by reflection and
// lets nlohmann::json write the text (escaping, numbers).
//
// Covered: scalars (64-bit integers as strings, floats with "NaN" and
// "Infinity"), enums by name (number when unknown), strings, nested and
// repeated messages, maps with string, integer or bool keys, fields with
// presence (printed only when set). A message type holding anything else
// (bytes, groups, google.protobuf well-known types) is printed by
// protobuf's own printer instead: CanPrint() says which.
// tests/unit/web/proto_json_test.cc compares both printers on every message
// of the API.
//
// Thread-safety: stateless functions; call from any thread.
#pragma once

#include <google/protobuf/message.h>

#include <string>

namespace treaty::web {

// Whether ProtoJson() handles this message type (and every type it holds).
bool CanPrint(const google::protobuf::Descriptor* d);

// The message as JSON; false only if a string field holds invalid UTF-8
// (protobuf's printer refuses that too). Requires CanPrint().
bool ProtoJson(const google::protobuf::Message& m, std::string* out);

}  // namespace treaty::web
