// A batch acknowledgement's rejections encoded in one pass: a batch of bad reads (a camera
// sending garbage) costs the event loop a few microseconds, not a message object per read.
#include <pybind11/numpy.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "register.hpp"

namespace feblam::py {

namespace {

namespace pyb = pybind11;
using U8 = pyb::array_t<std::uint8_t, pyb::array::c_style | pyb::array::forcecast>;
using I64 = pyb::array_t<std::int64_t, pyb::array::c_style | pyb::array::forcecast>;

void put_varint(std::string& out, std::uint64_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<char>((v & 0x7F) | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<char>(v));
}

void put_text(std::string& out, unsigned field, std::string_view text) {
    if (text.empty()) return;  // proto3: an empty string is not written
    put_varint(out, static_cast<std::uint64_t>(field) << 3 | 2);
    put_varint(out, text.size());
    out.append(text);
}

// Byte offsets of each code point of a str's UTF-8 form (and its end), so texts packed by
// code point can be sliced as bytes.
std::vector<std::size_t> utf8_offsets(std::string_view utf8) {
    std::vector<std::size_t> at;
    at.reserve(utf8.size() + 1);
    for (std::size_t i = 0; i < utf8.size(); ++i) {
        if ((static_cast<unsigned char>(utf8[i]) & 0xC0u) != 0x80u) at.push_back(i);
    }
    at.push_back(utf8.size());
    return at;
}

// (count, the BatchAck's field 5 entries) for every read whose status is not `accepted`.
pyb::tuple encode_rejections(const U8& status, const U8& detail_code, const pyb::list& details,
                             const pyb::str& read_ids, const I64& starts, const I64& ends,
                             std::uint8_t accepted) {
    const auto n = static_cast<std::size_t>(status.size());
    const auto rows = [](const pyb::array& a) { return static_cast<std::size_t>(a.size()); };
    if (rows(detail_code) != n || rows(starts) != n || rows(ends) != n) {
        throw std::invalid_argument(
            "status, detail codes, starts and ends must have one row per read");
    }
    std::vector<std::string> texts;
    texts.reserve(details.size());
    for (const pyb::handle d : details) texts.push_back(d.cast<std::string>());
    Py_ssize_t size = 0;
    const char* blob = PyUnicode_AsUTF8AndSize(read_ids.ptr(), &size);
    if (blob == nullptr) throw pyb::error_already_set();
    const std::string_view utf8(blob, static_cast<std::size_t>(size));
    std::vector<std::size_t> offsets;
    if (!PyUnicode_IS_ASCII(read_ids.ptr())) offsets = utf8_offsets(utf8);
    const auto byte_at = [&](std::int64_t code_point) {
        const auto cp = static_cast<std::size_t>(code_point);
        const std::size_t limit = offsets.empty() ? utf8.size() : offsets.size() - 1;
        if (code_point < 0 || cp > limit) {
            throw std::out_of_range("read id offset outside the text");
        }
        return offsets.empty() ? cp : offsets[cp];
    };
    const std::uint8_t* s = status.data();
    const std::uint8_t* code = detail_code.data();
    const std::int64_t* b = starts.data();
    const std::int64_t* e = ends.data();
    std::string out;
    std::string body;
    std::size_t count = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (s[i] == accepted) continue;
        if (code[i] >= texts.size()) throw std::out_of_range("detail code without a text");
        body.clear();
        if (i != 0) {
            body.push_back(0x08);  // index = 1
            put_varint(body, i);
        }
        const std::size_t from = byte_at(b[i]);
        const std::size_t to = byte_at(e[i]);
        if (to < from) throw std::out_of_range("read id ends before it starts");
        put_text(body, 2, utf8.substr(from, to - from));
        if (s[i] != 0) {
            body.push_back(0x18);  // status = 3
            put_varint(body, s[i]);
        }
        put_text(body, 4, texts[code[i]]);
        out.push_back(0x2A);  // BatchAck.rejections = 5
        put_varint(out, body.size());
        out.append(body);
        ++count;
    }
    return pyb::make_tuple(count, pyb::bytes(out));
}

}  // namespace

void register_rejections(pyb::module_& m) {
    m.def("encode_rejections", &encode_rejections, pyb::arg("status"), pyb::arg("detail_code"),
          pyb::arg("details"), pyb::arg("read_ids"), pyb::arg("starts"), pyb::arg("ends"),
          pyb::arg("accepted"),
          "(count, bytes): a BatchAck's `rejections` field (5) for every read whose status is "
          "not `accepted`: its index, its read id (read_ids sliced by code-point starts and "
          "ends), its status and details[detail_code] (UTF-8 bytes). Appending the bytes to a "
          "serialized BatchAck, or merging them into one, adds those rejections in batch order.");
}

}  // namespace feblam::py
