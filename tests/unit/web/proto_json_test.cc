// treaty-web's ProtoJson printer against protobuf's own JSON printer on
// every message of the API, filled by reflection with random values
// (defaults, unset messages, empty and full repeated fields and maps,
// unknown enum numbers, extreme integers, escapes and non-ASCII text): the
// two texts must be the same JSON value.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <limits>
#include <random>

#include "grpc_json.h"
#include "proto_json.h"
#include "treaty/v1/treaty.pb.h"

namespace treaty::web {
namespace {

namespace gp = google::protobuf;

std::string ProtobufJson(const gp::Message& m) {
  gp::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  opts.always_print_primitive_fields = true;
  std::string out;
  EXPECT_TRUE(gp::util::MessageToJsonString(m, &out, opts).ok());
  return out;
}

class Filler {
 public:
  explicit Filler(uint32_t seed) : rng_(seed) {}

  void Fill(gp::Message* m, int depth) {
    const gp::Descriptor* d = m->GetDescriptor();
    for (int i = 0; i < d->field_count(); ++i) {
      const gp::FieldDescriptor* f = d->field(i);
      if (Pick(4) == 0) continue;  // left at its default / unset
      if (f->is_repeated()) {
        int n = static_cast<int>(Pick(4));
        for (int j = 0; j < n; ++j) Add(m, f, depth);
      } else if (f->cpp_type() != gp::FieldDescriptor::CPPTYPE_MESSAGE || depth < 3) {
        Set(m, f, depth);
      }
    }
  }

 private:
  uint64_t Pick(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }

  std::string Text() {
    static const char* kTexts[] = {"", "a", "quote \" and \\ backslash", "line\nbreak\ttab", "\x01 control",
                                   "ünïcødé €", "emoji 😀", "</script>", "{\"json\":[1,2]}"};
    return kTexts[Pick(sizeof(kTexts) / sizeof(kTexts[0]))];
  }
  int64_t Int64() {
    static const int64_t kValues[] = {0, 1, -1, 42, std::numeric_limits<int64_t>::max(),
                                      std::numeric_limits<int64_t>::min(), 1LL << 53, (1LL << 53) + 1};
    return kValues[Pick(8)];
  }
  int EnumNumber(const gp::FieldDescriptor* f) {
    if (Pick(5) == 0) return 99;  // a number the enum does not name
    return f->enum_type()->value(static_cast<int>(Pick(f->enum_type()->value_count())))->number();
  }

  void Set(gp::Message* m, const gp::FieldDescriptor* f, int depth) {
    const gp::Reflection* r = m->GetReflection();
    switch (f->cpp_type()) {
      case gp::FieldDescriptor::CPPTYPE_INT32: r->SetInt32(m, f, static_cast<int32_t>(Int64())); break;
      case gp::FieldDescriptor::CPPTYPE_UINT32: r->SetUInt32(m, f, static_cast<uint32_t>(Int64())); break;
      case gp::FieldDescriptor::CPPTYPE_INT64: r->SetInt64(m, f, Int64()); break;
      case gp::FieldDescriptor::CPPTYPE_UINT64: r->SetUInt64(m, f, static_cast<uint64_t>(Int64())); break;
      case gp::FieldDescriptor::CPPTYPE_DOUBLE: r->SetDouble(m, f, 0.1 * static_cast<double>(Int64() % 1000)); break;
      case gp::FieldDescriptor::CPPTYPE_FLOAT: r->SetFloat(m, f, 0.5f * static_cast<float>(Int64() % 1000)); break;
      case gp::FieldDescriptor::CPPTYPE_BOOL: r->SetBool(m, f, Pick(2) == 1); break;
      case gp::FieldDescriptor::CPPTYPE_ENUM: r->SetEnumValue(m, f, EnumNumber(f)); break;
      case gp::FieldDescriptor::CPPTYPE_STRING: r->SetString(m, f, Text()); break;  // bytes too
      case gp::FieldDescriptor::CPPTYPE_MESSAGE: Fill(r->MutableMessage(m, f), depth + 1); break;
    }
  }

  void Add(gp::Message* m, const gp::FieldDescriptor* f, int depth) {
    const gp::Reflection* r = m->GetReflection();
    switch (f->cpp_type()) {
      case gp::FieldDescriptor::CPPTYPE_INT32: r->AddInt32(m, f, static_cast<int32_t>(Int64())); break;
      case gp::FieldDescriptor::CPPTYPE_UINT32: r->AddUInt32(m, f, static_cast<uint32_t>(Int64())); break;
      case gp::FieldDescriptor::CPPTYPE_INT64: r->AddInt64(m, f, Int64()); break;
      case gp::FieldDescriptor::CPPTYPE_UINT64: r->AddUInt64(m, f, static_cast<uint64_t>(Int64())); break;
      case gp::FieldDescriptor::CPPTYPE_DOUBLE: r->AddDouble(m, f, 0.25 * static_cast<double>(Int64() % 100)); break;
      case gp::FieldDescriptor::CPPTYPE_FLOAT: r->AddFloat(m, f, 0.5f * static_cast<float>(Int64() % 100)); break;
      case gp::FieldDescriptor::CPPTYPE_BOOL: r->AddBool(m, f, Pick(2) == 1); break;
      case gp::FieldDescriptor::CPPTYPE_ENUM: r->AddEnumValue(m, f, EnumNumber(f)); break;
      case gp::FieldDescriptor::CPPTYPE_STRING: r->AddString(m, f, Text()); break;
      case gp::FieldDescriptor::CPPTYPE_MESSAGE:
        if (depth < 3) Fill(r->AddMessage(m, f), depth + 1);
        break;
    }
  }

  std::mt19937 rng_;
};

TEST(ProtoJson, MatchesProtobufOnEveryApiMessage) {
  const gp::FileDescriptor* file = ::treaty::v1::Instance::descriptor()->file();
  int compared = 0;
  std::vector<const gp::Descriptor*> types;
  for (int i = 0; i < file->message_type_count(); ++i) types.push_back(file->message_type(i));
  ASSERT_GT(types.size(), 50u);
  int fallbacks = 0;
  for (const gp::Descriptor* d : types) {
    // Types holding bytes (the status details' AnyDetail) go to protobuf's
    // printer through ToJson: compared the same way below.
    bool ours_prints = CanPrint(d);
    if (!ours_prints) ++fallbacks;
    const gp::Message* prototype = gp::MessageFactory::generated_factory()->GetPrototype(d);
    ASSERT_NE(prototype, nullptr) << d->full_name();
    for (uint32_t seed = 0; seed < 40; ++seed) {
      std::unique_ptr<gp::Message> m(prototype->New());
      if (seed > 0) Filler(seed * 7919 + static_cast<uint32_t>(compared)).Fill(m.get(), 0);
      std::string ours = ToJson(*m);
      if (ours_prints) {
        ASSERT_TRUE(ProtoJson(*m, &ours)) << d->full_name();
      }
      auto a = nlohmann::json::parse(ours, nullptr, false);
      auto b = nlohmann::json::parse(ProtobufJson(*m), nullptr, false);
      ASSERT_FALSE(a.is_discarded()) << ours;
      ASSERT_EQ(a, b) << d->full_name() << " seed " << seed << "\nours:     " << ours
                      << "\nprotobuf: " << ProtobufJson(*m);
      ++compared;
    }
  }
  EXPECT_GE(compared, 2000);
  EXPECT_EQ(fallbacks, 2) << "only AnyDetail and RpcStatus hold bytes";
}

TEST(ProtoJson, FieldsInDeclarationOrderAndInt64AsStrings) {
  ::treaty::v1::Instance in;
  in.set_instance_id("po-1");
  in.set_version(7);
  in.add_states("accepted");
  std::string out;
  ASSERT_TRUE(ProtoJson(in, &out));
  EXPECT_EQ(out.find("\"instance_id\":\"po-1\""), 1u) << out;
  EXPECT_NE(out.find("\"version\":\"7\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"states\":[\"accepted\"]"), std::string::npos) << out;
  EXPECT_NE(out.find("\"roles\":[]"), std::string::npos) << out;
  EXPECT_LT(out.find("\"definition\""), out.find("\"version\"")) << out;
}

TEST(ProtoJson, InvalidUtf8IsAnErrorNotHalfAnObject) {
  ::treaty::v1::Instance in;
  in.set_instance_id(std::string("bad \xff\xfe bytes"));
  std::string out;
  EXPECT_FALSE(ProtoJson(in, &out));
  auto body = nlohmann::json::parse(ToJson(in), nullptr, false);
  ASSERT_FALSE(body.is_discarded());
  EXPECT_EQ(body["error"]["code"], "INTERNAL");
}

}  // namespace
}  // namespace treaty::web
