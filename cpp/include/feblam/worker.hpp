// Threads that run batch jobs (in the order they came with one thread; taken in that order and
// run side by side with more), reporting finished jobs through Completions.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "feblam/completions.hpp"

namespace feblam {

class BatchWorker {
public:
    explicit BatchWorker(unsigned threads = 1);
    ~BatchWorker();
    BatchWorker(const BatchWorker&) = delete;
    BatchWorker& operator=(const BatchWorker&) = delete;

    // Queues a job; its ticket is reported by take_done once it has run. Throws
    // std::logic_error after close().
    void submit(std::uint64_t ticket, std::function<void()> job);
    // Tickets of the jobs finished since the last call, in the order they finished; clears the
    // descriptor's readiness.
    std::vector<std::uint64_t> take_done() { return done_.take(); }
    // Readable while finished jobs wait to be taken.
    int notify_fd() const noexcept { return done_.fd(); }
    // Runs what is queued, then stops the threads. Idempotent.
    void close();

private:
    void run();

    std::mutex mutex_;
    std::condition_variable wake_;
    struct Queued {
        std::uint64_t ticket;
        std::function<void()> job;
    };
    std::deque<Queued> queue_;
    Completions<std::uint64_t> done_;
    bool closing_ = false;
    bool joined_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace feblam
