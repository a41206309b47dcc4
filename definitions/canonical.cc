#include "definitions/canonical.h"

#include <algorithm>

namespace treaty::defs {
namespace {

std::string Q(const std::string& s) { return Value::Str(s).ToCanonicalJson(); }

// Builds one JSON object; members must be added in the order to emit.
class Obj {
 public:
  Obj& Raw(const std::string& k, const std::string& json) {
    out_ += (out_.empty() ? "" : ",") + Q(k) + ":" + json;
    return *this;
  }
  Obj& Str(const std::string& k, const std::string& v) { return v.empty() ? *this : Raw(k, Q(v)); }
  Obj& Flag(const std::string& k, bool v) { return v ? Raw(k, "true") : *this; }
  std::string Done() const { return "{" + out_ + "}"; }

 private:
  std::string out_;
};

std::string List(const std::vector<std::string>& items, bool sort) {
  std::vector<std::string> v = items;
  if (sort) std::sort(v.begin(), v.end());
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + Q(v[i]);
  return out + "]";
}

// Which keys a field spec may have (the loader's rules).
enum class Kind { kData, kInput, kProperty, kItems };

std::string Field(const FieldSpec& f, Kind kind);

// Fields are unordered: sorted by name.
std::string Fields(const std::vector<FieldSpec>& fields, Kind kind) {
  std::vector<const FieldSpec*> v;
  for (const auto& f : fields) v.push_back(&f);
  std::sort(v.begin(), v.end(), [](const FieldSpec* a, const FieldSpec* b) { return a->name < b->name; });
  Obj o;
  for (const auto* f : v) o.Raw(f->name, Field(*f, kind));
  return o.Done();
}

std::string Field(const FieldSpec& f, Kind kind) {
  bool is_data = kind == Kind::kData;
  Obj o;  // keys in sorted order
  o.Str("description", f.description);
  if (!f.enum_values.empty()) {
    std::string e = "[";
    for (size_t i = 0; i < f.enum_values.size(); ++i) e += (i ? "," : "") + f.enum_values[i].ToCanonicalJson();
    o.Raw("enum", e + "]");
  }
  if (f.items) o.Raw("items", Field(*f.items, Kind::kItems));
  if (f.max_length) o.Raw("max_length", std::to_string(*f.max_length));
  if (f.maximum) o.Raw("maximum", f.maximum->ToString());
  if (f.min_length) o.Raw("min_length", std::to_string(*f.min_length));
  if (f.minimum) o.Raw("minimum", f.minimum->ToString());
  if (!f.properties.empty()) o.Raw("properties", Fields(f.properties, Kind::kProperty));
  if ((kind == Kind::kInput || kind == Kind::kProperty) && !f.required) o.Raw("required", "false");
  o.Raw("type", Q(FieldTypeName(f.type)));
  if (is_data) {
    o.Flag("unique", f.unique);
    if (!f.visible_to.empty()) o.Raw("visible_to", List(f.visible_to, true));
  }
  return o.Done();
}

std::string States(const std::vector<StateSpec>& states);

std::string State(const StateSpec& s) {
  Obj o;
  if (s.deadline_after_ms)
    o.Raw("deadline",
          Obj().Raw("after", Q(std::to_string(*s.deadline_after_ms) + "ms")).Str("step", s.deadline_step).Done());
  o.Str("description", s.description);
  o.Flag("final", s.final);
  o.Flag("initial", s.initial);
  o.Str("label", s.label);
  if (!s.regions.empty()) {
    Obj regions;  // regions keep their order: it is MSM's region order
    for (const auto& r : s.regions)
      regions.Raw(r.name, Obj().Str("description", r.description).Raw("states", States(r.states)).Done());
    o.Raw("regions", regions.Done());
  }
  if (!s.states.empty()) o.Raw("states", States(s.states));
  return o.Done();
}

// States keep their order: it is the order of active states and of MSM ids.
std::string States(const std::vector<StateSpec>& states) {
  Obj o;
  for (const auto& s : states) o.Raw(s.name, State(s));
  return o.Done();
}

std::vector<std::string> Names(const std::vector<NamedRef>& refs) {
  std::vector<std::string> v;
  for (const auto& r : refs) v.push_back(r.name);
  return v;
}

// Form fields sorted by name, like input fields.
std::string Form(const TaskForm& f) {
  Obj o;
  o.Str("description", f.description);
  if (!f.fields.empty()) {
    std::vector<const FormField*> v;
    for (const auto& x : f.fields) v.push_back(&x);
    std::sort(v.begin(), v.end(), [](const FormField* a, const FormField* b) { return a->name < b->name; });
    Obj fields;
    for (const auto* x : v)
      fields.Raw(x->name, Obj().Str("help", x->help).Str("label", x->label).Str("placeholder", x->placeholder).Done());
    o.Raw("fields", fields.Done());
  }
  o.Str("title", f.title);
  return o.Done();
}

// Keys beyond `queue` only when written (priority only when not the
// default), so definitions without them keep their hash.
std::string HumanTask(const TaskSpec& t) {
  Obj o;
  if (!t.candidate_groups.empty()) o.Raw("candidate_groups", List(t.candidate_groups, true));
  if (!t.candidate_users.empty()) o.Raw("candidate_users", List(t.candidate_users, true));
  if (t.due_ms) o.Raw("due", Q(std::to_string(*t.due_ms) + "ms"));
  if (t.form) o.Raw("form", Form(*t.form));
  if (t.priority != TaskSpec::kDefaultPriority) o.Raw("priority", std::to_string(t.priority));
  o.Str("queue", t.human_queue);
  return o.Done();
}

std::string Ms(int64_t ms) { return Q(std::to_string(ms) + "ms"); }

// Keys beyond `type` only when written and not the default, so
// definitions without them keep their hash; headers and errors sorted by
// key.
std::string JobTask(const TaskSpec& t) {
  Obj o;
  if (t.JobBackoffMs() != TaskSpec::kDefaultJobBackoffMs) o.Raw("backoff", Ms(t.JobBackoffMs()));
  if (!t.job_errors.empty()) {
    std::vector<const JobError*> v;
    for (const auto& e : t.job_errors) v.push_back(&e);
    std::sort(v.begin(), v.end(), [](const JobError* a, const JobError* b) { return a->code < b->code; });
    Obj errors;
    for (const auto* e : v) errors.Raw(e->code, Q(e->step));
    o.Raw("errors", errors.Done());
  }
  if (!t.job_headers.empty()) {
    std::vector<std::pair<std::string, std::string>> v = t.job_headers;
    std::sort(v.begin(), v.end());
    Obj headers;
    for (const auto& [k, val] : v) headers.Raw(k, Q(val));  // an empty text too
    o.Raw("headers", headers.Done());
  }
  if (t.job_retries != TaskSpec::kDefaultJobRetries) o.Raw("retries", std::to_string(t.job_retries));
  if (t.JobTimeoutMs() != TaskSpec::kDefaultJobTimeoutMs) o.Raw("timeout", Ms(t.JobTimeoutMs()));
  o.Str("type", t.job_type);
  return o.Done();
}

std::string Step(const StepSpec& s) {
  Obj o;
  o.Raw("by", List(Names(s.by), true));
  o.Str("description", s.description);
  o.Raw("from", List(Names(s.from), false));
  if (s.guard) o.Raw("guard", Q(s.guard->text));
  if (!s.input.empty()) o.Raw("input", Fields(s.input, Kind::kInput));
  o.Str("label", s.label);
  if (!s.set.empty()) {
    std::vector<const Assignment*> v;
    for (const auto& a : s.set) v.push_back(&a);
    std::sort(v.begin(), v.end(), [](const Assignment* a, const Assignment* b) { return a->field < b->field; });
    Obj set;
    for (const auto* a : v) set.Raw(a->field, Q(a->expr.text));
    o.Raw("set", set.Done());
  }
  if (s.task) {
    Obj t;
    if (!s.task->human_queue.empty()) t.Raw("human", HumanTask(*s.task));
    if (!s.task->job_type.empty()) t.Raw("job", JobTask(*s.task));
    o.Raw("task", t.Done());
  }
  o.Raw("to", Q(s.to.name));
  return o.Done();
}

}  // namespace

std::string CanonicalJson(const Definition& d) {
  Obj o;
  if (!d.data.empty()) o.Raw("data", Fields(d.data, Kind::kData));
  o.Str("description", d.description);
  o.Raw("process", Q(d.process));
  o.Raw("roles", List(Names(d.roles), true));
  o.Raw("states", States(d.states));
  Obj steps;  // steps keep their order: it is the order of MSM events
  for (const auto& s : d.steps) steps.Raw(s.name, Step(s));
  o.Raw("steps", steps.Done());
  o.Raw("version", std::to_string(d.version));
  return o.Done();
}

Digest DefinitionHash(const Definition& d) { return Sha256Of(CanonicalJson(d)); }

}  // namespace treaty::defs
