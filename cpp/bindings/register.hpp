// One registration function per area of the core; module.cpp only assembles them.
#pragma once

#include <pybind11/pybind11.h>

#include <vector>

#include "feblam/matcher.hpp"

namespace feblam::py {

void register_plates(pybind11::module_& m);
void register_matcher(pybind11::module_& m);
void register_columns(pybind11::module_& m);
void register_ingest(pybind11::module_& m);
void register_outbox(pybind11::module_& m);
void register_rejections(pybind11::module_& m);

// A batch's matches as numpy columns: (read, entry, list_id, entry_no, kind, score, sub_mask,
// edit_op, edit_pos).
pybind11::tuple match_columns(const std::vector<Match>& found);

}  // namespace feblam::py
