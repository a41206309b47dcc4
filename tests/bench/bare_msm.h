// A hand-written Boost.MSM machine with the purchase-order's shape and a
// trivial guard: the floor that a generated machine's apply is compared to.
#pragma once

#include <cstdint>

namespace treaty::bench {

class BareMsm {
 public:
  BareMsm();
  ~BareMsm();
  // One full cycle: submit, accept, pay (guarded), restart. Returns the sum
  // of the handled flags so the work cannot be optimised away.
  int Cycle(int64_t amount);

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace treaty::bench
