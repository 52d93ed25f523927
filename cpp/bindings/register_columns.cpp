// Column-at-a-time normalisation for watchlist files: Arrow string buffers in, numpy out, no
// Python object per row.
#include <pybind11/numpy.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "feblam/normalise.hpp"
#include "register.hpp"

namespace feblam::py {

namespace {

using Bytes = pybind11::array_t<std::uint8_t, pybind11::array::c_style | pybind11::array::forcecast>;

// Arrow strings come with 32-bit offsets, large strings with 64-bit ones; both are read in place.
template <class Offset>
pybind11::tuple normalise_column(const pybind11::array_t<Offset, pybind11::array::c_style>& offsets,
                                 const Bytes& data, bool patterns) {
    if (offsets.ndim() != 1 || offsets.shape(0) < 1) {
        throw std::invalid_argument("offsets must be a 1-d array of n+1 positions");
    }
    const auto n = static_cast<std::size_t>(offsets.shape(0) - 1);
    const Offset* off = offsets.data();
    const auto* bytes = reinterpret_cast<const char*>(data.data());
    const auto size = static_cast<std::int64_t>(data.size());
    for (std::size_t i = 0; i < n; ++i) {
        // Checked up front so the loop below can run without the GIL and without bounds doubts.
        if (off[i] < 0 || off[i] > off[i + 1] || static_cast<std::int64_t>(off[i + 1]) > size) {
            throw std::invalid_argument("offsets are not monotonic within the data buffer");
        }
    }
    std::vector<pybind11::ssize_t> shape{static_cast<pybind11::ssize_t>(n)};
    pybind11::array canonical(pybind11::dtype("S" + std::to_string(kMaxPlateLen)), shape);
    pybind11::array_t<std::uint8_t> status(static_cast<pybind11::ssize_t>(n));
    auto* out = static_cast<char*>(canonical.mutable_data());
    std::uint8_t* st = status.mutable_data();
    {
        pybind11::gil_scoped_release release;
        for (std::size_t i = 0; i < n; ++i) {
            std::string_view raw(bytes + static_cast<std::ptrdiff_t>(off[i]),
                                 static_cast<std::size_t>(off[i + 1] - off[i]));
            Plate p = patterns ? normalise_pattern(raw) : normalise_plate(raw);
            char* slot = out + i * kMaxPlateLen;
            std::memset(slot, 0, kMaxPlateLen);
            std::memcpy(slot, p.text, p.len);
            st[i] = static_cast<std::uint8_t>(p.status);
        }
    }
    return pybind11::make_tuple(canonical, status);
}

}  // namespace

void register_columns(pybind11::module_& m) {
    const char* doc =
        "Normalise n UTF-8 strings given as n+1 int32 or int64 offsets into a byte buffer; "
        "returns (canonical 'S10' array, uint8 status array). Releases the GIL.";
    m.def("normalise_column", &normalise_column<std::int32_t>, pybind11::arg("offsets").noconvert(),
          pybind11::arg("data"), pybind11::arg("patterns") = false, doc);
    m.def("normalise_column", &normalise_column<std::int64_t>, pybind11::arg("offsets").noconvert(),
          pybind11::arg("data"), pybind11::arg("patterns") = false, doc);
}

}  // namespace feblam::py
