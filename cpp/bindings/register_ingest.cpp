// The engine's ingest path: a serialized ReadBatch in, numpy columns out, no message per read.
#include <pybind11/numpy.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "feblam/bytes.hpp"
#include "feblam/intake.hpp"
#include "feblam/keyed.hpp"
#include "feblam/matcher.hpp"
#include "feblam/normalise.hpp"
#include "feblam/wire.hpp"
#include "feblam/worker.hpp"
#include "register.hpp"

namespace feblam::py {

namespace {

namespace pyb = pybind11;
using U64 = pyb::array_t<std::uint64_t>;
using I64 = pyb::array_t<std::int64_t>;

std::string_view view_of(const pyb::bytes& data) {
    char* p = nullptr;
    pyb::ssize_t n = 0;
    if (PyBytes_AsStringAndSize(data.ptr(), &p, &n) != 0) throw pyb::error_already_set();
    return {p, static_cast<std::size_t>(n)};
}

// A text column as one blob plus cumulative code-point ends, built without Python (on the intake
// worker for the engine's batches) so that the loop only wraps it.
struct PackedText {
    std::string blob;
    std::vector<std::int64_t> starts;   // each text's first code point in blob
    std::vector<std::int64_t> ends;
    bool ascii = true;
};

template <class Field>
PackedText pack_texts(const std::vector<WireRead>& reads, Field field) {
    PackedText out;
    std::size_t bytes = 0;
    for (const WireRead& r : reads) bytes += field(r).size();
    out.blob.resize(bytes);
    out.starts.resize(reads.size());
    out.ends.resize(reads.size());
    char* to = out.blob.data();
    for (const WireRead& r : reads) {
        const std::string_view text = field(r);
        if (!text.empty()) std::memcpy(to, text.data(), text.size());
        to += text.size();
    }
    out.ascii = is_ascii(out.blob);
    std::int64_t chars = 0;
    for (std::size_t i = 0; i < reads.size(); ++i) {
        const std::string_view text = field(reads[i]);
        out.starts[i] = chars;
        if (out.ascii) {
            chars += static_cast<std::int64_t>(text.size());
        } else {
            // Code points are counted by their lead bytes; the reader has checked the UTF-8.
            for (const char ch : text) chars += (static_cast<unsigned char>(ch) & 0xC0u) != 0x80u;
        }
        out.ends[i] = chars;
    }
    return out;
}

// The three text columns the service keeps of a batch, and where each read's bytes lie in the
// batch (a hit carries its read as the integrator sent it).
struct PackedColumns {
    PackedText read_ids;
    PackedText camera_ids;
    PackedText countries;
    std::vector<std::int64_t> begin;
    std::vector<std::int64_t> end;
};

PackedColumns pack_columns(const IntakeColumns& c) {
    const std::vector<WireRead>& reads = c.batch.reads;
    PackedColumns out{pack_texts(reads, [](const WireRead& r) { return r.read_id; }),
                      pack_texts(reads, [](const WireRead& r) { return r.camera_id; }),
                      pack_texts(reads, [](const WireRead& r) { return r.country; }),
                      std::vector<std::int64_t>(reads.size()),
                      std::vector<std::int64_t>(reads.size())};
    for (std::size_t i = 0; i < reads.size(); ++i) {
        out.begin[i] = static_cast<std::int64_t>(reads[i].begin);
        out.end[i] = static_cast<std::int64_t>(reads[i].end);
    }
    return out;
}

// A column handed to numpy without a copy: the array owns the vector. The worker thread made
// it, so its memory may still sit in the other core's cache; a copy on the event loop's thread
// dragged all of it over, while most columns are read only in part or not at all.
template <class T>
pyb::array owned_array(std::vector<T>&& values, const pyb::dtype& dtype, std::size_t count) {
    auto owner = std::make_unique<std::vector<T>>(std::move(values));
    const T* data = owner->data();
    pyb::capsule base(owner.get(), [](void* p) { delete static_cast<std::vector<T>*>(p); });
    owner.release();  // the capsule deletes it from here on
    const std::vector<pyb::ssize_t> shape{static_cast<pyb::ssize_t>(count)};
    return pyb::array(dtype, shape, {}, data, base);
}

template <class T>
pyb::array owned_array(std::vector<T>&& values) {
    const std::size_t count = values.size();
    return owned_array(std::move(values), pyb::dtype::of<T>(), count);
}

// Fixed-width byte cells ('S' dtype), as many as the batch has reads.
pyb::array owned_cells(std::vector<char>&& cells, std::size_t width, std::size_t n) {
    return owned_array(std::move(cells), pyb::dtype("S" + std::to_string(width)), n);
}

// (str, ends, starts): one Python object per column, whose texts are sliced by code points.
pyb::tuple text_column(PackedText&& t) {
    const pyb::array ends = owned_array(std::move(t.ends));
    const pyb::array starts = owned_array(std::move(t.starts));
    if (t.ascii) {
        // Ids are almost always ASCII: the str is filled directly, skipping the UTF-8 decoder.
        PyObject* text = PyUnicode_New(static_cast<Py_ssize_t>(t.blob.size()), 127);
        if (text == nullptr) throw pyb::error_already_set();
        std::memcpy(PyUnicode_1BYTE_DATA(text), t.blob.data(), t.blob.size());
        return pyb::make_tuple(pyb::reinterpret_steal<pyb::str>(text), ends, starts);
    }
    return pyb::make_tuple(pyb::str(t.blob.data(), t.blob.size()), ends, starts);
}

IntakeRules rules_of(std::uint64_t plate_seed, std::uint64_t id_seed, const pyb::bytes& ocr_table) {
    const std::string_view ocr = view_of(ocr_table);
    if (ocr.size() != 256) throw std::invalid_argument("ocr_table must map all 256 byte values");
    IntakeRules rules;
    rules.plate_key = HashKey(plate_seed);
    rules.id_key = HashKey(id_seed);
    std::memcpy(rules.ocr, ocr.data(), 256);
    return rules;
}

std::string malformed(WireError error) {
    return std::string("ReadBatch is malformed: ") + describe(error);
}

// The columns as the service takes them (read_batch_columns' documentation lists them); they
// take over the vectors of c and texts.
pyb::dict columns_dict(IntakeColumns&& c, PackedColumns&& texts) {
    const std::size_t n = c.batch.reads.size();
    pyb::dict out;
    out["batch_id"] = pyb::str(c.batch.batch_id.data(), c.batch.batch_id.size());
    out["begin"] = owned_array(std::move(texts.begin));
    out["end"] = owned_array(std::move(texts.end));
    out["read_ids"] = text_column(std::move(texts.read_ids));
    out["camera_ids"] = text_column(std::move(texts.camera_ids));
    out["countries"] = text_column(std::move(texts.countries));
    out["country"] = owned_cells(std::move(c.country), c.country_width, n);
    out["observed_us"] = owned_array(std::move(c.observed_us));
    out["confidence"] = owned_array(std::move(c.confidence));
    out["canonical"] = owned_cells(std::move(c.canonical), kMaxPlateLen, n);
    out["plate_status"] = owned_array(std::move(c.plate_status));
    out["plate_hash"] = owned_array(std::move(c.plate_hash));
    out["ocr_hash"] = owned_array(std::move(c.ocr_hash));
    out["problem"] = owned_array(std::move(c.problem));
    out["problems"] = c.problems;
    out["newest_ok_us"] = c.newest_ok_us;
    out["confidence64"] = owned_array(std::move(c.confidence64));
    out["read_id_hash"] = owned_array(std::move(c.read_id_hash));
    out["camera_hash"] = owned_array(std::move(c.camera_hash));
    return out;
}

// The camera registry as the intake checks it: keyed camera-id hashes, sorted, immutable.
struct CameraSet {
    std::vector<std::uint64_t> hashes;
};

// The optional screening arguments (None or the object) as the core's IntakeScreen.
IntakeScreen screen_of(const pyb::object& known_cameras, const pyb::object& memory) {
    IntakeScreen screen;
    if (!known_cameras.is_none()) {
        screen.known_cameras = &known_cameras.cast<const CameraSet&>().hashes;
    }
    if (!memory.is_none()) screen.memory = &memory.cast<const ReadIdMemory&>();
    return screen;
}

pyb::dict read_batch_columns(const pyb::bytes& data, std::uint64_t plate_seed,
                             std::uint64_t id_seed, const pyb::bytes& ocr_table,
                             std::int64_t min_observed_us, std::int64_t max_observed_us,
                             const pyb::object& known_cameras, const pyb::object& memory,
                             std::uint64_t read_scope) {
    const std::string_view bytes = view_of(data);
    IntakeRules rules = rules_of(plate_seed, id_seed, ocr_table);
    rules.min_observed_us = min_observed_us;
    rules.max_observed_us = max_observed_us;
    rules.read_scope = read_scope;
    const IntakeScreen screen = screen_of(known_cameras, memory);
    IntakeColumns columns;
    PackedColumns texts;
    WireError error;
    {
        // The bytes object and the screening objects are held by the caller for the whole call.
        pyb::gil_scoped_release release;
        error = read_intake(bytes, rules, columns);
        if (error == WireError::none) {
            screen_intake(screen, columns);
            texts = pack_columns(columns);
        }
    }
    if (error != WireError::none) throw pyb::value_error(malformed(error));
    return columns_dict(std::move(columns), std::move(texts));
}

// The engine's batch path off the event loop's thread: a job reads a batch and matches it
// against every index of a watchlist snapshot on a worker thread, which never takes the GIL;
// the loop watches fileno() and collects finished jobs as Python columns. Jobs share nothing
// but immutable indexes, so several threads can run them side by side.
class IntakeWorker {
public:
    IntakeWorker(std::uint64_t plate_seed, std::uint64_t id_seed, const pyb::bytes& ocr_table,
                 unsigned threads)
        : rules_(rules_of(plate_seed, id_seed, ocr_table)), worker_(threads) {}

    ~IntakeWorker() {
        // Queued jobs still run: their buffers are held by jobs_ until the thread has stopped.
        pyb::gil_scoped_release release;
        worker_.close();
    }

    std::uint64_t submit(const pyb::bytes& data, std::int64_t min_observed_us,
                         std::int64_t max_observed_us, const pyb::list& matchers,
                         const pyb::object& known_cameras, const pyb::object& memory,
                         std::uint64_t read_scope) {
        auto job = std::make_unique<Job>();
        job->data = data;
        job->rules = rules_;
        job->rules.min_observed_us = min_observed_us;
        job->rules.max_observed_us = max_observed_us;
        job->rules.read_scope = read_scope;
        job->screen = screen_of(known_cameras, memory);
        job->owners.push_back(known_cameras);
        job->owners.push_back(memory);
        for (const pyb::handle m : matchers) {
            job->indexes.push_back(&m.cast<const Matcher&>());
            // Each index held by the job itself: the caller may change its list meanwhile.
            job->owners.push_back(pyb::reinterpret_borrow<pyb::object>(m));
        }
        job->bytes = view_of(data);
        const std::uint64_t ticket = next_ticket_++;
        Job* raw = job.get();
        jobs_.emplace(ticket, std::move(job));
        try {
            worker_.submit(ticket, [raw] { raw->run(); });
        } catch (...) {
            jobs_.erase(ticket);
            throw;
        }
        return ticket;
    }

    // (ticket, columns dict or None, error text, [match columns per matcher]) per finished job.
    pyb::list collect() {
        pyb::list out;
        for (const std::uint64_t ticket : worker_.take_done()) {
            auto it = jobs_.find(ticket);
            if (it == jobs_.end()) continue;
            const std::unique_ptr<Job> job = std::move(it->second);
            jobs_.erase(it);
            if (job->error != WireError::none || !job->failure.empty()) {
                const std::string why = job->failure.empty() ? malformed(job->error) : job->failure;
                out.append(pyb::make_tuple(ticket, pyb::none(), why, pyb::list()));
                continue;
            }
            pyb::list matches;
            // Most indexes match nothing in most batches: None costs no arrays.
            for (const std::vector<Match>& found : job->matches) {
                matches.append(found.empty() ? pyb::object(pyb::none())
                                             : pyb::object(match_columns(found)));
            }
            pyb::dict columns = columns_dict(std::move(job->columns), std::move(job->texts));
            out.append(pyb::make_tuple(ticket, std::move(columns), "", matches));
        }
        return out;
    }

    int fileno() const noexcept { return worker_.notify_fd(); }

    void close() {
        pyb::gil_scoped_release release;
        worker_.close();
    }

private:
    struct Job {
        pyb::bytes data;       // owners, released only with the GIL held (on collect)
        std::vector<pyb::object> owners;
        std::string_view bytes;
        std::vector<const Matcher*> indexes;
        IntakeRules rules;
        IntakeScreen screen;
        IntakeColumns columns;
        PackedColumns texts;
        WireError error = WireError::none;
        std::string failure;
        std::vector<std::vector<Match>> matches;

        void run() noexcept {
            try {
                error = read_intake(bytes, rules, columns);
                if (error != WireError::none) return;
                screen_intake(screen, columns);
                texts = pack_columns(columns);
                const std::size_t n = columns.size();
                ReadColumns reads;
                reads.plates = TextColumn::fixed_width(columns.canonical.data(), kMaxPlateLen, n);
                reads.canonical = true;
                reads.countries = TextColumn::fixed_width(columns.country.data(),
                                                          columns.country_width, n);
                reads.confidences = columns.confidence64.data();
                std::vector<char> canonical(n * kMaxPlateLen);
                std::vector<std::uint8_t> status(n);
                matches.resize(indexes.size());
                for (std::size_t k = 0; k < indexes.size(); ++k) {
                    indexes[k]->match(reads, canonical.data(), status.data(), matches[k], 1);
                }
            } catch (const std::exception& e) {
                failure = e.what();
            } catch (...) {
                failure = "batch job failed";
            }
        }
    };

    IntakeRules rules_;
    BatchWorker worker_;
    std::unordered_map<std::uint64_t, std::unique_ptr<Job>> jobs_;
    std::uint64_t next_ticket_ = 1;
};

U64 keyed_hashes(const pyb::array& texts, std::uint64_t seed) {
    if (texts.ndim() != 1 || texts.dtype().kind() != 'S') {
        throw std::invalid_argument("texts must be a 1-d 'S' array");
    }
    const pyb::array packed = pyb::array::ensure(texts, pyb::array::c_style);
    const auto n = packed.shape(0);
    const auto width = static_cast<std::size_t>(packed.itemsize());
    const auto* data = static_cast<const char*>(packed.data());
    U64 out(n);
    std::uint64_t* h = out.mutable_data();
    const HashKey key(seed);
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
        const char* item = data + i * width;
        // numpy's 'S' items end at their first trailing zero byte, as tolist() shows them.
        std::size_t len = width;
        while (len > 0 && item[len - 1] == '\0') --len;
        h[i] = keyed_hash(std::string_view(item, len), key);
    }
    return out;
}

}  // namespace

void register_ingest(pyb::module_& m) {
    // What one read may carry (intake.hpp): the service's rejection details quote these.
    m.attr("MAX_READ_ID_BYTES") = kMaxReadIdBytes;
    m.attr("MAX_CAMERA_ID_BYTES") = kMaxCameraIdBytes;
    m.attr("MAX_COUNTRY_BYTES") = kMaxCountryBytes;
    m.attr("MAX_READ_BYTES") = kMaxReadBytes;
    pyb::class_<CameraSet>(m, "CameraSet", "A camera registry as keyed camera-id hashes.")
        .def(pyb::init([](const pyb::array_t<std::uint64_t, pyb::array::c_style |
                                                              pyb::array::forcecast>& h) {
                 CameraSet set{std::vector<std::uint64_t>(h.data(), h.data() + h.size())};
                 std::sort(set.hashes.begin(), set.hashes.end());
                 return set;
             }), pyb::arg("hashes"))
        .def("__len__", [](const CameraSet& self) { return self.hashes.size(); });
    m.def("read_batch_columns", &read_batch_columns, pyb::arg("data"), pyb::arg("plate_seed"),
          pyb::arg("id_seed"), pyb::arg("ocr_table"), pyb::arg("min_observed_us"),
          pyb::arg("max_observed_us"), pyb::arg("known_cameras") = pyb::none(),
          pyb::arg("memory") = pyb::none(), pyb::arg("read_scope") = 0,
          "Columns of a serialized ReadBatch: byte ranges of its Reads, packed texts, observed_us, "
          "confidence (absent: 1.0), canonical plates and statuses, keyed plate and OCR-key hashes "
          "(ocr_table: 256 bytes folding each byte), read-id hashes (XORed with read_scope, which "
          "gives each integrator's ids a space of their own) and camera hashes, and per read its "
          "problem: 0 none, 1-6 PlateStatus, 7 confidence outside 0-1, 8 observed_us outside "
          "[min_observed_us, max_observed_us], 9 empty camera_id, 10 empty read_id, 13 country "
          "over 16 bytes, 14 camera_id over 128, 15 read_id over 128, 16 the read over 16 KiB (the "
          "last that applies), then 11 a camera not in known_cameras (a CameraSet; outranks 1-8) and "
          "12 a read id the ReadIdMemory `memory` holds or an earlier read of the batch without "
          "a problem has (reads without another problem), the count of reads with a problem, "
          "the newest observed_us among those without one, and confidence64, the confidence as "
          "float64. "
          "Raises ValueError on a malformed batch.");
    m.def("keyed_hashes", &keyed_hashes, pyb::arg("texts"), pyb::arg("seed"),
          "Keyed 64-bit hashes of a 1-d 'S' array (items without their trailing zero bytes).");
    m.def("keyed_hash", [](const pyb::bytes& data, std::uint64_t seed) {
              return keyed_hash(view_of(data), HashKey(seed));
          }, pyb::arg("data"), pyb::arg("seed"), "Keyed 64-bit hash of one byte string.");
    pyb::class_<IntakeWorker>(m, "IntakeWorker",
                              "A thread reading and matching batches without the GIL.")
        .def(pyb::init<std::uint64_t, std::uint64_t, const pyb::bytes&, unsigned>(),
             pyb::arg("plate_seed"), pyb::arg("id_seed"), pyb::arg("ocr_table"),
             pyb::arg("threads") = 1,
             "threads: batches read and matched side by side (finished in any order).")
        .def("submit", &IntakeWorker::submit, pyb::arg("data"), pyb::arg("min_observed_us"),
             pyb::arg("max_observed_us"), pyb::arg("matchers"),
             pyb::arg("known_cameras") = pyb::none(), pyb::arg("memory") = pyb::none(),
             pyb::arg("read_scope") = 0,
             "Queues a serialized ReadBatch to be read (as read_batch_columns reads it) and "
             "matched against each core Matcher of the list; returns the job's ticket.")
        .def("collect", &IntakeWorker::collect,
             "Finished jobs: (ticket, columns or None, error text, per matcher (read, entry, "
             "list_id, entry_no, kind, score, sub_mask, edit_op, edit_pos), or None when it "
             "matched nothing).")
        .def("fileno", &IntakeWorker::fileno, "Readable while finished jobs wait.")
        .def("close", &IntakeWorker::close, "Finishes queued jobs and stops the threads.");
    pyb::class_<ReadIdMemory>(m, "ReadIdMemory",
                              "Bounded memory of read-id hashes, in two generations.")
        .def(pyb::init<std::size_t>(), pyb::arg("capacity"))
        .def("seen", [](const ReadIdMemory& self,
                        const pyb::array_t<std::uint64_t, pyb::array::c_style | pyb::array::forcecast>& h) {
                 const auto n = h.size();
                 pyb::array_t<bool> out(n);
                 bool* o = out.mutable_data();
                 const std::uint64_t* p = h.data();
                 for (pyb::ssize_t i = 0; i < n; ++i) o[i] = self.contains(p[i]);
                 return out;
             }, pyb::arg("hashes"), "Whether each hash is remembered.")
        .def("duplicates", [](const ReadIdMemory& self,
                              const pyb::array_t<std::uint64_t, pyb::array::c_style | pyb::array::forcecast>& h) {
                 const auto n = static_cast<std::size_t>(h.size());
                 std::unique_ptr<bool[]> flags(new bool[n]);
                 self.find_duplicates(h.data(), n, flags.get());
                 std::vector<std::int64_t> positions;
                 for (std::size_t i = 0; i < n; ++i) {
                     if (flags[i]) positions.push_back(static_cast<std::int64_t>(i));
                 }
                 I64 out(static_cast<pyb::ssize_t>(positions.size()));
                 std::copy(positions.begin(), positions.end(), out.mutable_data());
                 return out;
             }, pyb::arg("hashes"),
             "Positions of the hashes that are remembered or occur earlier in hashes.")
        .def("remember", [](ReadIdMemory& self,
                            const pyb::array_t<std::uint64_t, pyb::array::c_style | pyb::array::forcecast>& h) {
                 // The intake worker may be looking batches up: wait for its lock without the GIL.
                 pyb::gil_scoped_release release;
                 self.remember(h.data(), static_cast<std::size_t>(h.size()));
             }, pyb::arg("hashes"), "Remembers each hash.")
        .def("__len__", &ReadIdMemory::size);
}

}  // namespace feblam::py
