// Packed plate keys and the blocked Bloom filter.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "feblam/filter.hpp"
#include "feblam/pack.hpp"

using namespace feblam;

TEST_CASE("plates pack losslessly into 64 bits") {
    CHECK(pack_plate("") == 0U);
    for (std::string s : {"A", "0", "Z9", "1ABC123", "ZZZZZZZZZZ", "0000000000", "AB12CD"}) {
        const std::uint64_t key = pack_plate(s);
        CHECK(key != 0U);
        CHECK(unpack_plate(key) == s);
        CHECK(packed_length(key) == s.size());
    }
    CHECK(pack_plate("A0") != pack_plate("0A"));
    CHECK(pack_plate("A") != pack_plate("A0"));
    CHECK(pack_plate("ZZZZZZZZZZ") < (std::uint64_t{1} << 60));
}

TEST_CASE("the key mixer is a bijection on sampled keys and reduce_hash is monotone") {
    CHECK(mix_key(pack_plate("1ABC123")) != mix_key(pack_plate("1ABC124")));
    std::uint64_t prev = 0;
    std::uint32_t prev_bucket = 0;
    for (std::uint64_t h = 0; h < 64; ++h) {
        std::uint64_t hash = h << 58;
        std::uint32_t b = reduce_hash(hash, 1000);
        CHECK(b < 1000U);
        CHECK(b >= prev_bucket);
        prev_bucket = b;
        prev = hash;
    }
    CHECK(prev != 0U);
}

TEST_CASE("the Bloom filter has no false negatives and a sane false-positive rate") {
    const std::size_t n = 100000;
    BlockedBloomFilter filter(n);
    for (std::uint64_t i = 0; i < n; ++i) filter.insert(mix_key(i * 2 + 1));
    for (std::uint64_t i = 0; i < n; ++i) REQUIRE(filter.may_contain(mix_key(i * 2 + 1)));
    std::size_t false_positives = 0;
    for (std::uint64_t i = 0; i < n; ++i) false_positives += filter.may_contain(mix_key(i * 2 + 2));
    const double rate = static_cast<double>(false_positives) / static_cast<double>(n);
    CHECK(rate < 0.01);
    CHECK(rate > 0.0);  // 16 bits a key cannot be perfect; zero would mean probes ignore the bits
    CHECK(filter.memory_bytes() <= n * 2 + 64);
}

TEST_CASE("an empty filter contains nothing") {
    BlockedBloomFilter none;
    CHECK_FALSE(none.may_contain(mix_key(1)));
    BlockedBloomFilter sized(0);
    CHECK_FALSE(sized.may_contain(mix_key(1)));
}
