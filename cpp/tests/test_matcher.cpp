// The batch matcher, one case per match kind and the gates around them.
#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "feblam/matcher.hpp"

using namespace feblam;

namespace {

std::string packaged_formats() {
    std::ifstream in(FEBLAM_FORMATS_FILE);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

struct Fixture {
    std::vector<std::string> plates, countries;
    std::vector<std::uint16_t> lists;
    std::vector<std::uint32_t> numbers;

    void add(std::string plate, std::uint16_t list, std::string country = "") {
        numbers.push_back(static_cast<std::uint32_t>(plates.size()) + 100U);
        plates.push_back(std::move(plate));
        lists.push_back(list);
        countries.push_back(std::move(country));
    }

    Matcher build(const std::vector<ListPolicy>& policies, const std::string& formats = "") const {
        std::vector<std::string_view> p(plates.begin(), plates.end()), c(countries.begin(), countries.end());
        EntryColumns e;
        e.plates = TextColumn::of_views(p.data(), p.size());
        e.countries = TextColumn::of_views(c.data(), c.size());
        e.list_ids = lists.data();
        e.entry_nos = numbers.data();
        return Matcher(e, policies, kDefaultConfusionClasses, formats);
    }
};

struct Batch {
    std::vector<Match> matches;
    std::vector<std::uint8_t> status;
    std::vector<char> canonical;
};

Batch run(const Matcher& m, const std::vector<std::string_view>& reads,
          const std::vector<std::string_view>& countries = {},
          const std::vector<double>& confidences = {}, unsigned threads = 1) {
    Batch b;
    ReadColumns r;
    r.plates = TextColumn::of_views(reads.data(), reads.size());
    r.countries = TextColumn::of_views(countries.data(), countries.size());
    r.confidences = confidences.empty() ? nullptr : confidences.data();
    b.status.resize(reads.size());
    b.canonical.resize(reads.size() * kMaxPlateLen);
    m.match(r, b.canonical.data(), b.status.data(), b.matches, threads);
    return b;
}

ListPolicy policy(std::uint16_t list, std::uint8_t kinds, double min_score = 0.0,
                  double near_max = 1.0) {
    return ListPolicy{list, kinds, min_score, near_max};
}

}  // namespace

TEST_CASE("exact matches find every entry of a plate, across lists, in contract order") {
    Fixture f;
    f.add("1-abc-123", 1);
    f.add("XY12", 1);
    f.add("1ABC123", 2);
    const Matcher m = f.build({policy(1, kExact), policy(2, kExact)});
    Batch b = run(m, {"nope", "1ABC123", "\x01", "xy 12"});
    REQUIRE(b.matches.size() == 3);
    CHECK(b.matches[0].read == 1);
    CHECK(b.matches[0].entry == 0);
    CHECK(b.matches[0].entry_no == 100);
    CHECK(b.matches[0].list_id == 1);
    CHECK(b.matches[1].entry == 2);
    CHECK(b.matches[1].list_id == 2);
    CHECK(b.matches[2].read == 3);
    CHECK(b.matches[2].kind == kExact);
    CHECK(b.matches[2].score == doctest::Approx(1.0));
    CHECK(b.status[2] == static_cast<std::uint8_t>(PlateStatus::control_character));
    CHECK(std::string_view(b.canonical.data() + kMaxPlateLen, 7) == "1ABC123");
}

TEST_CASE("bad entries are reported and not indexed") {
    Fixture f;
    f.add("", 1);
    f.add("AB\x01", 1);
    f.add("OK1", 1);
    f.add("A?C", 1);
    const Matcher m = f.build({policy(1, kExact | kPattern)});
    CHECK(m.report().entries == 4);
    CHECK(m.report().indexed == 2);
    CHECK(m.report().patterns == 1);
    CHECK(m.report().rejected_entry == std::vector<std::uint32_t>{0, 1});
    CHECK(m.entry_plate(3) == "A?C");
    CHECK(m.entry_plate(0).empty());
}

TEST_CASE("a list without a policy is refused") {
    Fixture f;
    f.add("AB1", 9);
    CHECK_THROWS_AS(f.build({policy(1, kExact)}), std::invalid_argument);
}

TEST_CASE("OCR matches equal confusion keys and explain the substituted positions") {
    Fixture f;
    f.add("1ABC123", 1);
    const Matcher m = f.build({policy(1, kOcr)});
    Batch b = run(m, {"1A8C123", "IA8C1Z3", "1ABC123", "1A8C12"});
    REQUIRE(b.matches.size() == 2);
    CHECK(b.matches[0].kind == kOcr);
    CHECK(b.matches[0].sub_mask == 0b100);
    CHECK(b.matches[0].score == doctest::Approx(0.8));
    CHECK(b.matches[1].read == 1);
    CHECK(b.matches[1].sub_mask == 0b100101);
    CHECK(b.matches[1].score == doctest::Approx(0.76));
}

TEST_CASE("fuzzy matches: insertion, drop, substitution") {
    Fixture f;
    f.add("AB123", 1);
    const Matcher m = f.build({policy(1, kFuzzy)});
    Batch b = run(m, {"AB1234", "AB23", "AX123", "AB123", "XY999"});
    REQUIRE(b.matches.size() == 3);
    CHECK(b.matches[0].edit_op == static_cast<std::uint8_t>(EditOp::inserted));
    CHECK(b.matches[0].edit_pos == 5);
    CHECK(b.matches[0].sub_mask == 0);
    CHECK(b.matches[1].edit_op == static_cast<std::uint8_t>(EditOp::dropped));
    CHECK(b.matches[1].edit_pos == 2);
    CHECK(b.matches[1].sub_mask == 0);
    CHECK(b.matches[2].edit_op == static_cast<std::uint8_t>(EditOp::substituted));
    CHECK(b.matches[2].edit_pos == 1);
    CHECK(b.matches[2].sub_mask == 0b10);
    CHECK(b.matches[2].score == doctest::Approx(0.55));
}

TEST_CASE("patterns match whole plates and score by their literals") {
    Fixture f;
    f.add("1A?C*", 1);
    f.add("XY12", 1);
    const Matcher m = f.build({policy(1, kPattern)});
    Batch b = run(m, {"1ABC123", "1AC", "1ABC", "XY12"});
    REQUIRE(b.matches.size() == 2);
    CHECK(b.matches[0].read == 0);
    CHECK(b.matches[0].kind == kPattern);
    CHECK(b.matches[0].score == doctest::Approx(0.3 + 0.2 * 3 / 7));
    CHECK(b.matches[1].read == 2);
}

TEST_CASE("countries must be compatible") {
    Fixture f;
    f.add("AB12", 1, "FR");
    const Matcher m = f.build({policy(1, kExact)});
    Batch b = run(m, {"AB12", "AB12", "AB12"}, {"FR", "NL", ""});
    REQUIRE(b.matches.size() == 2);
    CHECK(b.matches[0].read == 0);
    CHECK(b.matches[1].read == 2);
}

TEST_CASE("the near-match gate and min_score drop matches") {
    Fixture f;
    f.add("ABC12", 1);
    f.add("ABC12", 2);
    const Matcher m = f.build({policy(1, kOcr, 0.0, 0.5), policy(2, kOcr, 0.7)});
    // No formats: an unknown country never fits exactly, so every read is in format doubt.
    Batch b = run(m, {"A8C12"}, {}, {1.0});
    CHECK(b.matches.size() == 2);
    // A country without formats gives no doubt: the gate applies.
    b = run(m, {"A8C12", "A8C12"}, {"PL", "PL"}, {0.9, 0.4});
    REQUIRE(b.matches.size() == 2);
    CHECK(b.matches[0].list_id == 2);  // list 1 gated at q 0.9
    CHECK(b.matches[1].read == 1);
    CHECK(b.matches[1].list_id == 1);  // list 2 dropped: 0.8 * 0.7 < 0.7
}

TEST_CASE("resolved matches read confusables by the country's formats") {
    Fixture f;
    f.add("1ABC123", 1, "BE");
    const Matcher m = f.build({policy(1, kExact | kResolved)}, packaged_formats());
    // FR formats do not fit the read, so FR is disregarded and BE's reading counts; PL has no
    // formats, so nothing resolves.
    Batch b = run(m, {"1A8C123", "1A8C123", "1A8C123", "1ABC123"}, {"BE", "PL", "FR", "B"});
    REQUIRE(b.matches.size() == 3);
    CHECK(b.matches[0].kind == kResolved);
    CHECK(b.matches[0].sub_mask == 0b100);
    CHECK(b.matches[0].score == doctest::Approx(0.9));
    CHECK(b.matches[1].kind == kResolved);
    CHECK(b.matches[1].read == 2);
    CHECK(b.matches[2].kind == kExact);
    CHECK(b.matches[2].read == 3);
}

TEST_CASE("resolved matches try every reading a format determines") {
    Fixture f;
    f.add("ZKEE8680", 1, "DE");
    f.add("ZKEEB680", 1, "DE");
    f.add("Z725UC", 1, "NL");
    const Matcher m = f.build({policy(1, kExact | kResolved, 0.0, 0.7)}, packaged_formats());
    // DE formats read ZKEE8G80 as either entry. Z72SUC is an NL plate as it stands (sidecode
    // 12), so it is not re-read as Z725UC (sidecode 10) however unsure the reader.
    Batch b = run(m, {"ZKEE8G80", "Z72SUC", "ZKEE8G80"}, {"DE", "NL", ""}, {0.9, 0.1, 0.5});
    REQUIRE(b.matches.size() == 4);
    for (std::size_t i = 0; i < 4; ++i) {
        CHECK(b.matches[i].read == (i < 2 ? 0U : 2U));
        CHECK(b.matches[i].entry == i % 2);
        CHECK(b.matches[i].kind == kResolved);
    }
    CHECK(b.matches[0].sub_mask == 0b100000);
    CHECK(b.matches[1].sub_mask == 0b110000);
}

TEST_CASE("a plate that fits its entry's country exactly outweighs a country it only fits re-read") {
    Fixture f;
    f.add("0LVG694", 1, "BE");
    f.add("AMM174", 1, "BE");
    f.add("0LVG694", 2, "BE");
    const Matcher m = f.build({policy(1, kExact), policy(2, kOcr)}, packaged_formats());
    // DE needs the 0 read as a letter; BE 9LLL999 takes it as it stands. AMM174 is a German
    // plate as read, so the German guess stands. PL has no formats to judge by.
    Batch b = run(m, {"0LVG694", "AMM174", "0LVG694", "OLVG694"}, {"D", "DE", "PL", "DE"});
    REQUIRE(b.matches.size() == 1);
    CHECK(b.matches[0].read == 0);
    CHECK(b.matches[0].entry == 0);
    CHECK(b.matches[0].kind == kExact);
    CHECK(b.matches[0].score == doctest::Approx(1.0));
}

TEST_CASE("threads split a batch without changing the result") {
    Fixture f;
    for (int i = 0; i < 300; ++i) f.add("AB" + std::to_string(i), 1);
    const Matcher m = f.build({policy(1, kExact | kOcr | kFuzzy)});
    std::vector<std::string> texts;
    for (int i = 0; i < 1000; ++i) texts.push_back("A8" + std::to_string(i % 400));
    std::vector<std::string_view> reads(texts.begin(), texts.end());
    Batch one = run(m, reads), two = run(m, reads, {}, {}, 2);
    REQUIRE(one.matches.size() == two.matches.size());
    CHECK(!one.matches.empty());
    for (std::size_t i = 0; i < one.matches.size(); ++i) {
        CHECK(one.matches[i].read == two.matches[i].read);
        CHECK(one.matches[i].entry == two.matches[i].entry);
    }
    CHECK(one.canonical == two.canonical);
}

TEST_CASE("an exact-only list beside a fuzzy list: each list keeps its own kinds") {
    Fixture f;
    f.add("AB123", 1);   // exact only
    f.add("AB123", 2);   // exact and fuzzy
    f.add("AB128", 3);   // OCR only
    const Matcher m = f.build({policy(1, kExact), policy(2, kExact | kFuzzy), policy(3, kOcr)});
    Batch b = run(m, {"AB123", "AB12B", "AB124"});
    REQUIRE(b.matches.size() == 5);
    CHECK((b.matches[0].read == 0 && b.matches[0].entry == 0 && b.matches[0].kind == kExact));
    CHECK((b.matches[1].read == 0 && b.matches[1].entry == 1 && b.matches[1].kind == kExact));
    CHECK((b.matches[2].read == 1 && b.matches[2].entry == 2 && b.matches[2].kind == kOcr));
    CHECK((b.matches[3].read == 1 && b.matches[3].entry == 1 && b.matches[3].kind == kFuzzy));
    CHECK((b.matches[4].read == 2 && b.matches[4].entry == 1 && b.matches[4].kind == kFuzzy));
}

TEST_CASE("matches stay with their reads across blocks, between bad plates") {
    Fixture f;
    for (int i = 0; i < 50; ++i) f.add("K" + std::to_string(1000 + i), 1);
    const Matcher m = f.build({policy(1, kExact | kOcr | kFuzzy)});
    std::vector<std::string> texts;
    for (int i = 0; i < 700; ++i) {
        // Every third read is refused; the others are K1000..K1049 read with an extra character.
        texts.push_back(i % 3 == 0 ? std::string("$") : "K" + std::to_string(1000 + i % 50) + "X");
    }
    std::vector<std::string_view> reads(texts.begin(), texts.end());
    Batch b = run(m, reads);
    std::size_t seen = 0;
    for (const Match& x : b.matches) {
        REQUIRE(x.read % 3 != 0);
        CHECK(x.entry == x.read % 50);
        CHECK(x.kind == kFuzzy);
        CHECK(x.edit_op == static_cast<std::uint8_t>(EditOp::inserted));
        CHECK(x.edit_pos == 5);
        ++seen;
    }
    CHECK(seen == 700 - 234);
}
