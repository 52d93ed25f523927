// The outbox's writer: one thread that owns every write to the outbox database and commits all
// the operations queued since its last commit in one transaction (group commit), so concurrent
// batches share one sync to disk. It runs without the GIL and reports finished operations through
// Completions; the event loop never waits on it and never competes with it for the interpreter.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "feblam/completions.hpp"
#include "feblam/keyed.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace feblam {

// A serialized Hit or Sighting to deliver.
struct OutboxRow {
    std::string item_id;
    int kind = 0;
    int priority = 0;
    double rank = 0.0;
    std::int64_t created_us = 0;
    std::string payload;
};

// A suppression window a hit opened (its key holds keyed hashes, never a plate).
struct WindowRow {
    std::string key;
    std::string hit_id;
    int priority = 0;
    std::int64_t opened_us = 0;
    std::int64_t until_us = 0;
};

struct OutboxOp {
    enum class Kind { insert, remove, attempt, forget };
    Kind kind = Kind::insert;
    std::vector<OutboxRow> items;      // insert
    std::vector<WindowRow> windows;    // insert, in the same transaction as its items
    // insert: read ids to remember once the transaction holding the op committed, before the
    // op is reported. A batch's ids are remembered only with its hits durable (a batch that
    // failed may be sent again), and before its acknowledgement can go out.
    ReadIdMemory* memory = nullptr;
    std::vector<std::uint64_t> read_ids;
    std::vector<std::int64_t> seqs;    // remove (delivered) and attempt (failed)
    std::int64_t until_us = 0;         // forget: windows that closed by then
    // Nobody waits for it (a deletion the sender does not await): a group of lazy operations
    // only waits a moment for other work to commit with, so it costs no transaction of its own
    // while batches are coming in.
    bool lazy = false;
};

// What an operation did: items newly stored (insert; ids already present are ignored), items
// deleted (remove), items counted (attempt), windows forgotten (forget). A failed group reports
// its database error to every operation in it.
struct OutboxResult {
    std::int64_t count = 0;
    std::string error;
    std::vector<std::int64_t> seqs;  // insert: each item's seq, 0 where its id was already stored
};

class OutboxWriter {
public:
    // Opens the database (which must hold the outbox's tables) in WAL mode; full_sync syncs every
    // commit to disk (survives a loss of power), else only a crash of the process is survived.
    // Throws std::runtime_error when the database cannot be opened or lacks the tables.
    OutboxWriter(const std::string& path, bool full_sync);
    ~OutboxWriter();
    OutboxWriter(const OutboxWriter&) = delete;
    OutboxWriter& operator=(const OutboxWriter&) = delete;

    // Queues an operation; its ticket is reported once the group holding it is committed or
    // failed. Throws std::logic_error after close().
    std::uint64_t submit(OutboxOp op);
    // Results of the operations finished since the last call.
    std::vector<std::pair<std::uint64_t, OutboxResult>> take_done() { return done_.take(); }
    // Readable while finished operations wait to be taken.
    int notify_fd() const noexcept { return done_.fd(); }
    // Commits what is queued, then stops the thread and closes the database. Idempotent.
    void close();

private:
    void run();
    void commit_group(std::vector<std::pair<std::uint64_t, OutboxOp>>& group,
                      std::vector<std::pair<std::uint64_t, OutboxResult>>& results);
    OutboxResult apply(const OutboxOp& op);
    void exec(const char* sql);
    void step(sqlite3_stmt* statement);
    [[noreturn]] void fail(const char* what);

    bool full_sync_ = true;
    bool synced_ = true;  // whether commits sync now (FULL); touched by the writer thread only
    sqlite3* db_ = nullptr;
    sqlite3_stmt* insert_item_ = nullptr;
    sqlite3_stmt* insert_window_ = nullptr;
    sqlite3_stmt* remove_ = nullptr;
    sqlite3_stmt* attempt_ = nullptr;
    sqlite3_stmt* forget_ = nullptr;

    std::mutex close_mutex_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::pair<std::uint64_t, OutboxOp>> queue_;
    std::uint64_t next_ticket_ = 1;
    bool closing_ = false;
    bool joined_ = false;
    Completions<std::pair<std::uint64_t, OutboxResult>> done_;
    std::thread thread_;
};

}  // namespace feblam
