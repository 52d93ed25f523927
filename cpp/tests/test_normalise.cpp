// Normalisation of raw UTF-8 text: folding, statuses and malformed input.
#include <doctest/doctest.h>

#include <string>

#include "feblam/normalise.hpp"

using namespace feblam;

namespace {
std::string canonical(std::string_view raw) { return std::string(normalise_plate(raw).view()); }
PlateStatus status(std::string_view raw) { return normalise_plate(raw).status; }
}  // namespace

TEST_CASE("human styles fold to one plate") {
    CHECK(canonical("1-abc-123") == "1ABC123");
    CHECK(canonical("1 ABC 123") == "1ABC123");
    CHECK(canonical("(1.ABC/123)") == "1ABC123");
    CHECK(normalise_plate("1abc123").ok());
}

TEST_CASE("look-alikes, fullwidth forms and diacritics") {
    CHECK(canonical("\xD0\x90" "123" "\xD0\x92\xD0\xA1") == "A123BC");  // Cyrillic А В С
    CHECK(canonical("\xCE\x91\xCE\x92" "1") == "AB1");                  // Greek Α Β
    CHECK(canonical("\xEF\xBC\xA1\xEF\xBC\x91") == "A1");               // fullwidth Ａ１
    CHECK(canonical("\xC5\xA0KODA") == "SKODA");                        // Š
    CHECK(canonical("G\xC3\x98L") == "GOL");                            // Ø
    CHECK(canonical("A\xCC\x81" "1") == "A1");                          // combining acute
    CHECK(canonical("\xE2\x85\xAB") == "XII");                          // Roman numeral twelve
    CHECK(canonical("\xF0\x9D\x90\x80" "1") == "A1");                   // mathematical bold A
    CHECK(canonical("\xC2\xA0" "AB") == "AB");                          // no-break space
}

TEST_CASE("each status") {
    CHECK(status("") == PlateStatus::empty);
    CHECK(status(" \xE3\x80\x80 ") == PlateStatus::empty);  // ideographic space
    CHECK(status("-.-") == PlateStatus::nothing_left);
    CHECK(status("\xCC\x81") == PlateStatus::nothing_left);  // a combining mark alone
    CHECK(status(std::string_view("AB\0" "12", 5)) == PlateStatus::control_character);
    CHECK(status("AB\xE2\x80\xAE" "12") == PlateStatus::control_character);  // U+202E
    CHECK(status("ABCDEFGHIJK") == PlateStatus::too_long);
    CHECK(status(std::string(65, '-')) == PlateStatus::too_long);
    CHECK(status(std::string(64, '-') ) == PlateStatus::nothing_left);
    CHECK(status("AB+1") == PlateStatus::invalid_character);
    CHECK(status("\xD0\x96") == PlateStatus::invalid_character);          // Ж
    CHECK(status("A\xF0\x9F\x9A\x97") == PlateStatus::invalid_character);  // car emoji
    CHECK(status("A\xFF") == PlateStatus::invalid_utf8);
    CHECK(canonical("ABCDEFGHIJ") == "ABCDEFGHIJ");
    const Plate failed = normalise_plate("AB+1");
    CHECK(failed.len == 0);
    CHECK(failed.view().empty());
}

TEST_CASE("the leftmost control or invalid code point decides") {
    CHECK(status("A\x01+") == PlateStatus::control_character);
    CHECK(status("A+\x01") == PlateStatus::invalid_character);
    CHECK(status("ABCDEFGHIJKL\x01") == PlateStatus::control_character);
    // Sixty-five code points of two bytes each: too long by code points, not by bytes.
    std::string wide;
    for (int i = 0; i < 65; ++i) wide += "\xC3\x89";
    CHECK(status(wide) == PlateStatus::too_long);
    CHECK(status(wide.substr(2)) == PlateStatus::too_long);  // 64 code points, 64 kept
}

TEST_CASE("malformed UTF-8 is INVALID_UTF8, never read past the end") {
    const char* malformed[] = {
        "\x80",              // lone continuation byte
        "AB\xBF",            // lone continuation byte after ASCII
        "\xC3",              // truncated two-byte sequence
        "\xE2\x82",          // truncated three-byte sequence
        "\xF0\x9F\x9A",      // truncated four-byte sequence
        "\xC0\xAF",          // overlong '/'
        "\xC1\x81",          // overlong 'A'
        "\xE0\x80\xAF",      // overlong three-byte
        "\xF0\x80\x80\xAF",  // overlong four-byte
        "\xF4\x90\x80\x80",  // U+110000
        "\xF5\x80\x80\x80",  // lead byte beyond U+10FFFF
        "\xFE",
        "\xC3\x28",          // continuation byte missing
    };
    for (const char* raw : malformed) {
        CAPTURE(raw);
        CHECK(normalise_plate(raw).status == PlateStatus::invalid_utf8);
        CHECK(normalise_pattern(raw).status == PlateStatus::invalid_utf8);
    }
    // A truncated sequence at the very end of a view that continues in memory is still truncated.
    const std::string buffer = "AB\xC3\x89";
    CHECK(normalise_plate(std::string_view(buffer.data(), 3)).status == PlateStatus::invalid_utf8);
    // Not UTF-8 anywhere in the text wins over a control character before it.
    CHECK(status("\x01\xFF") == PlateStatus::invalid_utf8);
}

TEST_CASE("encoded surrogates and the last code points") {
    CHECK(status("\xED\xA0\x80") == PlateStatus::invalid_character);  // U+D800
    CHECK(status("\xED\xBF\xBF") == PlateStatus::invalid_character);  // U+DFFF
    CHECK(status("\xF4\x8F\xBF\xBF") == PlateStatus::invalid_character);  // U+10FFFF
    CHECK(status("\xEE\x80\x80") == PlateStatus::invalid_character);  // private use
}

TEST_CASE("patterns keep wildcards and need a letter or digit") {
    CHECK(normalise_pattern("1-ab?-1*").view() == "1AB?1*");
    CHECK(normalise_plate("1-ab?-1*").view() == "1AB1");
    CHECK(normalise_pattern("?*").status == PlateStatus::nothing_left);
    CHECK(normalise_pattern("A??????????").status == PlateStatus::too_long);
    CHECK(normalise_pattern("\xC3\x89?").view() == "E?");
}
