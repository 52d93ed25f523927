// Work a core thread has finished, and a file descriptor that is readable while some waits to be
// taken: how the core's threads hand results to an event loop, which watches the descriptor like
// a socket, without ever taking the GIL.
#pragma once

#include <mutex>
#include <utility>
#include <vector>

namespace feblam {

// An eventfd: signalled by any thread, cleared by the taker.
class ReadyFd {
public:
    ReadyFd();
    ~ReadyFd();
    ReadyFd(const ReadyFd&) = delete;
    ReadyFd& operator=(const ReadyFd&) = delete;

    void signal() noexcept;
    void clear() noexcept;
    int fd() const noexcept { return fd_; }

private:
    int fd_ = -1;
};

// Finished results of type T (a ticket, or a ticket with what the work found).
template <class T>
class Completions {
public:
    // Records finished results (any thread). The descriptor is signalled once per collection,
    // not per result: the loop takes everything finished at once.
    void finished(std::vector<T> results) {
        if (results.empty()) return;
        bool first = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            first = done_.empty();
            if (first) {
                done_ = std::move(results);
            } else {
                for (T& r : results) done_.push_back(std::move(r));
            }
        }
        if (first) ready_.signal();
    }
    void finished(T result) {
        std::vector<T> one;
        one.push_back(std::move(result));
        finished(std::move(one));
    }
    // Results finished since the last call, in the order they finished; clears the readiness.
    std::vector<T> take() {
        // Cleared first: a result finishing after the swap below signals again, so none is missed.
        ready_.clear();
        std::vector<T> out;
        std::lock_guard<std::mutex> lock(mutex_);
        out.swap(done_);
        return out;
    }
    int fd() const noexcept { return ready_.fd(); }

private:
    std::mutex mutex_;
    std::vector<T> done_;
    ReadyFd ready_;
};

}  // namespace feblam
