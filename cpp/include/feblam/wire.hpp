// Reads a serialized feblam.v1.ReadBatch straight into columns, without building messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace feblam {

// Why a batch could not be read; a malformed batch is a status, never an exception.
enum class WireError : std::uint8_t {
    none = 0,
    truncated,      // a varint, fixed field or length runs past its enclosing message
    bad_varint,     // a varint longer than ten bytes
    bad_tag,        // field number zero, or a wire type protobuf does not define
    bad_group,      // an end-group tag without its start, or groups nested too deep
    bad_utf8,       // a string field that is not valid UTF-8
};

const char* describe(WireError e) noexcept;

// One Read of a batch; the views point into the serialized batch and live as long as it does.
struct WireRead {
    std::size_t begin = 0;  // byte range of the Read message itself, for parsing it on its own
    std::size_t end = 0;
    std::string_view read_id;
    std::string_view camera_id;
    std::string_view raw_plate;
    std::string_view country;
    std::int64_t observed_us = 0;
    float confidence = 0.0f;
    bool has_confidence = false;
};

struct WireBatch {
    std::string_view batch_id;
    std::vector<WireRead> reads;
};

// Reads a ReadBatch as protobuf's own parser would: the last occurrence of a scalar wins,
// unknown fields are skipped, every string field of a Read must be UTF-8.
WireError read_batch(std::string_view bytes, WireBatch& out);

// Whether text is well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
bool valid_utf8(std::string_view text) noexcept;

}  // namespace feblam
