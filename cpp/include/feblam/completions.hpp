// Tickets of work a core thread has finished, and a file descriptor that is readable while some
// wait to be taken: how the core's threads hand results to an event loop, which watches the
// descriptor like a socket, without ever taking the GIL.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

namespace feblam {

class Completions {
public:
    Completions();
    ~Completions();
    Completions(const Completions&) = delete;
    Completions& operator=(const Completions&) = delete;

    // Records finished tickets (any thread). The descriptor is signalled once per collection,
    // not per ticket: the loop takes everything finished at once.
    void finished(const std::vector<std::uint64_t>& tickets);
    void finished(std::uint64_t ticket) { finished(std::vector<std::uint64_t>{ticket}); }
    // Tickets finished since the last call, in the order they finished; clears the readiness.
    std::vector<std::uint64_t> take();
    int fd() const noexcept { return fd_; }

private:
    std::mutex mutex_;
    std::vector<std::uint64_t> done_;
    int fd_ = -1;
};

}  // namespace feblam
