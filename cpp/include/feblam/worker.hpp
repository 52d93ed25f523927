// Threads that run batch jobs (in the order they came with one thread; taken in that order and
// run side by side with more), and a file descriptor that becomes readable when finished jobs
// wait to be collected, so an event loop can watch it like a socket.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

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
    std::vector<std::uint64_t> take_done();
    // Readable while finished jobs wait to be taken.
    int notify_fd() const noexcept { return fd_; }
    // Runs what is queued, then stops the threads. Idempotent.
    void close();

private:
    void run();

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::pair<std::uint64_t, std::function<void()>>> queue_;
    std::vector<std::uint64_t> done_;
    bool closing_ = false;
    bool joined_ = false;
    int fd_ = -1;
    std::vector<std::thread> threads_;
};

}  // namespace feblam
