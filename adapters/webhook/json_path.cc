#include "json_path.h"

#include <cctype>

namespace treaty::webhook {

namespace {

bool KeyChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; }

}  // namespace

std::optional<JsonPath> JsonPath::Parse(const std::string& text, std::string* why) {
  JsonPath p;
  p.text_ = text;
  std::string s = text;
  if (s == "$") return p;
  if (s.rfind("$.", 0) == 0) s = s.substr(2);
  else if (s.rfind("$[", 0) == 0) s = s.substr(1);
  if (s.empty()) {
    *why = "is empty";
    return std::nullopt;
  }
  size_t i = 0;
  bool want_key = s[0] != '[';
  while (i < s.size()) {
    if (s[i] == '[') {
      size_t close = s.find(']', i);
      std::string digits = close == std::string::npos ? "" : s.substr(i + 1, close - i - 1);
      if (digits.empty() || digits.size() > 9 ||
          digits.find_first_not_of("0123456789") != std::string::npos) {
        *why = "has a bad index at character " + std::to_string(i + 1) + " (write [0], [1], ...)";
        return std::nullopt;
      }
      p.steps_.emplace_back(static_cast<size_t>(std::stoul(digits)));
      i = close + 1;
      want_key = false;
    } else if (s[i] == '.') {
      if (want_key) {
        *why = "has an empty key at character " + std::to_string(i + 1);
        return std::nullopt;
      }
      ++i;
      want_key = true;
      if (i == s.size()) {
        *why = "ends with '.'";
        return std::nullopt;
      }
    } else {
      if (!want_key) {
        *why = "needs '.' before the key at character " + std::to_string(i + 1);
        return std::nullopt;
      }
      size_t start = i;
      while (i < s.size() && KeyChar(s[i])) ++i;
      if (i == start) {
        *why = "has '" + std::string(1, s[i]) + "' at character " + std::to_string(i + 1) +
               " (keys are letters, digits, '_' and '-')";
        return std::nullopt;
      }
      p.steps_.emplace_back(s.substr(start, i - start));
      want_key = false;
    }
  }
  return p;
}

const nlohmann::json* JsonPath::Find(const nlohmann::json& body) const {
  const nlohmann::json* at = &body;
  for (const auto& step : steps_) {
    if (const auto* key = std::get_if<std::string>(&step)) {
      if (!at->is_object()) return nullptr;
      auto it = at->find(*key);
      if (it == at->end()) return nullptr;
      at = &*it;
    } else {
      size_t index = std::get<size_t>(step);
      if (!at->is_array() || index >= at->size()) return nullptr;
      at = &(*at)[index];
    }
  }
  return at;
}

}  // namespace treaty::webhook
