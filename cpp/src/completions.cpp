// The eventfd behind Completions (completions.hpp).
#include "feblam/completions.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

namespace feblam {

ReadyFd::ReadyFd() {
    fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
}

ReadyFd::~ReadyFd() { ::close(fd_); }

void ReadyFd::signal() noexcept {
    const std::uint64_t one = 1;
    while (::write(fd_, &one, sizeof one) < 0 && errno == EINTR) {
    }
}

void ReadyFd::clear() noexcept {
    std::uint64_t counter = 0;
    while (::read(fd_, &counter, sizeof counter) < 0 && errno == EINTR) {
    }
}

}  // namespace feblam
