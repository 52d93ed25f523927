// The ReadBatch wire reader, the keyed hash and the read-id memory.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "feblam/intake.hpp"
#include "feblam/keyed.hpp"
#include "feblam/wire.hpp"

using namespace feblam;

namespace {

std::string varint(std::uint64_t v) {
    std::string out;
    do {
        auto low = static_cast<char>(v & 0x7Fu);
        v >>= 7;
        out.push_back(static_cast<char>(low | (v ? 0x80 : 0)));
    } while (v);
    return out;
}

std::string tag(std::uint32_t field, std::uint32_t type) { return varint(field << 3 | type); }

std::string len_field(std::uint32_t field, const std::string& body) {
    return tag(field, 2) + varint(body.size()) + body;
}

std::string sample_read() {
    std::string conf(4, '\0');
    const float half = 0.5f;
    std::memcpy(conf.data(), &half, 4);
    return len_field(1, "r1") + len_field(2, "cam") + tag(3, 0) + varint(1700000000000000ull) +
           len_field(4, "1 abc 123") + len_field(5, "BE") + tag(6, 5) + conf + tag(7, 0) +
           varint(2) + len_field(9, "car") + len_field(13, tag(1, 1) + std::string(8, '\1'));
}

}  // namespace

TEST_CASE("a batch's reads come out as views with their byte ranges") {
    const std::string read = sample_read();
    const std::string bytes = len_field(1, "b7") + len_field(2, read) + len_field(2, len_field(1, "r2"));
    WireBatch batch;
    REQUIRE(read_batch(bytes, batch) == WireError::none);
    CHECK(batch.batch_id == "b7");
    REQUIRE(batch.reads.size() == 2);
    const WireRead& r = batch.reads[0];
    CHECK(r.read_id == "r1");
    CHECK(r.camera_id == "cam");
    CHECK(r.raw_plate == "1 abc 123");
    CHECK(r.country == "BE");
    CHECK(r.observed_us == 1700000000000000);
    CHECK(r.has_confidence);
    CHECK(r.confidence == 0.5f);
    CHECK(bytes.substr(r.begin, r.end - r.begin) == read);
    CHECK(batch.reads[1].read_id == "r2");
    CHECK_FALSE(batch.reads[1].has_confidence);
}

TEST_CASE("unknown fields and groups are skipped; the last scalar wins") {
    const std::string read = len_field(1, "old") + tag(40, 0) + varint(300) + tag(41, 3) +
                             tag(42, 3) + tag(42, 4) + tag(1, 0) + varint(1) + tag(41, 4) +
                             tag(43, 1) + std::string(8, 'x') + tag(44, 5) + "abcd" +
                             tag(3, 0) + varint(~std::uint64_t{0}) + len_field(1, "new");
    const std::string bytes = len_field(2, read) + tag(99, 0) + varint(5);
    WireBatch batch;
    REQUIRE(read_batch(bytes, batch) == WireError::none);
    REQUIRE(batch.reads.size() == 1);
    CHECK(batch.reads[0].read_id == "new");
    CHECK(batch.reads[0].observed_us == -1);
}

TEST_CASE("every truncation of a batch is a status, never an overrun") {
    const std::string bytes = len_field(1, "b") + len_field(2, sample_read());
    int refused = 0;
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
        WireBatch batch;
        // Copied so the sanitizers see the end of the shortened buffer.
        const std::string shorter = bytes.substr(0, cut);
        if (read_batch(shorter, batch) != WireError::none) ++refused;
    }
    CHECK(refused > static_cast<int>(bytes.size()) / 2);
    WireBatch batch;
    CHECK(read_batch(bytes.substr(0, bytes.size() - 1), batch) == WireError::truncated);
}

TEST_CASE("malformed input is refused with its reason") {
    WireBatch batch;
    CHECK(read_batch(tag(9, 0) + std::string(11, '\xff'), batch) == WireError::bad_varint);
    CHECK(read_batch(std::string("\x00\x01", 2), batch) == WireError::bad_tag);
    CHECK(read_batch(tag(9, 7) + "\x00", batch) == WireError::bad_tag);
    CHECK(read_batch(tag(9, 4), batch) == WireError::bad_group);
    CHECK(read_batch(tag(9, 3) + tag(8, 4), batch) == WireError::bad_group);
    CHECK(read_batch(len_field(2, len_field(4, "\xed\xa0\x80")), batch) == WireError::bad_utf8);
    CHECK(read_batch(len_field(2, len_field(13, tag(1, 1))), batch) == WireError::truncated);
    std::string deep;
    for (int i = 0; i < 100; ++i) deep += tag(9, 3);
    CHECK(read_batch(deep, batch) == WireError::bad_group);
}

TEST_CASE("UTF-8 validation follows the standard's well-formed table") {
    CHECK(valid_utf8(""));
    CHECK(valid_utf8("plain"));
    CHECK(valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x9a\x97"));
    CHECK_FALSE(valid_utf8("\xc0\xaf"));          // overlong
    CHECK_FALSE(valid_utf8("\xe0\x80\xaf"));      // overlong
    CHECK_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate
    CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
    CHECK_FALSE(valid_utf8("\xc3"));              // cut short
    CHECK_FALSE(valid_utf8("\x80"));              // stray continuation
}

TEST_CASE("keyed hashes depend on the key and on every byte") {
    const HashKey one(1);
    const HashKey two(2);
    CHECK(keyed_hash("1ABC123", one) == keyed_hash("1ABC123", one));
    CHECK(keyed_hash("1ABC123", one) != keyed_hash("1ABC123", two));
    CHECK(keyed_hash("1ABC123", one) != keyed_hash("1ABC124", one));
    CHECK(keyed_hash("", one) != keyed_hash(std::string_view("\0", 1), one));
    CHECK(keyed_hash("ABCDEFGH", one) != keyed_hash("ABCDEFGHI", one));
}

TEST_CASE("each integrator's read ids are duplicates only of its own") {
    const std::string bytes = len_field(2, sample_read());
    IntakeRules rules;
    rules.id_key = HashKey(7);
    IntakeColumns own;
    REQUIRE(read_intake(bytes, rules, own) == WireError::none);
    REQUIRE(own.problem[0] == 0);
    rules.read_scope = keyed_hash("integrator-b", rules.id_key);
    IntakeColumns other;
    REQUIRE(read_intake(bytes, rules, other) == WireError::none);
    CHECK(other.read_id_hash[0] == (own.read_id_hash[0] ^ rules.read_scope));
    CHECK(other.camera_hash[0] == own.camera_hash[0]);  // the camera registry is national

    ReadIdMemory memory(16);
    memory.remember(own.read_id_hash.data(), 1);
    IntakeScreen screen;
    screen.memory = &memory;
    screen_intake(screen, own);
    screen_intake(screen, other);
    CHECK(own.problem[0] == kDuplicate);
    CHECK(other.problem[0] == 0);
}

TEST_CASE("an oversized field costs its read, never the batch's columns") {
    const std::string ok = len_field(1, "ok") + len_field(2, "cam") + len_field(5, "BE");
    const std::string country = len_field(1, "r2") + len_field(2, "cam") +
                                len_field(5, std::string(1 << 20, 'B'));
    const std::string id = len_field(1, std::string(kMaxReadIdBytes + 1, 'i')) + len_field(2, "c");
    const std::string camera = len_field(1, "r4") + len_field(2, std::string(kMaxCameraIdBytes + 1, 'c'));
    const std::string bytes = len_field(2, ok) + len_field(2, country) + len_field(2, id) +
                              len_field(2, camera);
    IntakeColumns c;
    REQUIRE(read_intake(bytes, IntakeRules{}, c) == WireError::none);
    CHECK(c.country_width == 2);   // the megabyte country is not copied into the column
    CHECK(c.country.size() == 4 * 2);
    CHECK(c.problem[1] == kReadTooLarge);
    CHECK(c.problem[2] == kReadIdTooLong);
    CHECK(c.problem[3] == kCameraIdTooLong);
}

TEST_CASE("mutated batches are read or refused, never overrun (run under the sanitizers)") {
    // A valid batch of varied reads, then random byte flips, insertions and deletions: every
    // result is a status or columns of the right size; ASan/UBSan judge the rest.
    std::string body;
    for (int k = 0; k < 6; ++k) {
        body += len_field(2, sample_read() + len_field(12, std::string(static_cast<std::size_t>(k) * 40, 'u')));
    }
    body += len_field(2, len_field(1, "bare"));
    const std::string valid = len_field(1, "fz") + body;
    std::mt19937 rng(20261127);
    IntakeRules rules;
    rules.id_key = HashKey(3);
    ReadIdMemory memory(64);
    IntakeScreen screen;
    screen.memory = &memory;
    std::size_t read_ok = 0;
    for (int round = 0; round < 20000; ++round) {
        std::string bytes = valid;
        const int edits = 1 + static_cast<int>(rng() % 4);
        for (int e = 0; e < edits && !bytes.empty(); ++e) {
            const std::size_t at = rng() % bytes.size();
            switch (rng() % 3) {
                case 0: bytes[at] = static_cast<char>(rng()); break;
                case 1: bytes.insert(at, 1, static_cast<char>(rng())); break;
                default: bytes.erase(at, 1); break;
            }
        }
        IntakeColumns c;
        if (read_intake(bytes, rules, c) != WireError::none) continue;
        ++read_ok;
        screen_intake(screen, c);
        const std::size_t n = c.size();
        REQUIRE(c.problem.size() == n);
        REQUIRE(c.canonical.size() == n * kMaxPlateLen);
        REQUIRE(c.country.size() == n * c.country_width);
        REQUIRE(c.country_width <= kMaxCountryBytes);
        memory.remember(c.read_id_hash.data(), n);
    }
    CHECK(read_ok > 1000);   // many mutations still parse, so the column code is exercised too
}

TEST_CASE("the read-id memory forgets a generation at a time") {
    ReadIdMemory memory(4);
    const std::uint64_t first[] = {10, 11};  // the first generation is full and becomes the older
    memory.remember(first, 2);
    const std::uint64_t twelve = 12;
    memory.remember(&twelve, 1);
    CHECK(memory.contains(10));
    CHECK(memory.contains(12));
    CHECK(memory.size() == 3);
    const std::uint64_t thirteen = 13;
    memory.remember(&thirteen, 1);
    CHECK_FALSE(memory.contains(10));
    CHECK(memory.contains(12));
    const std::uint64_t batch[] = {14, 12, 14, 0};
    bool out[4] = {};
    memory.find_duplicates(batch, 4, out);
    CHECK_FALSE(out[0]);
    CHECK(out[1]);
    CHECK(out[2]);
    CHECK_FALSE(out[3]);
}

TEST_CASE("the read-id memory can be looked up while another thread remembers") {
    // Capacity for every id: what is remembered at any moment is a prefix of ids, and each
    // lookup, taken whole under the memory's lock, must see exactly such a prefix.
    ReadIdMemory memory(1 << 13);
    std::vector<std::uint64_t> ids(4000);
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = 1000 + i;
    std::thread writer([&] {
        for (std::size_t i = 0; i < ids.size(); i += 100) memory.remember(ids.data() + i, 100);
    });
    std::unique_ptr<bool[]> out(new bool[ids.size()]);
    for (int round = 0; round < 50; ++round) {
        memory.find_duplicates(ids.data(), ids.size(), out.get());
        std::size_t known = 0;
        while (known < ids.size() && out[known]) ++known;
        CHECK(known % 100 == 0);
        for (std::size_t i = known; i < ids.size(); ++i) REQUIRE_FALSE(out[i]);
    }
    writer.join();
    memory.find_duplicates(ids.data(), ids.size(), out.get());
    for (std::size_t i = 0; i < ids.size(); ++i) REQUIRE(out[i]);
    CHECK(memory.size() == ids.size());
}
