"""The MNIST recipe, checked on geometry and on the invariances a canvas needs."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw, PngImagePlugin

from app.offline import pendigits
from app.reading.imaging import (
    DrawingError,
    as_png,
    decode_image,
    ink_map,
    normalise,
    open_image,
    preprocess,
    stored_png,
    to_data_url,
)
from app.web.errors import DRAWING_STATUS


def _url(image: Image.Image, fmt: str = "PNG") -> str:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return f"data:image/{fmt.lower()};base64," + base64.b64encode(buffer.getvalue()).decode()


def _drawn(digit: pendigits.PenDigit, *, height: float = 0.5, centre=(0.5, 0.5), brush=None, canvas: int = 280):
    """A pendigit drawn `height` of the canvas tall, centred at `centre` (fractions), with a chosen brush."""
    return pendigits.render(pendigits.place(digit.strokes, height, centre, canvas), canvas, brush)


def _centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(image.shape)
    return float((rows * image).sum() / image.sum()), float((cols * image).sum() / image.sum())


def _ink_extent(image: np.ndarray) -> tuple[int, int]:
    rows = np.flatnonzero((image > 0.1).any(axis=1))
    cols = np.flatnonzero((image > 0.1).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


@pytest.fixture(scope="module")
def samples(pen_digits):
    """One digit of each label from a single writer."""
    chosen = {}
    for digit in pen_digits:
        if digit.writer == 3 and digit.label not in chosen:
            chosen[digit.label] = digit
    return [chosen[k] for k in range(10)]


def test_output_is_28x28_float_in_unit_range_with_mass_centred(samples):
    for digit in samples:
        out = normalise(ink_map(_drawn(digit)))
        assert out.shape == (28, 28) and out.dtype == np.float32
        assert out.min() >= 0.0 and out.max() <= 1.0 and out.max() > 0.9
        cy, cx = _centre_of_mass(out)
        assert abs(cy - 14.0) <= 0.6 and abs(cx - 14.0) <= 0.6, (digit.label, cy, cx)
        height, width = _ink_extent(out)
        assert max(height, width) in (19, 20, 21) and min(height, width) <= 21


def test_wide_digit_keeps_its_aspect_ratio():
    canvas = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).rectangle((20, 180, 380, 240), fill=(0, 0, 0, 255))  # 6:1 wide bar
    height, width = _ink_extent(normalise(ink_map(canvas)))
    assert width >= 19 and height <= 6


def _similar(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


@pytest.mark.parametrize(
    "variant",
    [
        {"height": 0.3, "centre": (0.2, 0.2)},  # small, top-left corner
        {"height": 0.9},  # large, filling the canvas
        {"brush": 2.0},  # thin pen: re-stroked to MNIST width
        {"height": 0.9, "brush": 2.0},  # large and thin
        {"brush": 30.0},  # fat brush
    ],
)
def test_same_digit_any_size_or_brush_gives_nearly_the_same_input(samples, variant):
    similarity = []
    for digit in samples:
        reference = normalise(ink_map(_drawn(digit)))
        similarity.append(_similar(reference, normalise(ink_map(_drawn(digit, **variant)))))
    assert min(similarity) > 0.6 and np.mean(similarity) > 0.8, (variant, np.round(similarity, 2))


def test_position_on_the_canvas_does_not_matter(samples):
    for digit in samples:
        corner = normalise(ink_map(_drawn(digit, height=0.3, centre=(0.25, 0.25))))
        other_corner = normalise(ink_map(_drawn(digit, height=0.3, centre=(0.75, 0.7))))
        assert np.abs(corner - other_corner).max() < 0.02


def test_transparent_white_background_and_inverted_images_read_the_same(samples):
    drawing = _drawn(samples[4])
    alpha = np.asarray(drawing)[..., 3]
    on_white = Image.fromarray(255 - alpha).convert("RGB")
    on_black = Image.fromarray(alpha).convert("RGB")
    base = normalise(ink_map(drawing))
    for image in (on_white, on_black):
        assert np.abs(normalise(ink_map(image)) - base).max() < 0.02


def test_jpeg_and_bare_base64_are_accepted(samples):
    drawing = _drawn(samples[7])
    flat = Image.new("RGB", drawing.size, "white")
    flat.paste(drawing, mask=drawing.getchannel("A"))
    from_jpeg = preprocess(_url(flat, "JPEG"))
    bare = _url(drawing).split(",", 1)[1]
    assert _similar(from_jpeg, preprocess(bare)) > 0.95


@pytest.mark.parametrize("image", [Image.new("RGBA", (280, 280), (0, 0, 0, 0)), Image.new("RGB", (280, 280), "white")])
def test_empty_canvas_is_an_error(image):
    with pytest.raises(DrawingError) as caught:
        preprocess(_url(image))
    assert (caught.value.code, DRAWING_STATUS[caught.value.code]) == ("empty_drawing", 422)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a huge size: the bomb must be refused before any pixel is inflated."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize(
    ("payload", "code", "status"),
    [
        ("", "missing_image", 400),
        ("data:image/png;base64,***not base64***", "bad_base64", 400),
        ("data:image/png,rawdata", "bad_data_url", 400),
        ("data:text/plain;base64," + _b64(b"hello"), "not_an_image", 415),
        (_b64(b"just some text, not an image"), "not_an_image", 415),
        (_b64(b"A" * (2 * 1024 * 1024 + 10)), "too_large", 413),
        ("data:image/png;base64," + _b64(_png_header_only(100_000, 100_000)), "image_too_large", 413),
        ("data:image/png;base64," + _b64(_png_header_only(2049, 10)), "image_too_large", 413),
        ("data:image/png;base64," + _b64(_png_bytes()[:-40]), "corrupt_image", 415),
    ],
)
def test_bad_payloads_are_refused_with_a_reason(payload, code, status):
    with pytest.raises(DrawingError) as caught:
        decode_image(payload)
    assert (caught.value.code, DRAWING_STATUS.get(caught.value.code, 400)) == (code, status)
    assert caught.value.message


def test_gif_is_refused():
    buffer = io.BytesIO()
    Image.new("L", (10, 10)).save(buffer, format="GIF")
    with pytest.raises(DrawingError) as caught:
        decode_image(_b64(buffer.getvalue()))
    assert caught.value.code == "not_an_image"


def test_preview_round_trips_the_28x28(samples):
    digit = normalise(ink_map(_drawn(samples[2])))
    back = decode_image(to_data_url(digit))
    assert back.size == (28, 28)
    assert np.abs(np.asarray(back, dtype=np.float32) / 255.0 - digit).max() <= 1 / 255 + 1e-6


def _encoded(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return buffer.getvalue()


def _with_bad_checksum(png: bytes) -> bytes:
    """The last IDAT's checksum flipped (the pixels still decode: Pillow does not check IDAT checksums)."""
    at = png.rindex(b"IEND") - 4 - 4  # the checksum of the chunk before IEND
    return png[:at] + bytes([png[at] ^ 0xFF]) + png[at + 1:]


def test_a_png_of_nothing_but_pixels_is_stored_as_sent_and_any_other_is_encoded_again():
    canvas = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).line([(60, 60), (200, 220)], fill=(0, 0, 0, 255), width=18)
    plain = _encoded(canvas)
    assert stored_png(plain, open_image(plain)) is plain
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "someone")
    grey16 = Image.fromarray(np.asarray(canvas.getchannel("A"), dtype=np.uint16) * 257)
    others = {
        "bytes after IEND": plain + b"TRAILING",
        "a bad checksum": _with_bad_checksum(plain),
        "16-bit grey": _encoded(grey16),
        "a palette": _encoded(canvas.convert("P")),
        "a text chunk": _encoded(canvas, pnginfo=text),
    }
    for why, upload in others.items():
        picture = open_image(upload)
        stored = stored_png(upload, picture)
        assert stored != upload and stored == as_png(picture), why


def _idat_replaced(png: bytes, payload: bytes) -> bytes:
    """`png` (one IDAT chunk) with that chunk's data replaced and its checksum made sound again."""
    start = png.index(b"IDAT") - 4
    end = png.index(b"IEND") - 4
    chunk = b"IDAT" + payload
    return png[:start] + len(payload).to_bytes(4, "big") + chunk + zlib.crc32(chunk).to_bytes(4, "big") + png[end:]


def test_a_plain_png_decodes_to_the_pixels_pillow_reads_and_a_damaged_one_is_refused():
    """Canvas PNGs take libspng's faster path (open_image): the same mode and pixels as Pillow's own decoder, for
    grey, RGB and RGBA; damaged pixel data behind sound checksums is still a corrupt image, not a crash."""
    rng = np.random.default_rng(0)
    for pixels in (rng.integers(0, 256, (31, 47), dtype=np.uint8), rng.integers(0, 256, (20, 9, 3), dtype=np.uint8),
                   rng.integers(0, 256, (280, 280, 4), dtype=np.uint8)):
        png = _encoded(Image.fromarray(pixels))
        fast, reference = open_image(png), Image.open(io.BytesIO(png))
        assert (fast.format, fast.mode, fast.size) == ("PNG", reference.mode, reference.size)
        assert fast.tobytes() == reference.tobytes()
    plain = _encoded(Image.new("RGBA", (40, 40)))
    for damaged in (b"\x00" * 10, zlib.compress(b"\x00" * 5), zlib.compress(b"\x07" * (40 * 161))):
        with pytest.raises(DrawingError) as caught:
            open_image(_idat_replaced(plain, damaged))
        assert caught.value.code == "corrupt_image"
