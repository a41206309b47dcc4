// A path into a JSON response body, as written in a webhook config:
// `$.result.score`, `result.score` (the `$.` is optional), `items[0].id`,
// or `$` for the whole body. Keys are letters, digits, `_` and `-`.
//
// Thread-safety: a parsed JsonPath is immutable; Find may be called from
// any thread.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace treaty::webhook {

class JsonPath {
 public:
  // The path, or nothing with *why saying what is wrong with `text`.
  static std::optional<JsonPath> Parse(const std::string& text, std::string* why);

  // The value at the path in `body`, or nullptr when a key or index is
  // missing (or a step goes into a value of another kind).
  const nlohmann::json* Find(const nlohmann::json& body) const;

  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::vector<std::variant<std::string, size_t>> steps_;  // a key or an index
};

}  // namespace treaty::webhook
