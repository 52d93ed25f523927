// The ReadBatch wire reader: protobuf's encoding walked field by field into WireRead columns.
#include "feblam/wire.hpp"

#include "feblam/bytes.hpp"

#include <cstring>

namespace feblam {

namespace {

constexpr int kMaxGroupDepth = 64;

enum WireType : std::uint32_t { varint = 0, fixed64 = 1, length = 2, group_start = 3,
                                group_end = 4, fixed32 = 5 };

// A cursor over one message's bytes; every read checks the bound, so no input can overrun it.
struct Cursor {
    const char* p;
    const char* end;

    bool done() const noexcept { return p == end; }

    WireError read_varint(std::uint64_t& out) noexcept {
        // Tags, lengths and small numbers are one byte; only the rest take the loop.
        if (p != end && (static_cast<std::uint8_t>(*p) & 0x80u) == 0) {
            out = static_cast<std::uint8_t>(*p++);
            return WireError::none;
        }
        std::uint64_t v = 0;
        for (int shift = 0; shift < 70; shift += 7) {
            if (p == end) return WireError::truncated;
            const auto byte = static_cast<std::uint8_t>(*p++);
            v |= static_cast<std::uint64_t>(byte & 0x7Fu) << shift;
            if ((byte & 0x80u) == 0) {
                out = v;
                return WireError::none;
            }
        }
        return WireError::bad_varint;
    }

    WireError read_tag(std::uint32_t& field, std::uint32_t& type) noexcept {
        std::uint64_t tag = 0;
        if (WireError e = read_varint(tag); e != WireError::none) return e;
        field = static_cast<std::uint32_t>(tag >> 3);
        type = static_cast<std::uint32_t>(tag & 7u);
        // Field numbers stop at 2^29 - 1; a tag past 32 bits cannot be one.
        if (field == 0 || tag > 0xFFFFFFFFu || type > fixed32) return WireError::bad_tag;
        return WireError::none;
    }

    WireError read_length(std::string_view& out) noexcept {
        std::uint64_t n = 0;
        if (WireError e = read_varint(n); e != WireError::none) return e;
        if (n > static_cast<std::uint64_t>(end - p)) return WireError::truncated;
        out = std::string_view(p, static_cast<std::size_t>(n));
        p += n;
        return WireError::none;
    }

    WireError read_fixed(std::size_t n, void* out) noexcept {
        if (n > static_cast<std::size_t>(end - p)) return WireError::truncated;
        if (out != nullptr) std::memcpy(out, p, n);
        p += n;
        return WireError::none;
    }

    // Skips one field's value of the given type; groups are skipped through their end tag.
    WireError skip(std::uint32_t field, std::uint32_t type, int depth) noexcept {
        std::uint64_t ignored = 0;
        std::string_view view;
        switch (type) {
            case varint: return read_varint(ignored);
            case fixed64: return read_fixed(8, nullptr);
            case length: return read_length(view);
            case fixed32: return read_fixed(4, nullptr);
            case group_start: {
                if (depth >= kMaxGroupDepth) return WireError::bad_group;
                while (true) {
                    std::uint32_t f = 0;
                    std::uint32_t t = 0;
                    if (WireError e = read_tag(f, t); e != WireError::none) return e;
                    if (t == group_end) return f == field ? WireError::none : WireError::bad_group;
                    if (WireError e = skip(f, t, depth + 1); e != WireError::none) return e;
                }
            }
            default: return WireError::bad_group;
        }
    }
};

// Walks a message whose fields FEBLAM does not read (Read.position), only to check its shape.
WireError check_message(std::string_view bytes) noexcept {
    Cursor c{bytes.data(), bytes.data() + bytes.size()};
    while (!c.done()) {
        std::uint32_t field = 0;
        std::uint32_t type = 0;
        if (WireError e = c.read_tag(field, type); e != WireError::none) return e;
        if (WireError e = c.skip(field, type, 0); e != WireError::none) return e;
    }
    return WireError::none;
}

WireError read_string(Cursor& c, std::string_view& out) noexcept {
    if (WireError e = c.read_length(out); e != WireError::none) return e;
    // Ids, plates and countries are nearly always ASCII: checked a word at a time first.
    return is_ascii(out) || valid_utf8(out) ? WireError::none : WireError::bad_utf8;
}

WireError read_read(std::string_view bytes, WireRead& r) noexcept {
    Cursor c{bytes.data(), bytes.data() + bytes.size()};
    while (!c.done()) {
        std::uint32_t field = 0;
        std::uint32_t type = 0;
        if (WireError e = c.read_tag(field, type); e != WireError::none) return e;
        WireError e = WireError::none;
        std::string_view other;
        std::uint64_t v = 0;
        // A known field with an unexpected wire type is an unknown field to protobuf too.
        if (type == length && field == 1) {
            e = read_string(c, r.read_id);
        } else if (type == length && field == 2) {
            e = read_string(c, r.camera_id);
        } else if (type == varint && field == 3) {
            e = c.read_varint(v);
            r.observed_us = static_cast<std::int64_t>(v);
        } else if (type == length && field == 4) {
            e = read_string(c, r.raw_plate);
        } else if (type == length && field == 5) {
            e = read_string(c, r.country);
        } else if (type == fixed32 && field == 6) {
            e = c.read_fixed(4, &r.confidence);
            r.has_confidence = true;
        } else if (type == length && field >= 9 && field <= 12) {
            e = read_string(c, other);
        } else if (type == length && field == 13) {
            e = c.read_length(other);
            if (e == WireError::none) e = check_message(other);
        } else {
            e = c.skip(field, type, 0);
        }
        if (e != WireError::none) return e;
    }
    return WireError::none;
}

}  // namespace

const char* describe(WireError e) noexcept {
    switch (e) {
        case WireError::none: return "ok";
        case WireError::truncated: return "a field runs past the end of its message";
        case WireError::bad_varint: return "a varint is longer than ten bytes";
        case WireError::bad_tag: return "a field tag is invalid";
        case WireError::bad_group: return "a group is unbalanced or nested too deep";
        case WireError::bad_utf8: return "a string field is not valid UTF-8";
    }
    return "unknown wire error";
}

WireError read_batch(std::string_view bytes, WireBatch& out) {
    out.batch_id = {};
    out.reads.clear();
    // A Read on the wire is rarely under 32 bytes; one allocation covers the usual batch.
    out.reads.reserve(bytes.size() / 32 + 1);
    const char* base = bytes.data();
    Cursor c{base, base + bytes.size()};
    while (!c.done()) {
        std::uint32_t field = 0;
        std::uint32_t type = 0;
        if (WireError e = c.read_tag(field, type); e != WireError::none) return e;
        WireError e = WireError::none;
        if (type == length && field == 1) {
            e = read_string(c, out.batch_id);
        } else if (type == length && field == 2) {
            std::string_view msg;
            e = c.read_length(msg);
            if (e == WireError::none) {
                WireRead& r = out.reads.emplace_back();
                r.begin = static_cast<std::size_t>(msg.data() - base);
                r.end = r.begin + msg.size();
                e = read_read(msg, r);
            }
        } else {
            e = c.skip(field, type, 0);
        }
        if (e != WireError::none) return e;
    }
    return WireError::none;
}

bool valid_utf8(std::string_view text) noexcept {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    std::size_t i = 0;
    // Ids and plates are nearly always ASCII: eight bytes at a time while no high bit is set.
    while (n - i >= 8) {
        std::uint64_t word = 0;
        std::memcpy(&word, s + i, 8);
        if ((word & 0x8080808080808080ull) != 0) break;
        i += 8;
    }
    while (i < n) {
        const unsigned char b = s[i];
        if (b < 0x80) {
            ++i;
            continue;
        }
        std::size_t len = 0;
        unsigned char lo = 0x80;
        unsigned char hi = 0xBF;
        // The second byte's range rules out overlong forms, surrogates and code points past U+10FFFF.
        if (b >= 0xC2 && b <= 0xDF) {
            len = 2;
        } else if (b >= 0xE0 && b <= 0xEF) {
            len = 3;
            if (b == 0xE0) lo = 0xA0;
            if (b == 0xED) hi = 0x9F;
        } else if (b >= 0xF0 && b <= 0xF4) {
            len = 4;
            if (b == 0xF0) lo = 0x90;
            if (b == 0xF4) hi = 0x8F;
        } else {
            return false;
        }
        if (n - i < len) return false;
        if (s[i + 1] < lo || s[i + 1] > hi) return false;
        for (std::size_t k = 2; k < len; ++k) {
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) return false;
        }
        i += len;
    }
    return true;
}

}  // namespace feblam
