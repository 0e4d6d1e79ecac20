"""What a file is by its first bytes, and what a photo's EXIF says, whatever a client declares."""

import io
from decimal import Decimal

import pytest
from PIL import Image, TiffImagePlugin

from contractors.evidence.files import make_thumbnail, photo_facts, sniff_type
from tests.contractors.evidence.test_evidence import DATETIME_ORIGINAL, EXIF_IFD, GPS_IFD, photo


def iso_media(major, *compatible):
    brands = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (8 + len(brands)).to_bytes(4, "big") + b"ftyp" + brands + b"\x00\x00\x00\x08free"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (photo(), "image/jpeg"),
        (photo(fmt="PNG"), "image/png"),
        (photo(fmt="HEIF"), "image/heic"),
        (iso_media(b"mif1", b"mif1", b"heic"), "image/heic"),
        (b"%PDF-1.7\n", "application/pdf"),
        (iso_media(b"isom", b"isom", b"avc1"), "video/mp4"),
        (iso_media(b"mp42", b"mp42", b"isom"), "video/mp4"),
        (iso_media(b"avif", b"mif1", b"avif"), None),
        (iso_media(b"mif1", b"mif1", b"avif"), None),
        (iso_media(b"qt  ", b"qt  "), None),
        (b"\x7fELF\x02\x01\x01\x00", None),
        (b"MZ\x90\x00\x03\x00", None),
        (b"GIF89a", None),
        (b"<svg xmlns='http://www.w3.org/2000/svg'>", None),
        (b"", None),
    ],
    ids=[
        "jpeg",
        "png",
        "heic",
        "heif-with-heic",
        "pdf",
        "mp4-isom",
        "mp4-mp42",
        "avif",
        "heif-with-avif",
        "quicktime",
        "elf",
        "windows-exe",
        "gif",
        "svg",
        "empty",
    ],
)
def test_the_type_comes_from_the_first_bytes(head, expected):
    assert sniff_type(head[:64]) == expected


def jpeg_with(exif):
    out = io.BytesIO()
    Image.new("RGB", (40, 30)).save(out, "JPEG", exif=exif)
    return io.BytesIO(out.getvalue())


def test_a_heic_photo_gives_its_facts_and_a_thumbnail():
    file = io.BytesIO(photo(fmt="HEIF"))

    taken_at, latitude, longitude = photo_facts(file)

    assert taken_at.isoformat() == "2021-03-15T09:41:05+08:00"
    assert (latitude, longitude) == (Decimal("31.240000"), Decimal("121.395000"))
    assert Image.open(io.BytesIO(make_thumbnail(file))).size == (480, 320)


def test_a_camera_without_a_clock_or_a_fix_gives_no_facts():
    exif = Image.Exif()
    exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] = "0000:00:00 00:00:00"
    position = exif.get_ifd(GPS_IFD)
    position[1], position[2] = "N", (0.0, 0.0, 0.0)
    position[3], position[4] = "E", (0.0, 0.0, 0.0)

    assert photo_facts(jpeg_with(exif)) == (None, None, None)


def test_a_zero_denominator_in_the_position_gives_no_position():
    exif = Image.Exif()
    position = exif.get_ifd(GPS_IFD)
    broken = TiffImagePlugin.IFDRational(31, 0)
    position[1], position[2] = "N", (broken, 14.0, 24.0)
    position[3], position[4] = "E", (121.0, 23.0, 42.0)

    assert photo_facts(jpeg_with(exif))[1:] == (None, None)


def test_a_photo_turned_by_its_exif_orientation_gets_an_upright_thumbnail():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90° clockwise: the stored landscape is a portrait
    out = io.BytesIO()
    Image.new("RGB", (1000, 500)).save(out, "JPEG", exif=exif)

    thumbnail = Image.open(io.BytesIO(make_thumbnail(io.BytesIO(out.getvalue()))))

    assert thumbnail.size == (240, 480)


def test_a_transparent_png_gets_a_white_background():
    out = io.BytesIO()
    Image.new("RGBA", (600, 600), (0, 0, 0, 0)).save(out, "PNG")

    thumbnail = Image.open(io.BytesIO(make_thumbnail(io.BytesIO(out.getvalue()))))

    assert thumbnail.mode == "RGB"
    assert thumbnail.getpixel((10, 10)) >= (250, 250, 250)
