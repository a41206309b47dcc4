// What every `treaty` command shares: the parsed command line, the output
// mode (tables or one JSON object per line), reporting a failed call, the
// formatting of rows, and paging through a listing.
//
// Thread-safety: none needed; the CLI runs one command on its main thread,
// and g_json is set once while the command line is parsed.
#pragma once

#include <google/protobuf/message.h>
#include <google/protobuf/repeated_ptr_field.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "treaty/v1/treaty.grpc.pb.h"

namespace treaty::cli {

// The words after the command: positional arguments and --flag values
// (a flag may repeat; flags without a value map to "").
struct Args {
  std::vector<std::string> positional;
  std::multimap<std::string, std::string> opts;
  std::string Get(const std::string& k, const std::string& def = "") const {
    auto it = opts.find(k);
    return it == opts.end() ? def : it->second;
  }
  bool Has(const std::string& k) const { return opts.count(k) > 0; }
};

// --json: one JSON object per line instead of tables.
extern bool g_json;

// Prints why and the usage text to stderr; the usage exit code, 2.
// Defined in treaty.cc, next to the usage text.
int Usage(const std::string& why);

// Prints the call's gRPC status name and message to stderr; exit code 1.
int Fail(const grpc::Status& st);

// The whole of `text` as a number of the type, or nothing (a sign, digits,
// nothing else, in range).
std::optional<int64_t> ParseInt(const std::string& text);

// A message as JSON with the proto's field names.
std::string ToJson(const google::protobuf::Message& m);

std::string Join(const google::protobuf::RepeatedPtrField<std::string>& v, const char* sep = ", ");

// s padded with spaces to n characters (longer strings are kept whole).
std::string Pad(std::string s, size_t n);

const char* OutcomeName(::treaty::v1::Outcome o);

// Who attested, when the call waited for every member.
void PrintAttestation(const ::treaty::v1::AttestationStatus& at);

// Fetches pages of a listing until `limit` rows or the last page: `call`
// fills a response for the request as it stands, `print` prints a page's
// rows and says how many. 0, or the exit code of a failed call.
template <typename Resp, typename Req, typename Call, typename Print>
int Paged(Req* req, int limit, Call call, Print print) {
  int shown = 0;
  std::string token;
  do {
    req->set_page_size(std::min(limit - shown, 500));
    req->set_page_token(token);
    Resp resp;
    grpc::ClientContext ctx;
    auto st = call(&ctx, &resp);
    if (!st.ok()) return Fail(st);
    shown += print(resp);
    token = resp.next_page_token();
  } while (!token.empty() && shown < limit);
  return 0;
}

}  // namespace treaty::cli
