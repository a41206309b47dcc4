// Source locations and diagnostics for definition files.
//
// Every problem treatyc reports is a Diagnostic printed as
// "FILE:LINE:COL: error: MESSAGE", lines and columns counted from 1.
//
// Thread-safety: plain values.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

namespace treaty::defs {

struct Loc {
  int line = 0;  // 1-based; 0 means unknown
  int col = 0;   // 1-based
};

struct Diagnostic {
  std::string file;
  Loc loc;
  std::string message;
  std::string ToString() const {
    return file + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.col) + ": error: " + message;
  }
};

// Collects diagnostics in the order they are found; the validator sorts
// them by position before printing so output is stable.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}
  void Error(Loc loc, std::string message) { items_.push_back({file_, loc, std::move(message)}); }
  bool empty() const { return items_.empty(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  std::vector<Diagnostic>& mutable_items() { return items_; }
  const std::string& file() const { return file_; }
  // By line, column, message; exact repeats dropped. Output is stable.
  void Sort() {
    std::stable_sort(items_.begin(), items_.end(), [](const Diagnostic& a, const Diagnostic& b) {
      if (a.loc.line != b.loc.line) return a.loc.line < b.loc.line;
      if (a.loc.col != b.loc.col) return a.loc.col < b.loc.col;
      return a.message < b.message;
    });
    items_.erase(std::unique(items_.begin(), items_.end(),
                             [](const Diagnostic& a, const Diagnostic& b) {
                               return a.loc.line == b.loc.line && a.loc.col == b.loc.col && a.message == b.message;
                             }),
                 items_.end());
  }

 private:
  std::string file_;
  std::vector<Diagnostic> items_;
};

}  // namespace treaty::defs
