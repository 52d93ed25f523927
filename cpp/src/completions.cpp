// Finished tickets and their eventfd (completions.hpp).
#include "feblam/completions.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace feblam {

Completions::Completions() {
    fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
}

Completions::~Completions() { ::close(fd_); }

void Completions::finished(const std::vector<std::uint64_t>& tickets) {
    if (tickets.empty()) return;
    bool first = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        first = done_.empty();
        done_.insert(done_.end(), tickets.begin(), tickets.end());
    }
    if (first) {
        const std::uint64_t one = 1;
        while (::write(fd_, &one, sizeof one) < 0 && errno == EINTR) {
        }
    }
}

std::vector<std::uint64_t> Completions::take() {
    std::uint64_t counter = 0;
    // Reset first: a ticket finishing after the swap below signals again, so none is missed.
    while (::read(fd_, &counter, sizeof counter) < 0 && errno == EINTR) {
    }
    std::vector<std::uint64_t> out;
    std::lock_guard<std::mutex> lock(mutex_);
    out.swap(done_);
    return out;
}

}  // namespace feblam
