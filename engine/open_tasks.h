// OpenTasks: every open (or claimed) human task of the node, in memory, so
// an inbox search reads its rows without SQLite decoding fifty of them, and
// GetTask and CompleteTask find an open task without a query. The store
// stays the truth: the set is loaded from it at start and changed only by
// the writer, with the writer lock held, as the transactions that changed
// the tasks commit (TaskBook is their TxnObserver); so under the writer
// lock it is exact, and a reader may see a task a moment newer than the
// query that named it (SearchTasks checks its filters again).
//
// Thread-safety: Put and Reset from the writer; the lookups from any
// thread (a shared lock).
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/task_types.h"

namespace treaty::engine {

class OpenTasks {
 public:
  void Reset(std::vector<TaskRow> rows) {
    std::unique_lock<std::shared_mutex> lock(mu_);
    by_no_.clear();
    no_of_.clear();
    by_queue_.clear();
    unassigned_.clear();
    for (auto& r : rows) PutLocked(std::make_shared<const TaskRow>(std::move(r)));
  }
  // An open task is kept (replacing what was known of it); a closed one
  // is dropped.
  void Put(std::shared_ptr<const TaskRow> t) {
    std::unique_lock<std::shared_mutex> lock(mu_);
    PutLocked(std::move(t));
  }
  std::shared_ptr<const TaskRow> ByNo(int64_t no) const {
    std::shared_lock<std::shared_mutex> lock(mu_);
    auto it = by_no_.find(no);
    return it == by_no_.end() ? nullptr : it->second;
  }
  std::shared_ptr<const TaskRow> ById(const std::string& id) const {
    std::shared_lock<std::shared_mutex> lock(mu_);
    auto it = no_of_.find(id);
    if (it == no_of_.end()) return nullptr;
    auto row = by_no_.find(it->second);
    return row == by_no_.end() ? nullptr : row->second;
  }
  // Which of a queue's open tasks: those nobody holds, those claimed, all.
  enum class Held { kNobody, kSomebody, kAny };
  // The inbox question, answered from memory: a queue's open tasks (as
  // `held` says) in creation order (or its reverse), `limit` of them from
  // `offset`.
  std::vector<std::shared_ptr<const TaskRow>> InQueue(const std::string& queue, Held held, bool descending,
                                                      int64_t offset, int64_t limit) const {
    std::shared_lock<std::shared_mutex> lock(mu_);
    std::vector<std::shared_ptr<const TaskRow>> out;
    const auto& index = held == Held::kNobody ? unassigned_ : by_queue_;
    auto q = index.find(queue);
    if (q == index.end()) return out;
    auto take = [&](auto begin, auto end) {
      for (auto it = begin; it != end && static_cast<int64_t>(out.size()) < limit; ++it) {
        const auto& t = by_no_.at(*it);
        if (held == Held::kSomebody && t->assignee.empty()) continue;
        if (offset > 0) {
          --offset;
          continue;
        }
        out.push_back(t);
      }
    };
    if (descending) take(q->second.rbegin(), q->second.rend());
    else take(q->second.begin(), q->second.end());
    return out;
  }
  size_t size() const {
    std::shared_lock<std::shared_mutex> lock(mu_);
    return by_no_.size();
  }

 private:
  void PutLocked(std::shared_ptr<const TaskRow> t) {
    if (auto old = by_no_.find(t->no); old != by_no_.end()) {
      for (auto* index : {&by_queue_, &unassigned_}) {
        if (index == &unassigned_ && !old->second->assignee.empty()) continue;
        auto q = index->find(old->second->queue);
        q->second.erase(t->no);
        if (q->second.empty()) index->erase(q);
      }
    }
    if (!TaskActive(t->state)) {
      by_no_.erase(t->no);
      no_of_.erase(t->id);
      return;
    }
    by_queue_[t->queue].insert(t->no);
    if (t->assignee.empty()) unassigned_[t->queue].insert(t->no);
    no_of_[t->id] = t->no;
    by_no_[t->no] = std::move(t);
  }

  mutable std::shared_mutex mu_;
  std::unordered_map<int64_t, std::shared_ptr<const TaskRow>> by_no_;
  std::unordered_map<std::string, int64_t> no_of_;
  // Open tasks by queue, all and those nobody holds, in creation order: an
  // inbox page without a query.
  std::unordered_map<std::string, std::set<int64_t>> by_queue_, unassigned_;
};

}  // namespace treaty::engine
