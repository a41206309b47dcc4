#include "proto_json.h"

#include <google/protobuf/descriptor.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

namespace treaty::web {
namespace {

namespace gp = google::protobuf;
using Json = nlohmann::ordered_json;  // fields in declaration order, as protobuf prints them

bool Printable(const gp::Descriptor* d, std::set<const gp::Descriptor*>* seen) {
  if (!seen->insert(d).second) return true;  // recursive types: judged once
  if (d->file()->package() == "google.protobuf") return false;  // well-known types have their own mapping
  for (int i = 0; i < d->field_count(); ++i) {
    const gp::FieldDescriptor* f = d->field(i);
    if (f->type() == gp::FieldDescriptor::TYPE_BYTES || f->type() == gp::FieldDescriptor::TYPE_GROUP) return false;
    if (f->cpp_type() == gp::FieldDescriptor::CPPTYPE_MESSAGE && !Printable(f->message_type(), seen)) return false;
  }
  return true;
}

Json Float(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}

Json EnumValue(const gp::FieldDescriptor* f, int number) {
  const gp::EnumValueDescriptor* e = f->enum_type()->FindValueByNumber(number);
  if (e == nullptr) return number;
  return e->name();
}

Json Message(const gp::Message& m);

// One value of a field: the i-th when repeated, else the only one.
Json Value(const gp::Message& m, const gp::FieldDescriptor* f, int i) {
  const gp::Reflection* r = m.GetReflection();
  bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case gp::FieldDescriptor::CPPTYPE_INT32: return rep ? r->GetRepeatedInt32(m, f, i) : r->GetInt32(m, f);
    case gp::FieldDescriptor::CPPTYPE_UINT32: return rep ? r->GetRepeatedUInt32(m, f, i) : r->GetUInt32(m, f);
    case gp::FieldDescriptor::CPPTYPE_INT64:
      return std::to_string(rep ? r->GetRepeatedInt64(m, f, i) : r->GetInt64(m, f));
    case gp::FieldDescriptor::CPPTYPE_UINT64:
      return std::to_string(rep ? r->GetRepeatedUInt64(m, f, i) : r->GetUInt64(m, f));
    case gp::FieldDescriptor::CPPTYPE_DOUBLE: return Float(rep ? r->GetRepeatedDouble(m, f, i) : r->GetDouble(m, f));
    case gp::FieldDescriptor::CPPTYPE_FLOAT: return Float(rep ? r->GetRepeatedFloat(m, f, i) : r->GetFloat(m, f));
    case gp::FieldDescriptor::CPPTYPE_BOOL: return rep ? r->GetRepeatedBool(m, f, i) : r->GetBool(m, f);
    case gp::FieldDescriptor::CPPTYPE_ENUM:
      return EnumValue(f, rep ? r->GetRepeatedEnumValue(m, f, i) : r->GetEnumValue(m, f));
    case gp::FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      return rep ? r->GetRepeatedStringReference(m, f, i, &scratch) : r->GetStringReference(m, f, &scratch);
    }
    case gp::FieldDescriptor::CPPTYPE_MESSAGE:
      return Message(rep ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f));
  }
  return nullptr;
}

// A map entry's key as JSON object keys are: always a string.
std::string MapKey(const gp::Message& entry) {
  const gp::FieldDescriptor* k = entry.GetDescriptor()->map_key();
  const gp::Reflection* r = entry.GetReflection();
  switch (k->cpp_type()) {
    case gp::FieldDescriptor::CPPTYPE_STRING: return r->GetString(entry, k);
    case gp::FieldDescriptor::CPPTYPE_INT32: return std::to_string(r->GetInt32(entry, k));
    case gp::FieldDescriptor::CPPTYPE_UINT32: return std::to_string(r->GetUInt32(entry, k));
    case gp::FieldDescriptor::CPPTYPE_INT64: return std::to_string(r->GetInt64(entry, k));
    case gp::FieldDescriptor::CPPTYPE_UINT64: return std::to_string(r->GetUInt64(entry, k));
    case gp::FieldDescriptor::CPPTYPE_BOOL: return r->GetBool(entry, k) ? "true" : "false";
    default: return "";  // protobuf allows no other key types
  }
}

Json Message(const gp::Message& m) {
  const gp::Descriptor* d = m.GetDescriptor();
  const gp::Reflection* r = m.GetReflection();
  Json out = Json::object();
  for (int i = 0; i < d->field_count(); ++i) {
    const gp::FieldDescriptor* f = d->field(i);
    if (f->is_map()) {
      Json obj = Json::object();
      for (int j = 0, n = r->FieldSize(m, f); j < n; ++j) {
        const gp::Message& entry = r->GetRepeatedMessage(m, f, j);
        obj[MapKey(entry)] = Value(entry, entry.GetDescriptor()->map_value(), 0);
      }
      out[f->name()] = std::move(obj);
    } else if (f->is_repeated()) {
      Json arr = Json::array();
      for (int j = 0, n = r->FieldSize(m, f); j < n; ++j) arr.push_back(Value(m, f, j));
      out[f->name()] = std::move(arr);
    } else if (f->has_presence()) {
      // Messages, oneof members and proto3 `optional`: only when set.
      if (r->HasField(m, f)) out[f->name()] = Value(m, f, 0);
    } else {
      out[f->name()] = Value(m, f, 0);
    }
  }
  return out;
}

}  // namespace

bool CanPrint(const google::protobuf::Descriptor* d) {
  // Asked once per request: remember the answer per type.
  static std::mutex mu;
  static std::unordered_map<const gp::Descriptor*, bool> known;
  std::lock_guard<std::mutex> lock(mu);
  auto it = known.find(d);
  if (it != known.end()) return it->second;
  std::set<const gp::Descriptor*> seen;
  return known[d] = Printable(d, &seen);
}

bool ProtoJson(const google::protobuf::Message& m, std::string* out) {
  try {
    *out = Message(m).dump();
    return true;
  } catch (const Json::type_error&) {  // invalid UTF-8 in a string field
    return false;
  }
}

}  // namespace treaty::web
