// The outbox's native writer: operations in from Python, results out through a descriptor.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "feblam/outbox_writer.hpp"
#include "register.hpp"

namespace feblam::py {

namespace {

namespace pyb = pybind11;

using ItemTuple = std::tuple<std::string, int, int, double, std::int64_t, std::string>;
using WindowTuple = std::tuple<std::string, std::string, int, std::int64_t, std::int64_t>;

class PyOutboxWriter {
public:
    PyOutboxWriter(const std::string& path, bool full_sync) : writer_(path, full_sync) {}

    ~PyOutboxWriter() {
        // The thread commits what is queued before it stops; it never takes the GIL.
        pyb::gil_scoped_release release;
        writer_.close();
    }

    std::uint64_t insert(const std::vector<ItemTuple>& items,
                         const std::vector<WindowTuple>& windows, const pyb::object& memory,
                         const pyb::array_t<std::uint64_t, pyb::array::c_style |
                                                               pyb::array::forcecast>& read_ids) {
        OutboxOp op;
        if (!memory.is_none()) {
            op.memory = &memory.cast<ReadIdMemory&>();
            op.read_ids.assign(read_ids.data(), read_ids.data() + read_ids.size());
        }
        op.kind = OutboxOp::Kind::insert;
        op.items.reserve(items.size());
        for (const auto& [id, kind, priority, rank, created_us, payload] : items) {
            op.items.push_back(OutboxRow{id, kind, priority, rank, created_us, payload});
        }
        op.windows.reserve(windows.size());
        for (const auto& [key, hit_id, priority, opened_us, until_us] : windows) {
            op.windows.push_back(WindowRow{key, hit_id, priority, opened_us, until_us});
        }
        const std::uint64_t ticket = writer_.submit(std::move(op));
        // The writer thread remembers into the memory: it stays alive until the op is collected.
        if (!memory.is_none()) held_.emplace(ticket, memory);
        return ticket;
    }

    std::uint64_t seqs(OutboxOp::Kind kind, std::vector<std::int64_t> seqs, bool lazy) {
        OutboxOp op;
        op.kind = kind;
        op.seqs = std::move(seqs);
        op.lazy = lazy;
        return writer_.submit(std::move(op));
    }

    std::uint64_t forget(std::int64_t until_us) {
        OutboxOp op;
        op.kind = OutboxOp::Kind::forget;
        op.until_us = until_us;
        return writer_.submit(std::move(op));
    }

    pyb::list collect() {
        pyb::list out;
        for (const auto& [ticket, result] : writer_.take_done()) {
            held_.erase(ticket);
            out.append(pyb::make_tuple(ticket, result.count, result.error, result.seqs));
        }
        return out;
    }

    int fileno() const noexcept { return writer_.notify_fd(); }

    void close() {
        pyb::gil_scoped_release release;
        writer_.close();
    }

private:
    OutboxWriter writer_;
    std::unordered_map<std::uint64_t, pyb::object> held_;  // by ticket: memories in use
};

}  // namespace

void register_outbox(pyb::module_& m) {
    pyb::class_<PyOutboxWriter>(m, "OutboxWriter",
                                "The outbox's writer thread: group commits without the GIL.")
        .def(pyb::init<const std::string&, bool>(), pyb::arg("path"), pyb::arg("full_sync"),
             "Opens an outbox database that already holds its tables.")
        .def("insert", &PyOutboxWriter::insert, pyb::arg("items"), pyb::arg("windows"),
             pyb::arg("memory") = pyb::none(),
             pyb::arg("read_ids") = pyb::array_t<std::uint64_t>(0),
             "Queues (item_id, kind, priority, rank, created_us, payload) items and (key, hit_id, "
             "priority, opened_us, until_us) windows to store in one transaction; returns a "
             "ticket whose count is the number of items that were new. With a ReadIdMemory, "
             "read_ids (keyed hashes) are remembered in it once the transaction committed, "
             "before the ticket is reported; not when it failed.")
        .def("remove", [](PyOutboxWriter& self, std::vector<std::int64_t> seqs, bool lazy) {
                 return self.seqs(OutboxOp::Kind::remove, std::move(seqs), lazy);
             }, pyb::arg("seqs"), pyb::arg("lazy") = false,
             "Queues the deletion of delivered items; count: deleted. A lazy deletion waits a "
             "moment for other work to share its transaction.")
        .def("attempt", [](PyOutboxWriter& self, std::vector<std::int64_t> seqs) {
                 return self.seqs(OutboxOp::Kind::attempt, std::move(seqs), false);
             }, pyb::arg("seqs"), "Queues one more failed attempt for each item.")
        .def("forget", &PyOutboxWriter::forget, pyb::arg("until_us"),
             "Queues the deletion of suppression windows closed by until_us.")
        .def("collect", &PyOutboxWriter::collect,
             "Finished operations: (ticket, count, error text or '', seqs of inserted items).")
        .def("fileno", &PyOutboxWriter::fileno, "Readable while finished operations wait.")
        .def("close", &PyOutboxWriter::close, "Commits what is queued and stops the thread.");
}

}  // namespace feblam::py
