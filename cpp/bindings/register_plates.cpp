// Bindings for normalisation, confusion classes and plate formats.
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "feblam/confusion.hpp"
#include "feblam/formats.hpp"
#include "feblam/normalise.hpp"
#include "register.hpp"

namespace feblam::py {

namespace {

pybind11::tuple plate_tuple(const Plate& p) {
    return pybind11::make_tuple(std::string(p.view()), static_cast<int>(p.status));
}

std::vector<std::string> country_texts(const std::vector<Country>& countries) {
    std::vector<std::string> out;
    out.reserve(countries.size());
    for (Country c : countries) out.push_back(country_text(c));
    return out;
}

// Country text as the facade takes it ("BE", "b", "" unknown), aliases applied.
Country country_arg(const FormatTable& table, std::string_view text) {
    return table.canonical_country(pack_country(text));
}

}  // namespace

void register_plates(pybind11::module_& m) {
    namespace pb = pybind11;
    m.attr("MAX_PLATE_LEN") = kMaxPlateLen;
    m.attr("MAX_RAW_CODEPOINTS") = kMaxRawCodepoints;
    m.attr("DEFAULT_CONFUSION_CLASSES") = std::string(kDefaultConfusionClasses);
    m.def("normalise_plate", [](std::string_view raw) { return plate_tuple(normalise_plate(raw)); },
          pb::arg("raw"), "Raw UTF-8 plate text -> (canonical, status code).");
    m.def("normalise_pattern", [](std::string_view raw) { return plate_tuple(normalise_pattern(raw)); },
          pb::arg("raw"), "As normalise_plate, keeping '?' and '*'.");

    pb::class_<ConfusionClasses>(m, "ConfusionClasses")
        .def(pb::init<std::string_view>(), pb::arg("spec") = std::string(kDefaultConfusionClasses))
        .def_property_readonly("spec", &ConfusionClasses::spec)
        .def("representative",
             [](const ConfusionClasses& c, char ch) { return std::string(1, c.representative(ch)); },
             pb::arg("c"))
        .def("members", [](const ConfusionClasses& c, char ch) { return std::string(c.members(ch)); },
             pb::arg("c"))
        .def(
            "ocr_key",
            [](const ConfusionClasses& c, std::string s) {
                for (char& ch : s) ch = c.representative(ch);
                return s;
            },
            pb::arg("s"));

    pb::class_<FormatTable>(m, "FormatTable")
        .def(pb::init([](std::string_view spec, std::string_view confusion_classes) {
                 return FormatTable(spec, ConfusionClasses(confusion_classes));
             }),
             pb::arg("spec"), pb::arg("confusion_classes") = std::string(kDefaultConfusionClasses))
        .def(
            "canonical_country",
            [](const FormatTable& t, std::string_view country) { return country_text(country_arg(t, country)); },
            pb::arg("country"))
        .def(
            "has_formats",
            [](const FormatTable& t, std::string_view country) { return t.has_formats(country_arg(t, country)); },
            pb::arg("country"))
        .def(
            "fits",
            [](const FormatTable& t, std::string_view plate, std::string_view country) {
                return t.fits(plate, country_arg(t, country));
            },
            pb::arg("plate"), pb::arg("country"))
        .def(
            "fits_exactly",
            [](const FormatTable& t, std::string_view plate, std::string_view country) {
                return t.fits_exactly(plate, country_arg(t, country));
            },
            pb::arg("plate"), pb::arg("country"))
        .def(
            "resolve",
            [](const FormatTable& t, std::string_view plate, std::string_view country) {
                Plate reading;
                std::optional<std::string> out;
                if (t.resolve(plate, country_arg(t, country), reading)) out = std::string(reading.view());
                return out;
            },
            pb::arg("plate"), pb::arg("country"))
        .def(
            "readings",
            [](const FormatTable& t, std::string_view plate, std::string_view country) {
                std::vector<Plate> found;
                t.readings(plate, country_arg(t, country), found);
                std::vector<std::string> out;
                for (const Plate& p : found) out.emplace_back(p.view());
                return out;
            },
            pb::arg("plate"), pb::arg("country"))
        .def(
            "countries_fitting",
            [](const FormatTable& t, std::string_view plate) { return country_texts(t.countries_fitting(plate)); },
            pb::arg("plate"))
        .def(
            "resolutions",
            [](const FormatTable& t, std::string_view plate, std::string_view country) {
                std::vector<Resolution> found;
                t.resolutions(plate, country_arg(t, country), found);
                std::vector<std::pair<std::string, std::string>> out;
                for (const Resolution& r : found) out.emplace_back(country_text(r.country), std::string(r.reading.view()));
                return out;
            },
            pb::arg("plate"), pb::arg("country"))
        .def_property_readonly("countries",
                               [](const FormatTable& t) { return country_texts(t.countries()); });
}

}  // namespace feblam::py
