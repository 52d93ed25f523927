// The outbox's writer thread on SQLite's C API (outbox_writer.hpp).
#include "feblam/outbox_writer.hpp"

#include "feblam/thread_name.hpp"

#include <sqlite3.h>

#include <chrono>
#include <limits>
#include <stdexcept>

namespace feblam {

namespace {

constexpr const char* kInsertItem =
    "INSERT OR IGNORE INTO outbox (item_id, kind, priority, rank, created_us, payload)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr const char* kInsertWindow =
    "INSERT OR REPLACE INTO suppression (key, hit_id, priority, opened_us, until_us)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr const char* kRemove = "DELETE FROM outbox WHERE seq = ?1";
constexpr const char* kAttempt = "UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?1";
constexpr const char* kForget = "DELETE FROM suppression WHERE until_us <= ?1";
// How long a group of lazy operations waits for other work to share its transaction.
constexpr std::chrono::milliseconds kLazyLinger{5};

int text_length(const std::string& s) {
    if (s.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
        throw std::runtime_error("an outbox value is longer than SQLite allows");
    }
    return static_cast<int>(s.size());
}

// Resets a statement however the step ended, so a failed group leaves none half-run.
struct Reset {
    sqlite3_stmt* statement;
    ~Reset() {
        sqlite3_reset(statement);
        sqlite3_clear_bindings(statement);
    }
};

}  // namespace

OutboxWriter::OutboxWriter(const std::string& path, bool full_sync) : full_sync_(full_sync) {
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
        const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close_v2(db_);
        db_ = nullptr;
        throw std::runtime_error("cannot open the outbox " + path + ": " + why);
    }
    try {
        sqlite3_busy_timeout(db_, 5000);
        exec("PRAGMA journal_mode=WAL");
        // NORMAL survives a crash of the process (SIGKILL), FULL also a loss of power.
        exec(full_sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
        synced_ = full_sync;
        const std::pair<const char*, sqlite3_stmt**> statements[] = {
            {kInsertItem, &insert_item_}, {kInsertWindow, &insert_window_}, {kRemove, &remove_},
            {kAttempt, &attempt_}, {kForget, &forget_}};
        for (const auto& [sql, out] : statements) {
            if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, out, nullptr) !=
                SQLITE_OK) {
                fail("cannot prepare the outbox's statements");
            }
        }
        thread_ = std::thread([this] { run(); });
    } catch (...) {
        for (sqlite3_stmt* s : {insert_item_, insert_window_, remove_, attempt_, forget_}) {
            sqlite3_finalize(s);
        }
        sqlite3_close_v2(db_);
        db_ = nullptr;
        throw;
    }
}

OutboxWriter::~OutboxWriter() { close(); }

std::uint64_t OutboxWriter::submit(OutboxOp op) {
    std::uint64_t ticket = 0;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (closing_) throw std::logic_error("the outbox writer is closed");
        ticket = next_ticket_++;
        queue_.emplace_back(ticket, std::move(op));
    }
    wake_.notify_one();
    return ticket;
}

void OutboxWriter::close() {
    // One closer at a time: a second caller waits, then finds the writer closed.
    const std::lock_guard<std::mutex> one(close_mutex_);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (joined_) return;
        closing_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    for (sqlite3_stmt* s : {insert_item_, insert_window_, remove_, attempt_, forget_}) {
        sqlite3_finalize(s);
    }
    insert_item_ = insert_window_ = remove_ = attempt_ = forget_ = nullptr;
    sqlite3_close_v2(db_);
    db_ = nullptr;
    std::lock_guard<std::mutex> lock(mutex_);
    joined_ = true;
}

void OutboxWriter::run() {
    name_this_thread("feblam-outbox");
    for (;;) {
        std::vector<std::pair<std::uint64_t, OutboxOp>> group;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [this] { return closing_ || !queue_.empty(); });
            if (queue_.empty()) return;
            const auto all_lazy = [this] {
                for (const auto& q : queue_) {
                    if (!q.second.lazy) return false;
                }
                return true;
            };
            if (all_lazy() && !closing_) {
                wake_.wait_for(lock, kLazyLinger, [&] { return closing_ || !all_lazy(); });
            }
            // Everything queued now goes in one transaction.
            group.assign(std::make_move_iterator(queue_.begin()),
                         std::make_move_iterator(queue_.end()));
            queue_.clear();
        }
        std::vector<std::pair<std::uint64_t, OutboxResult>> results;
        commit_group(group, results);
        done_.finished(std::move(results));
    }
}

void OutboxWriter::commit_group(std::vector<std::pair<std::uint64_t, OutboxOp>>& group,
                                std::vector<std::pair<std::uint64_t, OutboxResult>>& results) {
    results.clear();
    for (const auto& g : group) results.emplace_back(g.first, OutboxResult{});
    try {
        if (full_sync_) {
            // Only new items need a sync to disk before they are reported. A deletion or a count
            // of attempts lost with the power only sends an item again, and the gateway keeps
            // one copy per hit id; the next synced commit makes them durable too (the WAL is
            // written in order).
            bool inserts = false;
            for (const auto& g : group) inserts |= g.second.kind == OutboxOp::Kind::insert;
            if (inserts != synced_) {
                exec(inserts ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
                synced_ = inserts;
            }
        }
        exec("BEGIN IMMEDIATE");
        // Inserts first: deletions name items the sender took, which an earlier group committed.
        for (const bool inserts : {true, false}) {
            for (std::size_t i = 0; i < group.size(); ++i) {
                if ((group[i].second.kind == OutboxOp::Kind::insert) == inserts) {
                    results[i].second = apply(group[i].second);
                }
            }
        }
        exec("COMMIT");
    } catch (const std::exception& e) {
        if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        for (auto& r : results) r.second = OutboxResult{0, e.what(), {}};
        return;
    }
    for (const auto& g : group) {
        const OutboxOp& op = g.second;
        if (op.memory == nullptr) continue;
        try {
            op.memory->remember(op.read_ids.data(), op.read_ids.size());
        } catch (const std::exception&) {
            // Only the memory's lock can fail here. The hits are durable all the same, and a
            // read sent again finds its hit id already in the outbox or at the gateway.
        }
    }
}

OutboxResult OutboxWriter::apply(const OutboxOp& op) {
    OutboxResult result;
    std::int64_t& count = result.count;
    switch (op.kind) {
    case OutboxOp::Kind::insert:
        result.seqs.reserve(op.items.size());
        for (const OutboxRow& row : op.items) {
            const Reset reset{insert_item_};
            sqlite3_bind_text(insert_item_, 1, row.item_id.data(), text_length(row.item_id),
                              SQLITE_STATIC);
            sqlite3_bind_int(insert_item_, 2, row.kind);
            sqlite3_bind_int(insert_item_, 3, row.priority);
            sqlite3_bind_double(insert_item_, 4, row.rank);
            sqlite3_bind_int64(insert_item_, 5, row.created_us);
            sqlite3_bind_blob(insert_item_, 6, row.payload.data(), text_length(row.payload),
                              SQLITE_STATIC);
            step(insert_item_);
            const bool stored = sqlite3_changes(db_) == 1;
            count += stored ? 1 : 0;
            result.seqs.push_back(stored ? sqlite3_last_insert_rowid(db_) : 0);
        }
        for (const WindowRow& w : op.windows) {
            const Reset reset{insert_window_};
            sqlite3_bind_text(insert_window_, 1, w.key.data(), text_length(w.key), SQLITE_STATIC);
            sqlite3_bind_text(insert_window_, 2, w.hit_id.data(), text_length(w.hit_id),
                              SQLITE_STATIC);
            sqlite3_bind_int(insert_window_, 3, w.priority);
            sqlite3_bind_int64(insert_window_, 4, w.opened_us);
            sqlite3_bind_int64(insert_window_, 5, w.until_us);
            step(insert_window_);
        }
        break;
    case OutboxOp::Kind::remove:
    case OutboxOp::Kind::attempt: {
        sqlite3_stmt* statement = op.kind == OutboxOp::Kind::remove ? remove_ : attempt_;
        for (const std::int64_t seq : op.seqs) {
            const Reset reset{statement};
            sqlite3_bind_int64(statement, 1, seq);
            step(statement);
            count += sqlite3_changes(db_);
        }
        break;
    }
    case OutboxOp::Kind::forget: {
        const Reset reset{forget_};
        sqlite3_bind_int64(forget_, 1, op.until_us);
        step(forget_);
        count = sqlite3_changes(db_);
        break;
    }
    }
    return result;
}

void OutboxWriter::exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(sql);
}

void OutboxWriter::step(sqlite3_stmt* statement) {
    if (sqlite3_step(statement) != SQLITE_DONE) fail("an outbox write failed");
}

void OutboxWriter::fail(const char* what) {
    throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(db_));
}

}  // namespace feblam
