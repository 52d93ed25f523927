// The key index: duplicates, missing keys, id order.
#include <doctest/doctest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "feblam/index.hpp"

using namespace feblam;

namespace {
std::vector<std::uint32_t> ids_of(const KeyIndex& index, std::uint64_t key) {
    std::vector<std::uint32_t> out;
    index.lookup(key, [&](std::uint32_t id) { out.push_back(id); });
    return out;
}
}  // namespace

TEST_CASE("a key on several entries gives all of them in id order, once each") {
    const std::uint64_t a = pack_plate("1ABC123"), b = pack_plate("XY12"), c = pack_plate("Q");
    KeyIndex index = KeyIndex::build({{a, 7}, {b, 1}, {a, 3}, {a, 7}, {c, 0}, {a, 5}});
    CHECK(ids_of(index, a) == std::vector<std::uint32_t>{3, 5, 7});
    CHECK(ids_of(index, b) == std::vector<std::uint32_t>{1});
    CHECK(ids_of(index, c) == std::vector<std::uint32_t>{0});
    CHECK(ids_of(index, pack_plate("1ABC124")).empty());
    CHECK(ids_of(index, 0).empty());
    CHECK(index.size() == 5);
}

TEST_CASE("an empty index finds nothing") {
    KeyIndex index = KeyIndex::build(KeyIndex::Pairs{});
    CHECK(index.empty());
    CHECK(ids_of(index, pack_plate("A")).empty());
}

TEST_CASE("many keys: every stored key is found, absent keys are not") {
    std::vector<std::pair<std::uint64_t, std::uint32_t>> pairs;
    for (std::uint32_t i = 0; i < 50000; ++i) pairs.emplace_back(std::uint64_t{i} * 7 + 1, i);
    KeyIndex index = KeyIndex::build(pairs);
    for (std::uint32_t i = 0; i < 50000; ++i) {
        REQUIRE(ids_of(index, std::uint64_t{i} * 7 + 1) == std::vector<std::uint32_t>{i});
        REQUIRE(ids_of(index, std::uint64_t{i} * 7 + 2).empty());
    }
    CHECK(index.memory_bytes() < 50000 * 20);
}

TEST_CASE("a lookup taken step by step finds what a whole lookup finds") {
    std::vector<std::pair<std::uint64_t, std::uint32_t>> pairs;
    for (std::uint32_t i = 0; i < 5000; ++i) pairs.emplace_back(std::uint64_t{i % 1700} * 13 + 5, i);
    KeyIndex index = KeyIndex::build(pairs);
    for (std::uint64_t k = 0; k < 1800; ++k) {
        const std::uint64_t key = k * 13 + 5, hash = mix_key(key);
        std::vector<std::uint32_t> stepped;
        if (index.may_contain_hash(hash)) {
            const std::uint32_t bucket = index.bucket_of(hash);
            index.prefetch_bucket(bucket);
            const KeyIndex::Run run = index.run_of(bucket);
            index.prefetch_run(run);
            index.emit_run(hash, run, [&](std::uint32_t id) { stepped.push_back(id); });
        }
        REQUIRE(stepped == ids_of(index, key));
        REQUIRE(stepped.size() == (k < 1700 ? (k < 5000 % 1700 ? 3U : 2U) : 0U));
    }
}
