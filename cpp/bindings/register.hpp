// One registration function per area of the core; module.cpp only assembles them.
#pragma once

#include <pybind11/pybind11.h>

namespace feblam::py {

void register_plates(pybind11::module_& m);
void register_matcher(pybind11::module_& m);
void register_columns(pybind11::module_& m);
void register_ingest(pybind11::module_& m);

}  // namespace feblam::py
