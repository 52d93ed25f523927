// The batch worker threads (worker.hpp).
#include "feblam/worker.hpp"

#include "feblam/thread_name.hpp"

#include <stdexcept>
#include <utility>

namespace feblam {

BatchWorker::BatchWorker(unsigned threads) {
    try {
        for (unsigned i = 0; i < (threads > 0 ? threads : 1U); ++i) {
            threads_.emplace_back([this] { run(); });
        }
    } catch (...) {
        close();
        throw;
    }
}

BatchWorker::~BatchWorker() { close(); }

void BatchWorker::submit(std::uint64_t ticket, std::function<void()> job) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (closing_) throw std::logic_error("the batch worker is closed");
        queue_.push_back(Queued{ticket, std::move(job)});
    }
    wake_.notify_one();
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
    name_this_thread("feblam-intake");
    for (;;) {
        Queued next;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [this] { return closing_ || !queue_.empty(); });
            if (queue_.empty()) return;
            next = std::move(queue_.front());
            queue_.pop_front();
        }
        try {
            next.job();
        } catch (...) {
            // Jobs report their own failures; one that escapes must not end the thread.
        }
        done_.finished(next.ticket);
    }
}

}  // namespace feblam
