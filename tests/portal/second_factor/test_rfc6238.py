"""The tests' own TOTP, computed without django-otp, is RFC 6238's: then a code it computes
and the portal accepts proves the portal speaks RFC 6238 (ASVS 5.0 V6.5.5: 30 s codes)."""

import base64
import importlib.util
from pathlib import Path

from tests.conftest import totp

# RFC 6238, appendix B: the SHA-1 seed "12345678901234567890"; its 8-digit codes end in these
# six digits.
RFC_SEED = base64.b32encode(b"12345678901234567890").decode()
RFC_VECTORS = {59: "287082", 1111111109: "081804", 1111111111: "050471", 1234567890: "005924"}


def test_the_tests_totp_matches_rfc_6238_appendix_b():
    for at, code in RFC_VECTORS.items():
        assert totp(RFC_SEED, at=at) == code


def test_a_code_lasts_one_30_second_step():
    assert totp(RFC_SEED, at=60) == totp(RFC_SEED, at=89)
    assert totp(RFC_SEED, at=89) != totp(RFC_SEED, at=90)


def test_the_smoke_test_computes_the_same_codes():
    # deploy/smoke.py runs without Django, so it carries its own copy.
    path = Path(__file__).resolve().parents[3] / "deploy" / "smoke.py"
    spec = importlib.util.spec_from_file_location("smoke", path)
    smoke = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(smoke)
    for at, code in RFC_VECTORS.items():
        assert smoke.totp(RFC_SEED, at=at) == code
