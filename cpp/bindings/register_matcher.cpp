// Bindings for the batch matcher.
#include "register.hpp"

namespace feblam::py {

void register_matcher(pybind11::module_&) {}

}  // namespace feblam::py
