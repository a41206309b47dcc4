// Compiled as C++17 like every MSM unit (docs/msm.md).
#include "bare_msm.h"

#include <boost/msm/back/state_machine.hpp>
#include <boost/msm/front/functor_row.hpp>
#include <boost/msm/front/state_machine_def.hpp>

namespace treaty::bench {
namespace {

namespace msm = boost::msm;
namespace mpl = boost::mpl;
using msm::front::none;
using msm::front::Row;

struct Submit {};
struct Accept {};
struct Pay {
  int64_t amount;
  int64_t total;
};
struct Restart {};

struct Draft : msm::front::state<> {};
struct Submitted : msm::front::state<> {};
struct Accepted : msm::front::state<> {};
struct Paid : msm::front::state<> {};

struct AmountMatches {
  template <class E, class F, class S, class T>
  bool operator()(E const& e, F&, S&, T&) const {
    return e.amount == e.total;
  }
};

struct Po_ : msm::front::state_machine_def<Po_> {
  typedef Draft initial_state;
  struct transition_table : mpl::vector<Row<Draft, Submit, Submitted, none, none>,
                                        Row<Submitted, Accept, Accepted, none, none>,
                                        Row<Accepted, Pay, Paid, none, AmountMatches>,
                                        Row<Paid, Restart, Draft, none, none>> {};
  template <class Fsm, class Event>
  void no_transition(Event const&, Fsm&, int) {}
};
typedef msm::back::state_machine<Po_> Po;

}  // namespace

struct BareMsm::Impl {
  Po po;
};

BareMsm::BareMsm() : impl_(new Impl) { impl_->po.start(); }
BareMsm::~BareMsm() { delete impl_; }

int BareMsm::Cycle(int64_t amount) {
  int h = impl_->po.process_event(Submit());
  h += impl_->po.process_event(Accept());
  h += impl_->po.process_event(Pay{amount, 250});
  h += impl_->po.process_event(Restart());
  return h;
}

}  // namespace treaty::bench
