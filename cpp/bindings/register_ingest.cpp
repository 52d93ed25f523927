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
#include <vector>

#include "feblam/keyed.hpp"
#include "feblam/normalise.hpp"
#include "feblam/wire.hpp"
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

// A text column as one str plus cumulative code-point ends: one Python object per column.
template <class Field>
pyb::tuple packed_texts(const std::vector<WireRead>& reads, Field field) {
    std::string blob;
    I64 ends(static_cast<pyb::ssize_t>(reads.size()));
    std::int64_t* e = ends.mutable_data();
    std::int64_t chars = 0;
    unsigned char high = 0;  // or of every byte: below 0x80 means the column is ASCII
    for (std::size_t i = 0; i < reads.size(); ++i) {
        const std::string_view text = field(reads[i]);
        blob.append(text);
        for (const char ch : text) {
            const auto byte = static_cast<unsigned char>(ch);
            high = static_cast<unsigned char>(high | byte);
            // Code points are counted by their lead bytes; the reader has checked the UTF-8.
            chars += (byte & 0xC0u) != 0x80u ? 1 : 0;
        }
        e[i] = chars;
    }
    if (high < 0x80u) {
        // Ids are almost always ASCII: the str is filled directly, skipping the UTF-8 decoder.
        PyObject* text = PyUnicode_New(static_cast<Py_ssize_t>(blob.size()), 127);
        if (text == nullptr) throw pyb::error_already_set();
        std::memcpy(PyUnicode_1BYTE_DATA(text), blob.data(), blob.size());
        return pyb::make_tuple(pyb::reinterpret_steal<pyb::str>(text), ends);
    }
    return pyb::make_tuple(pyb::str(blob.data(), blob.size()), ends);
}

// A read's first failing check, later checks taking precedence: 0 none, 1-6 the PlateStatus,
// then these. The service maps them onto its wire statuses.
enum Problem : std::uint8_t { confidence_out_of_range = 7, time_out_of_range = 8,
                              missing_camera = 9, missing_read_id = 10 };

pyb::dict read_batch_columns(const pyb::bytes& data, std::uint64_t plate_seed,
                             std::uint64_t id_seed, const pyb::bytes& ocr_table,
                             std::int64_t min_observed_us, std::int64_t max_observed_us) {
    const std::string_view bytes = view_of(data);
    const std::string_view ocr = view_of(ocr_table);
    if (ocr.size() != 256) throw std::invalid_argument("ocr_table must map all 256 byte values");
    // The bytes object is held by the caller for the whole call, so parsing can run without
    // the GIL; so can the column loop below, which only writes into buffers allocated first.
    WireBatch batch;
    WireError error;
    {
        pyb::gil_scoped_release release;
        error = read_batch(bytes, batch);
    }
    if (error != WireError::none) {
        throw pyb::value_error(std::string("ReadBatch is malformed: ") + describe(error));
    }
    const std::vector<WireRead>& reads = batch.reads;
    const auto n = static_cast<pyb::ssize_t>(reads.size());
    std::size_t country_width = 1;
    for (const WireRead& r : reads) {
        if (r.country.size() > country_width) country_width = r.country.size();
    }
    const std::vector<pyb::ssize_t> shape{n};
    I64 begin(n), end(n), observed(n);
    pyb::array_t<float> confidence(n);
    pyb::array_t<double> confidence64(n);
    pyb::array canonical(pyb::dtype("S" + std::to_string(kMaxPlateLen)), shape);
    pyb::array country(pyb::dtype("S" + std::to_string(country_width)), shape);
    pyb::array_t<std::uint8_t> plate_status(n);
    U64 plate_hash(n), ocr_hash(n), read_id_hash(n), camera_hash(n);
    std::size_t problems = 0;
    std::int64_t newest = std::numeric_limits<std::int64_t>::min();
    pyb::array_t<std::uint8_t> problem(n);
    {
        std::int64_t* b = begin.mutable_data();
        std::int64_t* en = end.mutable_data();
        std::int64_t* obs = observed.mutable_data();
        float* conf = confidence.mutable_data();
        double* conf64 = confidence64.mutable_data();
        auto* canon = static_cast<char*>(canonical.mutable_data());
        auto* ctry = static_cast<char*>(country.mutable_data());
        std::uint8_t* st = plate_status.mutable_data();
        std::uint64_t* ph = plate_hash.mutable_data();
        std::uint64_t* oh = ocr_hash.mutable_data();
        std::uint8_t* pr = problem.mutable_data();
        std::uint64_t* rh = read_id_hash.mutable_data();
        std::uint64_t* ch = camera_hash.mutable_data();
        const HashKey plate_key(plate_seed);
        const HashKey id_key(id_seed);
        pyb::gil_scoped_release release;
        for (std::size_t i = 0; i < reads.size(); ++i) {
            const WireRead& r = reads[i];
            b[i] = static_cast<std::int64_t>(r.begin);
            en[i] = static_cast<std::int64_t>(r.end);
            obs[i] = r.observed_us;
            // An absent confidence means "fully confident"; a present 0.0 stays 0.0.
            conf[i] = r.has_confidence ? r.confidence : 1.0f;
            conf64[i] = static_cast<double>(conf[i]);
            const Plate p = normalise_plate(r.raw_plate);
            char* slot = canon + i * static_cast<std::size_t>(kMaxPlateLen);
            std::memset(slot, 0, static_cast<std::size_t>(kMaxPlateLen));
            std::memcpy(slot, p.text, p.len);
            st[i] = static_cast<std::uint8_t>(p.status);
            ph[i] = keyed_hash(std::string_view(p.text, p.len), plate_key);
            // The OCR key folds confusable characters onto one; it is hashed, never kept.
            char folded[kMaxPlateLen];
            for (std::size_t k = 0; k < p.len; ++k) {
                folded[k] = ocr[static_cast<unsigned char>(p.text[k])];
            }
            oh[i] = keyed_hash(std::string_view(folded, p.len), plate_key);
            std::uint8_t worst = static_cast<std::uint8_t>(p.status);
            // Written so that NaN fails it, as it fails both comparisons.
            if (!(conf[i] >= 0.0f && conf[i] <= 1.0f)) worst = confidence_out_of_range;
            if (r.observed_us < min_observed_us || r.observed_us > max_observed_us) {
                worst = time_out_of_range;
            }
            if (r.camera_id.empty()) worst = missing_camera;
            if (r.read_id.empty()) worst = missing_read_id;
            pr[i] = worst;
            if (worst != 0) {
                ++problems;
            } else if (r.observed_us > newest) {
                newest = r.observed_us;
            }
            char* cslot = ctry + i * country_width;
            std::memset(cslot, 0, country_width);
            std::memcpy(cslot, r.country.data(), r.country.size());
            rh[i] = keyed_hash(r.read_id, id_key);
            ch[i] = keyed_hash(r.camera_id, id_key);
        }
    }
    pyb::dict out;
    out["batch_id"] = pyb::str(batch.batch_id.data(), batch.batch_id.size());
    out["begin"] = begin;
    out["end"] = end;
    out["read_ids"] = packed_texts(reads, [](const WireRead& r) { return r.read_id; });
    out["camera_ids"] = packed_texts(reads, [](const WireRead& r) { return r.camera_id; });
    out["countries"] = packed_texts(reads, [](const WireRead& r) { return r.country; });
    out["country"] = country;
    out["observed_us"] = observed;
    out["confidence"] = confidence;
    out["canonical"] = canonical;
    out["plate_status"] = plate_status;
    out["plate_hash"] = plate_hash;
    out["ocr_hash"] = ocr_hash;
    out["problem"] = problem;
    out["problems"] = problems;
    out["newest_ok_us"] = newest;
    out["confidence64"] = confidence64;
    out["read_id_hash"] = read_id_hash;
    out["camera_hash"] = camera_hash;
    return out;
}

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
    m.def("read_batch_columns", &read_batch_columns, pyb::arg("data"), pyb::arg("plate_seed"),
          pyb::arg("id_seed"), pyb::arg("ocr_table"), pyb::arg("min_observed_us"),
          pyb::arg("max_observed_us"),
          "Columns of a serialized ReadBatch: byte ranges of its Reads, packed texts, observed_us, "
          "confidence (absent: 1.0), canonical plates and statuses, keyed plate and OCR-key hashes "
          "(ocr_table: 256 bytes folding each byte), read-id and camera hashes, and per read its "
          "problem: 0 none, 1-6 PlateStatus, 7 confidence outside 0-1, 8 observed_us outside "
          "[min_observed_us, max_observed_us], 9 empty camera_id, 10 empty read_id (the last "
          "that applies), the count of reads with a problem, the newest observed_us among those "
          "without one, and confidence64, the confidence as float64. "
          "Raises ValueError on a malformed batch.");
    m.def("keyed_hashes", &keyed_hashes, pyb::arg("texts"), pyb::arg("seed"),
          "Keyed 64-bit hashes of a 1-d 'S' array (items without their trailing zero bytes).");
    m.def("keyed_hash", [](const pyb::bytes& data, std::uint64_t seed) {
              return keyed_hash(view_of(data), HashKey(seed));
          }, pyb::arg("data"), pyb::arg("seed"), "Keyed 64-bit hash of one byte string.");
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
                 const std::uint64_t* p = h.data();
                 self.prefetch(p, static_cast<std::size_t>(h.size()));
                 for (pyb::ssize_t i = 0; i < h.size(); ++i) self.insert(p[i]);
             }, pyb::arg("hashes"), "Remembers each hash.")
        .def("__len__", &ReadIdMemory::size);
}

}  // namespace feblam::py
