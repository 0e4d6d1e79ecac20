import re

import pytest

from contractors.register.uscc import ALPHABET, make_uscc, normalise_uscc, uscc_error

REAL_CODES = ("914403001922038216", "9144030071526726XG", "91330100799655058B")
OUTSIDE_ALPHABET = ("I", "O", "Z", "S", "V", "*")


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_pass(code):
    assert uscc_error(code) is None


@pytest.mark.parametrize("code", REAL_CODES)
def test_every_single_character_change_fails_and_names_a_position(code):
    for position in range(1, 19):
        for char in ALPHABET:
            if char == code[position - 1]:
                continue
            changed = code[: position - 1] + char + code[position:]
            message = uscc_error(changed)
            assert message is not None, changed
            assert re.search(r"第\d+位", message), message
            if position == 18 or (3 <= position <= 8 and char.isalpha()):
                assert f"第{position}位" in message, message


@pytest.mark.parametrize("code", REAL_CODES)
@pytest.mark.parametrize("char", OUTSIDE_ALPHABET)
def test_a_character_outside_the_alphabet_is_named_with_its_position(code, char):
    for position in range(1, 19):
        changed = normalise_uscc(code[: position - 1] + char + code[position:])
        assert uscc_error(changed) == f"第{position}位“{char}”不是统一社会信用代码允许的字符"


@pytest.mark.parametrize("code", REAL_CODES)
def test_a_lower_case_letter_counts_as_its_capital(code):
    for position in range(1, 19):
        changed = normalise_uscc(code[: position - 1] + "a" + code[position:])
        assert (uscc_error(changed) is None) == (changed == code)


def test_a_wrong_check_digit_names_the_18th_position_and_the_expected_character():
    message = uscc_error("914403001922038217")
    assert "第18位" in message
    assert "“6”" in message


def test_lower_case_and_spaces_are_normalised():
    assert normalise_uscc(" 9144 0300 7152 6726xg ") == "9144030071526726XG"
    assert uscc_error(normalise_uscc("91330100799655058b")) is None


@pytest.mark.parametrize("code", ["", "91440300192203821", "9144030019220382160"])
def test_empty_and_wrong_length_codes_fail(code):
    assert uscc_error(code)


def test_make_uscc_produces_valid_codes():
    codes = {make_uscc(region="310107", serial=serial) for serial in range(0, 5000, 7)}
    assert len(codes) == len(range(0, 5000, 7))
    assert all(uscc_error(code) is None for code in codes)
    assert all(code[2:8] == "310107" for code in codes)
