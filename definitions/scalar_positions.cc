#include "definitions/scalar_positions.h"

#include <string>

namespace treaty::defs {
namespace {

// A read position in the source with its line and column.
class Cursor {
 public:
  Cursor(std::string_view s, size_t i, Loc loc) : s_(s), i_(i), loc_(loc) {}

  bool eof() const { return i_ >= s_.size(); }
  char peek(size_t k = 0) const { return i_ + k < s_.size() ? s_[i_ + k] : '\0'; }
  bool AtBreak() const { return !eof() && (s_[i_] == '\n' || s_[i_] == '\r'); }
  bool AtBlank() const { return !eof() && (s_[i_] == ' ' || s_[i_] == '\t'); }
  Loc loc() const { return loc_; }

  void Advance() {
    if (eof()) return;
    if (AtBreak()) {
      i_ += (s_[i_] == '\r' && peek(1) == '\n') ? 2 : 1;
      ++loc_.line;
      loc_.col = 1;
      return;
    }
    ++i_;
    ++loc_.col;
  }
  void SkipBlanks() {
    while (AtBlank()) Advance();
  }

 private:
  std::string_view s_;
  size_t i_;
  Loc loc_;
};

// The decoded value, each byte with the source position it came from.
// Whitespace written before a line break in a flow scalar is dropped when
// the break folds, so it stays "pending" until something else follows.
class Output {
 public:
  void Put(char c, Loc l) {
    text_ += c;
    locs_.push_back(l);
  }
  void PutPendingBlank(char c, Loc l) {
    if (pending_from_ == std::string::npos) pending_from_ = text_.size();
    Put(c, l);
  }
  void Commit() { pending_from_ = std::string::npos; }
  void DropPending() {
    if (pending_from_ == std::string::npos) return;
    text_.resize(pending_from_);
    locs_.resize(pending_from_);
    pending_from_ = std::string::npos;
  }
  void PutCodePoint(uint32_t cp, Loc l) {
    auto put = [&](uint32_t b) {
      Put(static_cast<char>(b), l);
      ++l.col;
    };
    if (cp < 0x80) {
      put(cp);
    } else if (cp < 0x800) {
      put(0xC0 | (cp >> 6));
      put(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      put(0xE0 | (cp >> 12));
      put(0x80 | ((cp >> 6) & 0x3F));
      put(0x80 | (cp & 0x3F));
    } else {
      put(0xF0 | (cp >> 18));
      put(0x80 | ((cp >> 12) & 0x3F));
      put(0x80 | ((cp >> 6) & 0x3F));
      put(0x80 | (cp & 0x3F));
    }
  }
  const std::string& text() const { return text_; }
  std::string& mutable_text() { return text_; }
  std::vector<Loc>& locs() { return locs_; }

 private:
  std::string text_;
  std::vector<Loc> locs_;
  size_t pending_from_ = std::string::npos;
};

// A line break inside a quoted or plain scalar: trailing blanks go, the
// break becomes a space, or one newline per empty line that follows.
void Fold(Cursor& c, Output& o) {
  o.DropPending();
  Loc at = c.loc();
  c.Advance();
  int empty = 0;
  for (;;) {
    c.SkipBlanks();
    if (!c.AtBreak()) break;
    ++empty;
    c.Advance();
  }
  if (empty == 0) o.Put(' ', at);
  for (int i = 0; i < empty; ++i) o.Put('\n', at);
}

int HexValue(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

bool DoubleQuoted(Cursor& c, Output& o) {
  c.Advance();  // opening quote
  for (;;) {
    if (c.eof()) return false;
    char ch = c.peek();
    if (ch == '"') return true;
    if (c.AtBreak()) {
      Fold(c, o);
      continue;
    }
    if (ch == ' ' || ch == '\t') {
      o.PutPendingBlank(ch, c.loc());
      c.Advance();
      continue;
    }
    o.Commit();
    Loc at = c.loc();
    if (ch != '\\') {
      o.Put(ch, at);
      c.Advance();
      continue;
    }
    c.Advance();
    if (c.AtBreak()) {  // escaped line break: joins the lines
      c.Advance();
      for (;;) {
        c.SkipBlanks();
        if (!c.AtBreak()) break;
        o.Put('\n', c.loc());
        c.Advance();
      }
      continue;
    }
    char e = c.peek();
    c.Advance();
    int digits = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
    if (digits > 0) {
      uint32_t cp = 0;
      for (int i = 0; i < digits; ++i) {
        int h = HexValue(c.peek());
        if (h < 0) return false;
        cp = cp * 16 + static_cast<uint32_t>(h);
        c.Advance();
      }
      if (cp > 0x10FFFF) return false;
      o.PutCodePoint(cp, at);
      continue;
    }
    switch (e) {
      case '0': o.Put('\0', at); break;
      case 'a': o.Put('\a', at); break;
      case 'b': o.Put('\b', at); break;
      case 't':
      case '\t': o.Put('\t', at); break;
      case 'n': o.Put('\n', at); break;
      case 'v': o.Put('\v', at); break;
      case 'f': o.Put('\f', at); break;
      case 'r': o.Put('\r', at); break;
      case 'e': o.Put('\x1b', at); break;
      case ' ':
      case '"':
      case '/':
      case '\\': o.Put(e, at); break;
      case 'N': o.PutCodePoint(0x85, at); break;
      case '_': o.PutCodePoint(0xA0, at); break;
      case 'L': o.PutCodePoint(0x2028, at); break;
      case 'P': o.PutCodePoint(0x2029, at); break;
      default: return false;
    }
  }
}

bool SingleQuoted(Cursor& c, Output& o) {
  c.Advance();  // opening quote
  for (;;) {
    if (c.eof()) return false;
    char ch = c.peek();
    if (ch == '\'') {
      if (c.peek(1) != '\'') return true;
      o.Commit();
      o.Put('\'', c.loc());
      c.Advance();
      c.Advance();
      continue;
    }
    if (c.AtBreak()) {
      Fold(c, o);
      continue;
    }
    if (ch == ' ' || ch == '\t') {
      o.PutPendingBlank(ch, c.loc());
    } else {
      o.Commit();
      o.Put(ch, c.loc());
    }
    c.Advance();
  }
}

// Plain scalars have no end marker of their own here: decode until the
// committed output is the whole value, checking every committed byte.
bool Plain(Cursor& c, Output& o, std::string_view value) {
  size_t checked = 0;
  auto check = [&]() {
    const std::string& t = o.text();
    if (t.size() > value.size()) return false;
    for (; checked < t.size(); ++checked)
      if (t[checked] != value[checked]) return false;
    return true;
  };
  for (;;) {
    if (o.text().size() == value.size() && check()) return true;
    if (c.eof()) return false;
    if (c.AtBreak()) {
      Fold(c, o);
      if (!check()) return false;
      continue;
    }
    char ch = c.peek();
    if (ch == ' ' || ch == '\t') {
      o.PutPendingBlank(ch, c.loc());
      if (o.text().size() > value.size() + 4096) return false;
    } else {
      o.Commit();
      o.Put(ch, c.loc());
      if (!check()) return false;
    }
    c.Advance();
  }
}

struct BlockLine {
  Loc start;            // first content byte (after the indentation)
  std::string content;  // without indentation and line break
  bool empty = false;   // blank line
  bool more = false;    // more indented than the block (folded style keeps its breaks)
};

bool Block(Cursor& c, Output& o) {
  bool folded = c.peek() == '>';
  c.Advance();
  char chomp = ' ';
  for (int i = 0; i < 2; ++i) {
    char h = c.peek();
    if (h == '+' || h == '-') {
      chomp = h;
      c.Advance();
    } else if (h >= '1' && h <= '9') {
      return false;  // explicit indentation is relative to the parent: not mapped
    }
  }
  c.SkipBlanks();
  if (c.peek() == '#')
    while (!c.eof() && !c.AtBreak()) c.Advance();
  if (!c.AtBreak()) return c.eof();
  c.Advance();

  std::vector<BlockLine> lines;
  int indent = -1;
  while (!c.eof()) {
    Cursor line_start = c;
    std::string raw;  // the whole line, without its break
    while (!c.eof() && !c.AtBreak()) {
      raw += c.peek();
      c.Advance();
    }
    size_t spaces = raw.find_first_not_of(' ');
    if (spaces == std::string::npos) spaces = raw.size();
    bool blank = raw.find_first_not_of(" \t") == std::string::npos;
    if (!blank && indent < 0) indent = static_cast<int>(spaces);
    if (!blank && static_cast<int>(spaces) < indent) {
      c = line_start;  // the next node: the block ends before this line
      break;
    }
    BlockLine l;
    // A blank line is empty unless it has content beyond the indentation.
    l.empty = blank && (indent < 0 || raw.size() <= static_cast<size_t>(indent));
    if (!l.empty) {
      l.start = Loc{line_start.loc().line, line_start.loc().col + indent};
      l.content = raw.substr(static_cast<size_t>(indent));
      l.more = !l.content.empty() && (l.content[0] == ' ' || l.content[0] == '\t');
    } else {
      l.start = c.loc();
    }
    lines.push_back(std::move(l));
    if (c.eof()) break;
    c.Advance();
  }

  size_t last = lines.size();  // one past the last content line
  while (last > 0 && lines[last - 1].empty) --last;
  auto put_line = [&](const BlockLine& l) {
    Loc at = l.start;
    for (char ch : l.content) {
      o.Put(ch, at);
      ++at.col;
    }
  };
  auto end_of = [](const BlockLine& l) { return Loc{l.start.line, l.start.col + static_cast<int>(l.content.size())}; };

  const BlockLine* prev = nullptr;
  int pending_empty = 0;
  for (size_t i = 0; i < last; ++i) {
    const BlockLine& l = lines[i];
    if (l.empty) {
      ++pending_empty;
      continue;
    }
    if (prev == nullptr) {
      for (int k = 0; k < pending_empty; ++k) o.Put('\n', l.start);
    } else if (!folded) {
      o.Put('\n', end_of(*prev));
      for (int k = 0; k < pending_empty; ++k) o.Put('\n', end_of(*prev));
    } else if (!prev->more && !l.more) {
      if (pending_empty == 0) o.Put(' ', end_of(*prev));
      for (int k = 0; k < pending_empty; ++k) o.Put('\n', end_of(*prev));
    } else {
      for (int k = 0; k < pending_empty + 1; ++k) o.Put('\n', end_of(*prev));
    }
    put_line(l);
    prev = &l;
    pending_empty = 0;
  }
  if (prev != nullptr && chomp != '-') o.Put('\n', end_of(*prev));
  if (chomp == '+') {
    Loc at = prev != nullptr ? end_of(*prev) : c.loc();
    for (size_t i = last; i < lines.size(); ++i) o.Put('\n', at);
  }
  return true;
}

}  // namespace

std::optional<ScalarPositions> LocateScalar(std::string_view source, size_t pos, Loc at, std::string_view value) {
  if (pos > source.size() || at.line <= 0) return std::nullopt;
  Cursor c(source, pos, at);
  // A tag or an anchor before the scalar itself.
  while (c.peek() == '!' || c.peek() == '&') {
    while (!c.eof() && !c.AtBlank() && !c.AtBreak()) c.Advance();
    c.SkipBlanks();
  }
  Output o;
  Loc start = c.loc();
  bool ok;
  switch (c.peek()) {
    case '"':
      start.col += 1;
      ok = DoubleQuoted(c, o);
      break;
    case '\'':
      start.col += 1;
      ok = SingleQuoted(c, o);
      break;
    case '|':
    case '>': ok = Block(c, o); break;
    default: ok = Plain(c, o, value); break;
  }
  if (!ok || o.text() != value) return std::nullopt;
  ScalarPositions out;
  const std::vector<Loc>& locs = o.locs();
  out.start = locs.empty() ? start : locs.front();
  for (size_t k = 1; k < locs.size(); ++k) {
    const Loc& prev = locs[k - 1];
    if (locs[k].line != prev.line || locs[k].col != prev.col + 1) out.breaks.emplace_back(static_cast<int>(k), locs[k]);
  }
  return out;
}

}  // namespace treaty::defs
