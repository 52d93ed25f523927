// The outbox's writer thread: group commits on a real SQLite file, all or nothing per group.
#include <doctest/doctest.h>

#include <poll.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>

#include "feblam/outbox_writer.hpp"

using namespace feblam;

namespace {

// The outbox's tables as the Python package creates them (feblam/hits/outbox.py).
constexpr const char* kSchema = R"(
CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, item_id TEXT NOT NULL UNIQUE,
    kind INTEGER NOT NULL, priority INTEGER NOT NULL, rank REAL NOT NULL,
    created_us INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, payload BLOB NOT NULL);
CREATE TABLE suppression (key TEXT PRIMARY KEY, hit_id TEXT NOT NULL, priority INTEGER NOT NULL,
    opened_us INTEGER NOT NULL, until_us INTEGER NOT NULL);
CREATE TRIGGER refuse_poison BEFORE INSERT ON outbox WHEN NEW.item_id = 'poison'
BEGIN SELECT RAISE(ABORT, 'poisoned item'); END;
)";

struct TempDatabase {
    std::filesystem::path path;
    TempDatabase() {
        path = std::filesystem::temp_directory_path() /
               ("feblam-outbox-test-" + std::to_string(::getpid()) + "-" +
                std::to_string(counter()++) + ".db");
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
        REQUIRE(sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(db);
    }
    ~TempDatabase() {
        for (const char* suffix : {"", "-wal", "-shm"}) {
            std::error_code ignored;
            std::filesystem::remove(path.string() + suffix, ignored);
        }
    }
    static int& counter() {
        static int n = 0;
        return n;
    }
    // One integer a query answers.
    std::int64_t scalar(const char* sql) const {
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
        sqlite3_stmt* s = nullptr;
        REQUIRE(sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK);
        REQUIRE(sqlite3_step(s) == SQLITE_ROW);
        const std::int64_t v = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        sqlite3_close(db);
        return v;
    }
};

OutboxOp insert(std::initializer_list<const char*> ids, int priority = 1) {
    OutboxOp op;
    for (const char* id : ids) {
        op.items.push_back(OutboxRow{id, 1, priority, 0.5, 1000, std::string("payload-") + id});
    }
    return op;
}

OutboxOp on_seqs(OutboxOp::Kind kind, std::vector<std::int64_t> seqs) {
    OutboxOp op;
    op.kind = kind;
    op.seqs = std::move(seqs);
    return op;
}

// Waits on the descriptor until every ticket has its result.
std::map<std::uint64_t, OutboxResult> await_all(OutboxWriter& writer, std::size_t n) {
    std::map<std::uint64_t, OutboxResult> out;
    while (out.size() < n) {
        pollfd p{writer.notify_fd(), POLLIN, 0};
        REQUIRE(poll(&p, 1, 5000) == 1);
        for (auto& [ticket, result] : writer.take_done()) out[ticket] = result;
    }
    return out;
}

}  // namespace

TEST_CASE("inserts count new items only; deletions and attempts count the rows they touch") {
    TempDatabase file;
    OutboxWriter writer(file.path.string(), true);
    const std::uint64_t a = writer.submit(insert({"h1", "h2", "h3"}));
    const std::uint64_t b = writer.submit(insert({"h3", "h4"}));
    auto done = await_all(writer, 2);
    CHECK(done[a].error.empty());
    CHECK(done[a].count == 3);
    CHECK(done[b].count == 1);  // h3 is already stored
    REQUIRE(done[a].seqs.size() == 3);
    REQUIRE(done[b].seqs.size() == 2);
    CHECK(done[b].seqs[0] == 0);
    CHECK(done[b].seqs[1] == file.scalar("SELECT seq FROM outbox WHERE item_id = 'h4'"));
    CHECK(done[a].seqs[2] == file.scalar("SELECT seq FROM outbox WHERE item_id = 'h3'"));
    CHECK(file.scalar("SELECT COUNT(*) FROM outbox") == 4);

    const std::int64_t h4 = file.scalar("SELECT seq FROM outbox WHERE item_id = 'h4'");
    const std::uint64_t r = writer.submit(on_seqs(OutboxOp::Kind::remove, {1, 2, 999}));
    const std::uint64_t t = writer.submit(on_seqs(OutboxOp::Kind::attempt, {3, 3, h4}));
    done = await_all(writer, 2);
    CHECK(done[r].count == 2);
    CHECK(done[t].count == 3);
    CHECK(file.scalar("SELECT COUNT(*) FROM outbox") == 2);
    CHECK(file.scalar("SELECT attempts FROM outbox WHERE seq = 3") == 2);
}

TEST_CASE("a lazy deletion commits with the next insert, or alone after a moment") {
    TempDatabase file;
    OutboxWriter writer(file.path.string(), true);
    writer.submit(insert({"a", "b", "c"}));
    await_all(writer, 1);
    OutboxOp lazy = on_seqs(OutboxOp::Kind::remove, {1});
    lazy.lazy = true;
    const std::uint64_t alone = writer.submit(std::move(lazy));
    CHECK(await_all(writer, 1)[alone].count == 1);
    lazy = on_seqs(OutboxOp::Kind::remove, {2});
    lazy.lazy = true;
    const std::uint64_t shared = writer.submit(std::move(lazy));
    const std::uint64_t fresh = writer.submit(insert({"d"}));
    auto done = await_all(writer, 2);
    CHECK(done[shared].count == 1);
    CHECK(done[fresh].count == 1);
    CHECK(file.scalar("SELECT COUNT(*) FROM outbox") == 2);
}

TEST_CASE("windows are stored with their items and forgotten once closed") {
    TempDatabase file;
    OutboxWriter writer(file.path.string(), false);
    OutboxOp op = insert({"h1"});
    op.windows.push_back(WindowRow{"k1", "h1", 1, 100, 200});
    op.windows.push_back(WindowRow{"k2", "h1", 1, 100, 900});
    writer.submit(std::move(op));
    OutboxOp forget;
    forget.kind = OutboxOp::Kind::forget;
    forget.until_us = 500;
    const std::uint64_t f = writer.submit(std::move(forget));
    auto done = await_all(writer, 2);
    CHECK(done[f].count == 1);
    CHECK(file.scalar("SELECT COUNT(*) FROM suppression") == 1);
}

TEST_CASE("a failing operation fails its whole group and nothing of it is stored") {
    TempDatabase file;
    OutboxWriter writer(file.path.string(), true);
    writer.submit(insert({"kept"}));
    await_all(writer, 1);
    // The two may share a group or not; either way the failing one stores nothing.
    const std::uint64_t good = writer.submit(insert({"g1", "g2"}));
    const std::uint64_t bad = writer.submit(insert({"x", "poison"}));
    auto done = await_all(writer, 2);
    CHECK_FALSE(done[bad].error.empty());
    CHECK(done[bad].error.find("poisoned item") != std::string::npos);
    CHECK(file.scalar("SELECT COUNT(*) FROM outbox WHERE item_id IN ('x', 'poison')") == 0);
    // The good operation either shared the failed group (and failed with it) or was committed.
    if (done[good].error.empty()) {
        CHECK(file.scalar("SELECT COUNT(*) FROM outbox WHERE item_id IN ('g1', 'g2')") == 2);
    } else {
        CHECK(file.scalar("SELECT COUNT(*) FROM outbox WHERE item_id IN ('g1', 'g2')") == 0);
    }
    // The writer goes on after a failed group.
    const std::uint64_t after = writer.submit(insert({"later"}));
    CHECK(await_all(writer, 1)[after].count == 1);
    CHECK(file.scalar("SELECT COUNT(*) FROM outbox WHERE item_id = 'kept'") == 1);
}

TEST_CASE("close commits what is queued, then submit fails") {
    TempDatabase file;
    OutboxWriter writer(file.path.string(), true);
    for (int i = 0; i < 30; ++i) writer.submit(insert({("c" + std::to_string(i)).c_str()}));
    writer.close();
    CHECK(writer.take_done().size() == 30);
    CHECK(file.scalar("SELECT COUNT(*) FROM outbox") == 30);
    CHECK_THROWS_AS(writer.submit(insert({"late"})), std::logic_error);
    writer.close();  // idempotent
}

TEST_CASE("a database without the outbox's tables is refused at once") {
    const auto path = std::filesystem::temp_directory_path() /
                      ("feblam-outbox-empty-" + std::to_string(::getpid()) + ".db");
    {
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
        sqlite3_close(db);
    }
    CHECK_THROWS_AS(OutboxWriter(path.string(), true), std::runtime_error);
    CHECK_THROWS_AS(OutboxWriter("/nonexistent-dir/feblam/outbox.db", true), std::runtime_error);
    std::filesystem::remove(path);
}

TEST_CASE("two threads closing at once both return, and what was queued is committed once") {
    TempDatabase file;
    OutboxWriter writer(file.path.string(), false);
    for (int i = 0; i < 10; ++i) writer.submit(insert({("q" + std::to_string(i)).c_str()}));
    std::thread other([&] { writer.close(); });
    writer.close();
    other.join();
    CHECK(writer.take_done().size() == 10);
    CHECK(file.scalar("SELECT COUNT(*) FROM outbox") == 10);
}
