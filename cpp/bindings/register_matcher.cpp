// Bindings for the batch matcher: numpy columns in, numpy columns out, GIL released per batch.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "feblam/matcher.hpp"
#include "register.hpp"

namespace feblam::py {

namespace {

namespace pyb = pybind11;

template <class T>
using Column = pyb::array_t<T, pyb::array::c_style | pyb::array::forcecast>;

// A 1-d C-contiguous numpy 'S' array viewed in place (no copy); `rows` is checked unless 0/1
// rows are allowed as "empty" and "one for all".
TextColumn text_column(const pyb::array& a, const char* what) {
    if (a.ndim() != 1 || a.dtype().kind() != 'S') {
        throw std::invalid_argument(std::string(what) + " must be a 1-d numpy array of dtype 'S'");
    }
    if (!(a.flags() & pyb::array::c_style)) {
        throw std::invalid_argument(std::string(what) + " must be C-contiguous");
    }
    return TextColumn::fixed_width(static_cast<const char*>(a.data()),
                                   static_cast<std::size_t>(a.itemsize()),
                                   static_cast<std::size_t>(a.shape(0)));
}

void check_rows(std::size_t got, std::size_t want, bool broadcast_ok, const char* what) {
    if (got == want || (broadcast_ok && got <= 1)) return;
    throw std::invalid_argument(std::string(what) + " has " + std::to_string(got) +
                                " rows, expected " + std::to_string(want));
}

template <class T>
pyb::array_t<T> column_of(const std::vector<Match>& found, T Match::*field) {
    pyb::array_t<T> out(static_cast<pyb::ssize_t>(found.size()));
    T* dst = out.mutable_data();
    for (std::size_t i = 0; i < found.size(); ++i) dst[i] = found[i].*field;
    return out;
}

std::unique_ptr<Matcher> build_matcher(const pyb::array& plates, const pyb::array& countries,
                                       const Column<std::uint16_t>& list_ids,
                                       const Column<std::uint32_t>& entry_nos,
                                       const Column<std::uint16_t>& policy_lists,
                                       const Column<std::uint8_t>& policy_kinds,
                                       const Column<double>& policy_min_score,
                                       const Column<double>& policy_near_max,
                                       const Column<double>& policy_fuzzy_max,
                                       const std::string& confusion_classes,
                                       const std::string& formats) {
    EntryColumns entries;
    entries.plates = text_column(plates, "plates");
    entries.countries = text_column(countries, "countries");
    const std::size_t n = entries.plates.size();
    check_rows(entries.countries.size(), n, true, "countries");
    check_rows(static_cast<std::size_t>(list_ids.size()), n, false, "list_ids");
    check_rows(static_cast<std::size_t>(entry_nos.size()), n, false, "entry_nos");
    const auto np = static_cast<std::size_t>(policy_lists.size());
    check_rows(static_cast<std::size_t>(policy_kinds.size()), np, false, "policy_kinds");
    check_rows(static_cast<std::size_t>(policy_min_score.size()), np, false, "policy_min_score");
    check_rows(static_cast<std::size_t>(policy_near_max.size()), np, false, "policy_near_max");
    check_rows(static_cast<std::size_t>(policy_fuzzy_max.size()), np, false, "policy_fuzzy_max");
    entries.list_ids = list_ids.data();
    entries.entry_nos = entry_nos.data();
    std::vector<ListPolicy> policies(np);
    for (std::size_t i = 0; i < np; ++i) {
        policies[i].list_id = policy_lists.data()[i];
        policies[i].kinds = policy_kinds.data()[i];
        policies[i].min_score = policy_min_score.data()[i];
        policies[i].near_max_confidence = policy_near_max.data()[i];
        policies[i].fuzzy_max_confidence = policy_fuzzy_max.data()[i];
    }
    // The arrays stay alive (held by the caller's frame) while the GIL is released.
    pyb::gil_scoped_release release;
    return std::make_unique<Matcher>(entries, policies, confusion_classes, formats);
}

pyb::tuple match_batch(const Matcher& matcher, const pyb::array& plates, const pyb::array& countries,
                       const pyb::object& confidences, unsigned threads) {
    ReadColumns reads;
    reads.plates = text_column(plates, "plates");
    reads.countries = text_column(countries, "countries");
    const std::size_t n = reads.plates.size();
    check_rows(reads.countries.size(), n, true, "countries");
    Column<double> conf;
    if (!confidences.is_none()) {
        conf = Column<double>::ensure(confidences);
        if (!conf) throw std::invalid_argument("confidences must be an array of numbers");
        check_rows(static_cast<std::size_t>(conf.size()), n, false, "confidences");
        reads.confidences = conf.data();
    }
    std::vector<pyb::ssize_t> shape{static_cast<pyb::ssize_t>(n)};
    pyb::array canonical(pyb::dtype("S" + std::to_string(kMaxPlateLen)), shape);
    pyb::array_t<std::uint8_t> status(static_cast<pyb::ssize_t>(n));
    auto* canon = static_cast<char*>(canonical.mutable_data());
    std::uint8_t* st = status.mutable_data();
    std::vector<Match> found;
    {
        // Safe: only raw buffers are touched, every owner is held by this frame.
        pyb::gil_scoped_release release;
        matcher.match(reads, canon, st, found, threads);
    }
    const pyb::tuple columns = match_columns(found);
    pyb::tuple out(columns.size() + 2);
    out[0] = canonical;
    out[1] = status;
    for (std::size_t i = 0; i < columns.size(); ++i) out[i + 2] = columns[i];
    return out;
}

pyb::tuple report_tuple(const Matcher& matcher) {
    const BuildReport& r = matcher.report();
    pyb::array_t<std::uint32_t> rejected(static_cast<pyb::ssize_t>(r.rejected_entry.size()));
    pyb::array_t<std::uint8_t> statuses(static_cast<pyb::ssize_t>(r.rejected_status.size()));
    if (!r.rejected_entry.empty()) {
        std::memcpy(rejected.mutable_data(), r.rejected_entry.data(),
                    r.rejected_entry.size() * sizeof(std::uint32_t));
        std::memcpy(statuses.mutable_data(), r.rejected_status.data(), r.rejected_status.size());
    }
    return pyb::make_tuple(r.entries, r.indexed, r.patterns, rejected, statuses, r.build_s);
}

}  // namespace

pyb::tuple match_columns(const std::vector<Match>& found) {
    return pyb::make_tuple(column_of(found, &Match::read), column_of(found, &Match::entry),
                           column_of(found, &Match::list_id), column_of(found, &Match::entry_no),
                           column_of(found, &Match::kind), column_of(found, &Match::score),
                           column_of(found, &Match::sub_mask), column_of(found, &Match::edit_op),
                           column_of(found, &Match::edit_pos));
}

void register_matcher(pybind11::module_& m) {
    pyb::class_<Matcher>(m, "Matcher", "Immutable indexes over watchlist entries (docs/core.md).")
        .def(pyb::init(&build_matcher), pyb::arg("plates"), pyb::arg("countries"),
             pyb::arg("list_ids"), pyb::arg("entry_nos"), pyb::arg("policy_lists"),
             pyb::arg("policy_kinds"), pyb::arg("policy_min_score"), pyb::arg("policy_near_max"), pyb::arg("policy_fuzzy_max"),
             pyb::arg("confusion_classes"), pyb::arg("formats"),
             "Build from 'S' arrays of raw plate and country text and per-entry columns.")
        .def("match", &match_batch, pyb::arg("plates"), pyb::arg("countries"),
             pyb::arg("confidences"), pyb::arg("threads") = 1,
             "Match an 'S' array of raw reads; returns (canonical, status, read, entry, list_id, "
             "entry_no, kind, score, sub_mask, edit_op, edit_pos). Releases the GIL.")
        .def("report", &report_tuple,
             "(entries, indexed, patterns, rejected_entry, rejected_status, build_s)")
        .def_property_readonly("memory_bytes", &Matcher::memory_bytes)
        .def_property_readonly("exact_index_bytes", &Matcher::exact_index_bytes)
        .def("entry_plate", &Matcher::entry_plate, pyb::arg("entry"));
}

}  // namespace feblam::py
