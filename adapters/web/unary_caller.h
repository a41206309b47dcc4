// UnaryCaller: blocking unary gRPC calls for treaty-web's HTTP worker
// threads, completed by one thread of its own that drains a
// CompletionQueue.
//
// Why not the generated blocking stub: each blocking call makes its caller
// a poller of the channel (a completion queue per call, "pluck"), and with
// dozens of HTTP workers calling at once most of treaty-web's CPU went to
// those pollers handing work and wake-ups to one another (web_bench, perf:
// 43% of the daemon's CPU under BlockingUnaryCall). Here one thread polls
// and each caller sleeps on its own condition until its answer is in.
//
// Thread-safety: Call() may be called from any number of threads at once.
// The caller must not be destroyed while a Call() runs.
#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

namespace treaty::web {

// A stub's PrepareAsync<Method>, e.g. &Processes::Stub::PrepareAsyncTriggerStep.
template <class Stub, class Req, class Resp>
using PrepareUnary = std::unique_ptr<grpc::ClientAsyncResponseReader<Resp>> (Stub::*)(grpc::ClientContext*,
                                                                                       const Req&,
                                                                                       grpc::CompletionQueue*);

class UnaryCaller {
 public:
  UnaryCaller() : thread_([this] { Drain(); }) {}
  ~UnaryCaller() {
    cq_.Shutdown();
    thread_.join();
  }
  UnaryCaller(const UnaryCaller&) = delete;
  UnaryCaller& operator=(const UnaryCaller&) = delete;

  // Runs the call and waits for its answer (bounded by ctx's deadline).
  template <class Stub, class Req, class Resp>
  grpc::Status Call(Stub* stub, PrepareUnary<Stub, Req, Resp> prepare, grpc::ClientContext* ctx, const Req& req,
                    Resp* resp) {
    Done done;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<Resp>> reader = (stub->*prepare)(ctx, req, &cq_);
    reader->StartCall();
    reader->Finish(resp, &status, &done);
    done.Wait();
    return status;
  }

 private:
  // The tag of one call: set by the draining thread, awaited by the caller.
  class Done {
   public:
    void Set() {
      std::lock_guard<std::mutex> lock(mu_);
      set_ = true;
      cv_.notify_one();
    }
    void Wait() {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return set_; });
    }

   private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool set_ = false;
  };

  void Drain() {
    void* tag = nullptr;
    bool ok = false;
    // Every Finish() completes exactly once, ok or not (a failed call's
    // status says why), so every waiter is woken.
    while (cq_.Next(&tag, &ok)) static_cast<Done*>(tag)->Set();
  }

  grpc::CompletionQueue cq_;
  std::thread thread_;
};

}  // namespace treaty::web
