// The batch worker threads (worker.hpp).
#include "feblam/worker.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace feblam {

BatchWorker::BatchWorker(unsigned threads) {
    fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    try {
        for (unsigned i = 0; i < (threads > 0 ? threads : 1U); ++i) {
            threads_.emplace_back([this] { run(); });
        }
    } catch (...) {
        close();
        ::close(fd_);
        throw;
    }
}

BatchWorker::~BatchWorker() {
    close();
    ::close(fd_);
}

void BatchWorker::submit(std::uint64_t ticket, std::function<void()> job) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (closing_) throw std::logic_error("the batch worker is closed");
        queue_.emplace_back(ticket, std::move(job));
    }
    wake_.notify_one();
}

std::vector<std::uint64_t> BatchWorker::take_done() {
    std::uint64_t counter = 0;
    // Reset first: a job finishing after the swap below signals again, so none is missed.
    while (::read(fd_, &counter, sizeof counter) < 0 && errno == EINTR) {
    }
    std::vector<std::uint64_t> out;
    std::lock_guard<std::mutex> lock(mutex_);
    out.swap(done_);
    return out;
}

void BatchWorker::close() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (joined_) return;
        closing_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) {
        if (t.joinable()) t.join();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    joined_ = true;
}

void BatchWorker::run() {
    for (;;) {
        std::pair<std::uint64_t, std::function<void()>> next;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [this] { return closing_ || !queue_.empty(); });
            if (queue_.empty()) return;
            next = std::move(queue_.front());
            queue_.pop_front();
        }
        try {
            next.second();
        } catch (...) {
            // Jobs report their own failures; one that escapes must not end the thread.
        }
        bool first = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            first = done_.empty();
            done_.push_back(next.first);
        }
        // One wake-up per collection, not per job: the loop takes everything finished at once.
        if (first) {
            const std::uint64_t one = 1;
            while (::write(fd_, &one, sizeof one) < 0 && errno == EINTR) {
            }
        }
    }
}

}  // namespace feblam
