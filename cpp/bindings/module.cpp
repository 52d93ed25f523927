// feblam._core: the private extension; import the typed facade in feblam/ instead.
#include "register.hpp"

PYBIND11_MODULE(_core, m) {
    m.doc() = "FEBLAM matching core (private; use the feblam package)";
    feblam::py::register_plates(m);
    feblam::py::register_matcher(m);
    feblam::py::register_columns(m);
    feblam::py::register_ingest(m);
    feblam::py::register_outbox(m);
    feblam::py::register_rejections(m);
}
