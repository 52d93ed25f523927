// National plate formats: the packaged file, resolution, fits and spec errors.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "feblam/formats.hpp"

using namespace feblam;

namespace {

std::string packaged_spec() {
    std::ifstream in(FEBLAM_FORMATS_FILE);
    REQUIRE(in.good());
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

const FormatTable& packaged() {
    static const FormatTable table(packaged_spec(), ConfusionClasses());
    return table;
}

std::string resolved(std::string_view plate, std::string_view country) {
    Plate out;
    if (!packaged().resolve(plate, packaged().canonical_country(pack_country(country)), out)) return "<none>";
    return std::string(out.view());
}

Country cc(std::string_view text) { return packaged().canonical_country(pack_country(text)); }

std::string error_of(std::string_view spec) {
    try {
        FormatTable table(spec, ConfusionClasses());
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "<no error>";
}

}  // namespace

TEST_CASE("BE reads 8 in a letter position as B") {
    CHECK(resolved("1A8C123", "BE") == "1ABC123");
    CHECK(resolved("1A8C123", "B") == "1ABC123");
    CHECK(resolved("1ABC123", "BE") == "1ABC123");
    CHECK(packaged().fits("1A8C123", cc("BE")));
    CHECK_FALSE(packaged().fits_exactly("1A8C123", cc("BE")));
    CHECK(packaged().fits_exactly("1ABC123", cc("BE")));
    CHECK(resolved("1A8C123", "") == "<none>");

    std::vector<Resolution> out;
    packaged().resolutions("1A8C123", cc("BE"), out);
    REQUIRE(out.size() == 1);
    CHECK(country_text(out[0].country) == "BE");
    CHECK(out[0].reading.view() == "1ABC123");
    out.clear();
    packaged().resolutions("1ABC123", cc("BE"), out);
    CHECK(out.empty());
    packaged().resolutions("1A8C123", kUnknownCountry, out);
    REQUIRE(out.size() == 1);
    CHECK(country_text(out[0].country) == "BE");
}

TEST_CASE("NL sidecodes") {
    CHECK(packaged().fits_exactly("XB1234", cc("NL")));  // 1: LL9999
    CHECK(packaged().fits_exactly("1234XB", cc("NL")));  // 2: 9999LL
    CHECK(packaged().fits_exactly("12XBXB", cc("NL")));  // 6: 99LLLL
    CHECK(packaged().fits_exactly("1XXX23", cc("NL")));  // 8: 9LLL99
    CHECK(packaged().fits_exactly("123XX4", cc("NL")));  // 14: 999LL9
    CHECK_FALSE(packaged().fits("XXXXXX", cc("NL")));
    // 1 and 5 fit with different readings: no resolution.
    CHECK(packaged().fits("XB1Z34", cc("NL")));
    CHECK(resolved("XB1Z34", "NL") == "<none>");
}

TEST_CASE("readings keep every format's reading that leaves no choice") {
    std::vector<Plate> found;
    packaged().readings("Z72SUC", cc("NL"), found);
    std::vector<std::string> texts;
    for (const Plate& p : found) texts.emplace_back(p.view());
    // Sidecodes 2, 6, 10 and 12; sorted, each once.
    CHECK(texts == std::vector<std::string>{"2725UC", "27ZSUC", "Z725UC", "Z72SUC"});
    CHECK(resolved("Z72SUC", "NL") == "<none>");

    // Sidecode 12 takes the plate as it stands: NL gives no resolution.
    std::vector<Resolution> out;
    packaged().resolutions("Z72SUC", cc("NL"), out);
    CHECK(out.empty());
    // DE LLLL9999 reads the G as 6, LLLLL999 the 8 as B too: both are resolutions, in order.
    packaged().resolutions("ZKEE8G80", kUnknownCountry, out);
    REQUIRE(out.size() == 2);
    CHECK(country_text(out[0].country) == "DE");
    CHECK(out[0].reading.view() == "ZKEE8680");
    CHECK(out[1].reading.view() == "ZKEEB680");

    // A format that leaves a choice gives nothing, not a guess: UK allows O and D for the 0.
    found.clear();
    packaged().readings("JH42JJ0", cc("UK"), found);
    CHECK(found.empty());
    // DE LL999 reads 8 as B; LLL99 would need the 1 as I or L and gives nothing.
    packaged().readings("A8123", cc("DE"), found);
    REQUIRE(found.size() == 1);
    CHECK(found[0].view() == "AB123");
    // Unknown countries and countries without formats have no readings; readings append.
    packaged().readings("A8123", kUnknownCountry, found);
    packaged().readings("A8123", cc("PL"), found);
    CHECK(found.size() == 1);
}

TEST_CASE("FR letters exclude I, O and U") {
    CHECK(resolved("AI123BC", "FR") == "AL123BC");
    CHECK(resolved("A1123BC", "F") == "AL123BC");
    CHECK(resolved("AB123OC", "FR") == "<none>");  // O may be D or Q
    CHECK(packaged().fits("AB123OC", cc("FR")));
    CHECK_FALSE(packaged().fits_exactly("AI123BC", cc("FR")));
    CHECK_FALSE(packaged().fits("AB12XBC", cc("FR")));
}

TEST_CASE("DE lengths") {
    CHECK(packaged().fits_exactly("MAB1", cc("DE")));
    CHECK(packaged().fits_exactly("MXAB1234", cc("DE")));
    CHECK(packaged().fits_exactly("MXABC123", cc("DE")));
    CHECK_FALSE(packaged().fits("MXAB12345", cc("DE")));
    CHECK_FALSE(packaged().fits("M1", cc("DE")));
    CHECK(packaged().fits_exactly("MXABC12", cc("D")));
    CHECK_FALSE(packaged().fits("MXABCK12", cc("D")));  // six letters
    CHECK(packaged().fits("MXABCD12", cc("D")));        // D may be the digit 0
}

TEST_CASE("countries and aliases") {
    std::vector<std::string> names;
    for (Country c : packaged().countries()) names.push_back(country_text(c));
    CHECK(names == std::vector<std::string>{"BE", "DE", "ES", "FR", "IT", "LU", "NL", "UK"});
    CHECK(country_text(cc(" gb ")) == "UK");
    CHECK(country_text(cc("GBR")) == "UK");
    CHECK(country_text(cc("PL")) == "PL");
    CHECK_FALSE(packaged().has_formats(cc("PL")));
    CHECK(packaged().has_formats(cc("d")));
    CHECK_FALSE(packaged().has_formats(kUnknownCountry));

    std::vector<std::string> fitting;
    for (Country c : packaged().countries_fitting("A8123Z")) fitting.push_back(country_text(c));
    CHECK(fitting == std::vector<std::string>{"BE", "DE", "LU", "NL"});
    CHECK(packaged().countries_fitting("ABCDEFGHIJ").empty());
    CHECK(packaged().countries_fitting("1-ABC").empty());  // not canonical
    CHECK(packaged().fits_exactly("1ABC123", kUnknownCountry));
    CHECK_FALSE(packaged().fits_exactly("1A8C123", kUnknownCountry));
    CHECK(packaged().fits("1A8C123", kUnknownCountry));
    CHECK_FALSE(packaged().fits("1ABC123", cc("PL")));
}

TEST_CASE("spec errors name the line") {
    CHECK(error_of("BE x 9LLL999\nBE y 9LLQ") == "plate formats line 2: bad pattern '9LLQ'");
    CHECK(error_of("# c\n\nBE x") ==
          "plate formats line 3: expected COUNTRY NAME PATTERN [exclude=LETTERS] [max=N]");
    CHECK(error_of("be x 9L") == "plate formats line 1: country 'be' is not 1-3 upper-case letters");
    CHECK(error_of("BE x L{3,2}") == "plate formats line 1: bad pattern 'L{3,2}'");
    CHECK(error_of("BE x L9 exclude=io") == "plate formats line 1: bad exclude 'io'");
    CHECK(error_of("BE x L9 max=11") == "plate formats line 1: bad max '11'");
    CHECK(error_of("BE x L9 colour=red") == "plate formats line 1: unknown option 'colour=red'");
    CHECK(error_of("BE x L{6}9{5}") ==
          "plate formats line 1: pattern 'L{6}9{5}' has no expansion of at most 10 characters");
    CHECK(error_of("BE x L9\nalias B BE\nalias B BE") == "plate formats line 3: alias 'B' given twice");
    CHECK(error_of("alias B NL\nBE x L9") ==
          "plate formats line 1: alias 'B' names 'NL', which has no formats");
    CHECK(error_of("BE x L9\nNL x 9L\nalias NL BE") ==
          "plate formats line 3: alias 'NL' is a country with formats");
    CHECK(error_of("BE x L{1,3}9 max=3 # comment") == "<no error>");
}

TEST_CASE("a custom spec: repeats, max and X positions") {
    const FormatTable table("ZZ a L{1,3}9 max=3\nZZ b X9X\n", ConfusionClasses("8B 0O"));
    const Country zz = pack_country("ZZ");
    CHECK(table.fits("A1", zz));
    CHECK(table.fits("AB1", zz));
    CHECK_FALSE(table.fits("ABC1", zz));  // over max=3
    Plate out;
    CHECK(table.resolve("81", zz, out));  // L9 reads 8 as B
    CHECK(out.view() == "B1");
    CHECK(table.fits_exactly("A8", zz));
    // LL9 reads B08 as BO8, X9X as B08: two readings, so no resolution.
    CHECK(table.fits_exactly("B08", zz));
    CHECK_FALSE(table.resolve("B08", zz, out));
    CHECK(out.view() == "B1");  // untouched when nothing resolves
    CHECK(table.resolve("X8X", zz, out));  // only X9X fits
    CHECK(out.view() == "X8X");
}

TEST_CASE("a length with more than 64 patterns answers as one with few") {
    // Lengths with at most 64 patterns are answered from bit sets; more fall back to the pattern
    // loop. The same country asked the same questions must not tell the two apart.
    std::string few;
    std::string many;
    const std::string kinds = "L9X";
    int shape_no = 0;
    for (char a : kinds) {
        for (char b : kinds) {
            for (char c : kinds) {
                for (char d : kinds) {
                    const std::string shape = std::string() + a + b + c + d;
                    const std::string line = " s" + std::to_string(shape_no++) + " " + shape + "\n";
                    // ZZ gets the 8 shapes that start with a letter and hold no X (so fitting
                    // and fitting exactly differ) in both tables; WW the 73 others, in `many`
                    // only: 81 patterns of length 4.
                    if (a == 'L' && shape.find('X') == std::string::npos) {
                        few += "ZZ" + line;
                        many += "ZZ" + line;
                    } else {
                        many += "WW" + line;
                    }
                }
            }
        }
    }
    const ConfusionClasses classes("0OD 1I 8B");
    const FormatTable small(few, classes);
    const FormatTable large(many, classes);
    const Country zz = pack_country("ZZ");
    const std::string alphabet = "A8B0O1IZ";
    std::string plate(4, ' ');
    int fits = 0;
    for (char a : alphabet) {
        for (char b : alphabet) {
            for (char c : alphabet) {
                for (char d : alphabet) {
                    plate = std::string() + a + b + c + d;
                    CHECK(small.fits(plate, zz) == large.fits(plate, zz));
                    CHECK(small.fits_exactly(plate, zz) == large.fits_exactly(plate, zz));
                    Plate x, y;
                    const bool rx = small.resolve(plate, zz, x);
                    CHECK(rx == large.resolve(plate, zz, y));
                    if (rx) CHECK(x.view() == y.view());
                    std::vector<Resolution> rs, rl;
                    small.resolutions(plate, zz, rs);
                    large.resolutions(plate, zz, rl);
                    REQUIRE(rs.size() == rl.size());
                    for (std::size_t k = 0; k < rs.size(); ++k) CHECK(rs[k].reading.view() == rl[k].reading.view());
                    fits += small.fits(plate, zz) ? 1 : 0;
                }
            }
        }
    }
    CHECK(fits > 0);
    // Asked about any country, the larger table also sees WW's shapes.
    CHECK(large.fits("AAAA", kUnknownCountry));
}
