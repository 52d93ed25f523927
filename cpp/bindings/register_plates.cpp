// Bindings for normalisation, confusion classes and plate formats.
#include <pybind11/stl.h>

#include "feblam/confusion.hpp"
#include "feblam/formats.hpp"
#include "feblam/normalise.hpp"
#include "register.hpp"

namespace py = pybind11;

namespace feblam::py {

namespace {
pybind11::tuple plate_tuple(const Plate& p) {
    return pybind11::make_tuple(std::string(p.view()), static_cast<int>(p.status));
}
}  // namespace

void register_plates(pybind11::module_& m) {
    m.attr("MAX_PLATE_LEN") = kMaxPlateLen;
    m.attr("MAX_RAW_CODEPOINTS") = kMaxRawCodepoints;
    m.attr("DEFAULT_CONFUSION_CLASSES") = std::string(kDefaultConfusionClasses);
    m.def("normalise_plate", [](std::string_view raw) { return plate_tuple(normalise_plate(raw)); },
          pybind11::arg("raw"), "Raw UTF-8 plate text -> (canonical, status code).");
    m.def("normalise_pattern", [](std::string_view raw) { return plate_tuple(normalise_pattern(raw)); },
          pybind11::arg("raw"), "As normalise_plate, keeping '?' and '*'.");
}

}  // namespace feblam::py
