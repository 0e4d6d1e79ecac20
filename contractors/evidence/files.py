"""What an evidence file is: its type from its first bytes, and a photo's EXIF time and place
and its thumbnail. Pure helpers; the confirm service decides what to do with the answers."""

import io
import logging
import numbers
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pillow_heif
from PIL import ExifTags, Image, ImageOps

pillow_heif.register_heif_opener()
logger = logging.getLogger(__name__)

# Content type -> the extension of the stored object.
ALLOWED_TYPES = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/heic": "heic",
    "application/pdf": "pdf",
    "video/mp4": "mp4",
}
PHOTO_TYPES = {"image/jpeg", "image/png", "image/heic"}
# Enough for an ISO media file's `ftyp` box with its first compatible brands.
HEAD_BYTES = 64
HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"}
# Generic HEIF brands: HEIC only when a HEIC brand is among the compatible ones (AVIF is not).
HEIF_BRANDS = {b"mif1", b"msf1"}
MP4_BRANDS = {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V "}
THUMBNAIL_SIZE = (480, 480)
# Phones take at most about 50 megapixels; beyond this, decoding a small file could take
# gigabytes (a decompression bomb), so such a photo is kept without a thumbnail.
MAX_PHOTO_PIXELS = 64_000_000
# Cameras write EXIF times as the local wall clock without a zone; the district's is Shanghai's.
PHOTO_TIME_ZONE = ZoneInfo("Asia/Shanghai")
COORDINATE_STEP = Decimal("0.000001")


def sniff_type(head):
    """The allowed type the first bytes of a file show, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[4:8] == b"ftyp":
        return _iso_media_type(head)
    return None


def _iso_media_type(head):
    box_end = min(int.from_bytes(head[:4], "big"), len(head))
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, box_end - 3, 4)}
    if major in HEIC_BRANDS or (major in HEIF_BRANDS and compatible & HEIC_BRANDS):
        return "image/heic"
    if major in MP4_BRANDS:
        return "video/mp4"
    return None


def extension_for(content_type):
    return ALLOWED_TYPES[content_type]


def photo_facts(file):
    """(taken_at, latitude, longitude) from a photo's EXIF, each None when absent or unreadable.

    `file` is a seekable copy of the object: the confirm step makes it while hashing, so the
    object is read from storage only once."""
    try:
        file.seek(0)
        with Image.open(file) as image:
            exif = image.getexif()
            return (_taken_at(exif), *_position(exif))
    except Exception:  # noqa: BLE001 - any decoder failure means "no facts", never a refusal
        logger.warning("evidence photo: EXIF unreadable", exc_info=True)
        return None, None, None


def make_thumbnail(file):
    """The photo upright as a JPEG whose longest side is 480 px; None when it cannot be decoded
    (a photo that sniffed right is still evidence without one)."""
    try:
        file.seek(0)
        with Image.open(file) as image:
            if image.width * image.height > MAX_PHOTO_PIXELS:
                logger.warning("evidence photo: %sx%s too large", image.width, image.height)
                return None
            # JPEG decodes straight at a reduced scale: a fraction of the memory and time.
            image.draft("RGB", THUMBNAIL_SIZE)
            thumbnail = _on_white(ImageOps.exif_transpose(image))
    except Exception:  # noqa: BLE001 - any decoder failure means "no thumbnail", never a refusal
        logger.warning("evidence photo: not decodable", exc_info=True)
        return None
    thumbnail.thumbnail(THUMBNAIL_SIZE)
    out = io.BytesIO()
    thumbnail.save(out, "JPEG", quality=80)
    return out.getvalue()


def _on_white(image):
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, "white")
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB")


def _taken_at(exif):
    raw = exif.get_ifd(ExifTags.IFD.Exif).get(ExifTags.Base.DateTimeOriginal)
    try:
        moment = datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        # Absent, or the "0000:00:00 00:00:00" of a camera without a clock.
        return None
    return moment.replace(tzinfo=PHOTO_TIME_ZONE)


def _position(exif):
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    try:
        latitude = _signed_degrees(gps[ExifTags.GPS.GPSLatitude], gps[ExifTags.GPS.GPSLatitudeRef])
        longitude = _signed_degrees(
            gps[ExifTags.GPS.GPSLongitude], gps[ExifTags.GPS.GPSLongitudeRef]
        )
    except (AttributeError, KeyError, TypeError, ValueError, ZeroDivisionError):
        return None, None
    # Some cameras write zeros when they had no fix; that is no place at all.
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180) or latitude == longitude == 0:
        return None, None
    return latitude, longitude


def _signed_degrees(dms, ref):
    """Degrees, minutes, seconds and a hemisphere (N/S, E/W) as signed decimal degrees."""
    degrees, minutes, seconds = (_fraction(part) for part in dms)
    value = degrees + minutes / 60 + seconds / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    if ref.strip("\x00 ").upper() in ("S", "W"):
        value = -value
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(COORDINATE_STEP)


def _fraction(part):
    if isinstance(part, numbers.Rational):
        # EXIF rationals may carry a zero denominator; Fraction refuses it.
        return Fraction(part.numerator, part.denominator)
    return Fraction(part)
