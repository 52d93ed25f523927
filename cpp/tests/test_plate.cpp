// Country packing and confusion classes.
#include <doctest/doctest.h>

#include <stdexcept>

#include "feblam/confusion.hpp"
#include "feblam/plate.hpp"

using namespace feblam;

TEST_CASE("countries pack and unpack") {
    CHECK(pack_country("") == kUnknownCountry);
    CHECK(pack_country("  ") == kUnknownCountry);
    CHECK(pack_country("B3") == kUnknownCountry);
    CHECK(pack_country("ABCD") == kUnknownCountry);
    CHECK(country_text(pack_country(" be ")) == "BE");
    CHECK(pack_country("nl") == pack_country("NL"));
    CHECK(pack_country("B") != pack_country("BE"));
    CHECK(countries_compatible(kUnknownCountry, pack_country("FR")));
    CHECK_FALSE(countries_compatible(pack_country("BE"), pack_country("FR")));
}

TEST_CASE("confusion classes") {
    ConfusionClasses classes;
    CHECK(classes.representative('O') == '0');
    CHECK(classes.representative('Q') == '0');
    CHECK(classes.representative('L') == '1');
    CHECK(classes.representative('X') == 'X');
    CHECK(classes.members('B') == "8B");
    CHECK(classes.members('X') == "X");
    CHECK_THROWS_AS(ConfusionClasses("0O O1"), std::invalid_argument);
    CHECK_THROWS_AS(ConfusionClasses("0o"), std::invalid_argument);
}
