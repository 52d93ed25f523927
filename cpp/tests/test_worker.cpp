// The batch worker: jobs run in order on one thread, finished tickets are announced on the fd.
#include <doctest/doctest.h>

#include <poll.h>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "feblam/worker.hpp"

using namespace feblam;

namespace {

bool readable(int fd, int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

}  // namespace

TEST_CASE("jobs run in the order they came and their tickets are announced") {
    BatchWorker worker;
    std::vector<int> order;
    for (int i = 0; i < 50; ++i) {
        worker.submit(static_cast<std::uint64_t>(i + 1), [&order, i] { order.push_back(i); });
    }
    std::vector<std::uint64_t> done;
    while (done.size() < 50) {
        REQUIRE(readable(worker.notify_fd(), 2000));
        for (const std::uint64_t t : worker.take_done()) done.push_back(t);
    }
    for (std::size_t i = 0; i < done.size(); ++i) CHECK(done[i] == i + 1);
    REQUIRE(order.size() == 50);
    for (int i = 0; i < 50; ++i) CHECK(order[static_cast<std::size_t>(i)] == i);
    // Everything taken: the descriptor is quiet until the next job finishes.
    CHECK_FALSE(readable(worker.notify_fd(), 0));
    worker.submit(99, [] {});
    REQUIRE(readable(worker.notify_fd(), 2000));
    CHECK(worker.take_done() == std::vector<std::uint64_t>{99});
}

TEST_CASE("close runs what is queued, a throwing job does not stop the thread, then submit fails") {
    BatchWorker worker;
    std::atomic<int> ran{0};
    worker.submit(1, [] { throw std::runtime_error("job failure"); });
    for (int i = 0; i < 20; ++i) worker.submit(static_cast<std::uint64_t>(i + 2), [&ran] { ++ran; });
    worker.close();
    CHECK(ran.load() == 20);
    CHECK(worker.take_done().size() == 21);
    CHECK_THROWS_AS(worker.submit(100, [] {}), std::logic_error);
    worker.close();  // idempotent
}

TEST_CASE("with several threads every job runs once and every ticket is announced once") {
    BatchWorker worker(4);
    std::vector<std::atomic<int>> runs(200);
    for (std::size_t i = 0; i < runs.size(); ++i) {
        worker.submit(i, [&runs, i] { runs[i].fetch_add(1); });
    }
    std::vector<int> announced(runs.size(), 0);
    std::size_t seen = 0;
    while (seen < runs.size()) {
        REQUIRE(readable(worker.notify_fd(), 2000));
        for (const std::uint64_t t : worker.take_done()) {
            REQUIRE(t < announced.size());
            ++announced[t];
            ++seen;
        }
    }
    worker.close();
    for (std::size_t i = 0; i < runs.size(); ++i) {
        CHECK(runs[i].load() == 1);
        CHECK(announced[i] == 1);
    }
    CHECK(worker.take_done().empty());
}
