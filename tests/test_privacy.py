"""What a drawing tells about its author once stored: only its pixels, and, unless shared, nothing at all.

A hostile-client probe found uploads stored byte for byte (text chunks with author, address and GPS,
bytes after the image end), sideways phone photos (EXIF orientation ignored), the ids of private
samples in /api/models, and /dataset/<id> answering 200 for a private drawing where a missing one
gets 404. These tests hold each of those shut through the real app.
"""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image, ImageDraw, PngImagePlugin

TOKEN = "privacy-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
SECRET = "Jane Doe, 12 Rue de la Paix, 48.8698N 2.3311E"


@pytest.fixture()
def client(make_app):
    return make_app(ADMIN_TOKEN=TOKEN, LEARNING=True).test_client()


def _seven() -> Image.Image:
    image = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(60, 60), (220, 60), (120, 240)], fill=(0, 0, 0, 255), width=18)
    return image


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def _chunks(png: bytes) -> list[bytes]:
    """The PNG's chunk types in order; fails if anything follows IEND."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    kinds, at = [], 8
    while at < len(png):
        length = int.from_bytes(png[at:at + 4], "big")
        kinds.append(png[at + 4:at + 8])
        at += 12 + length
        if kinds[-1] == b"IEND":
            assert at == len(png), "bytes after IEND"
    return kinds


def _correct(client, image: str, consent: bool, label: int = 7) -> str:
    reply = client.post("/api/correct", json={"image": image, "label": label, "consent": consent})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return reply.get_json()["sample_id"]


def test_a_stored_drawing_keeps_its_pixels_and_nothing_else(client):
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", SECRET)
    info.add_itxt("GPS", SECRET)
    buffer = io.BytesIO()
    _seven().save(buffer, format="PNG", pnginfo=info)
    upload = buffer.getvalue() + b"TRAILING " + SECRET.encode()
    sample_id = _correct(client, _url(upload), consent=True)

    stored = client.get(f"/api/samples/{sample_id}.png").data
    assert SECRET.encode() not in stored and b"TRAILING" not in stored
    assert set(_chunks(stored)) <= {b"IHDR", b"IDAT", b"IEND"}
    assert (np.asarray(Image.open(io.BytesIO(stored))) == np.asarray(_seven())).all()  # the pixels, exactly


def test_a_sideways_photo_is_turned_upright_before_it_is_read_and_stored(client):
    upright = Image.new("L", (200, 300), "white")
    ImageDraw.Draw(upright).line([(100, 30), (100, 270)], fill="black", width=20)  # a 1: tall and thin
    sideways = upright.transpose(Image.Transpose.ROTATE_90)  # as a phone sensor stores it
    exif = sideways.getexif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    exif[0x010E] = SECRET  # ImageDescription
    buffer = io.BytesIO()
    sideways.save(buffer, format="JPEG", exif=exif.tobytes(), quality=95)

    sample_id = _correct(client, _url(buffer.getvalue(), "image/jpeg"), consent=True, label=1)
    stored = client.get(f"/api/samples/{sample_id}.png").data
    assert Image.open(io.BytesIO(stored)).size == (200, 300)
    assert SECRET.encode() not in stored and set(_chunks(stored)) <= {b"IHDR", b"IDAT", b"IEND"}
    assert client.post("/api/predict", json={"image": _url(buffer.getvalue(), "image/jpeg")}).get_json()["answer"] == 1


def test_no_public_answer_names_a_private_sample(client):
    shared = _correct(client, _url(_png(_seven())), consent=True)
    private = _correct(client, _url(_png(_seven())), consent=False)

    for path in ("/api/models", "/api/stats", "/api/samples", "/api/counts"):
        body = client.get(path).get_data(as_text=True)
        assert private not in body, path
    versions = client.get("/api/models").get_json()["versions"]
    assert [v["sample_id"] for v in versions] == [shared, None]  # both learned, only the shared one named
    kept = client.get("/api/stats").get_json()["versions"]["kept"]
    assert [v["sample_id"] for v in kept] == [shared, None]


def test_a_private_sample_is_answered_exactly_as_a_missing_one(client):
    private = _correct(client, _url(_png(_seven())), consent=False)
    missing = private[:-8] + ("0" * 8 if private[-8:] != "0" * 8 else "1" * 8)

    for route in ("/api/samples/{}", "/api/samples/{}.png", "/dataset/{}"):
        seen, absent = client.get(route.format(private)), client.get(route.format(missing))
        assert seen.status_code == absent.status_code == 404, route
        assert seen.headers.get("Content-Type") == absent.headers.get("Content-Type")
        anonymised = seen.get_data(as_text=True).replace(private, "ID")
        assert anonymised == absent.get_data(as_text=True).replace(missing, "ID")
    # the admin still sees it, on the API the page's script calls
    assert client.get(f"/api/samples/{private}", headers=ADMIN).get_json()["id"] == private
    page = client.get(f"/dataset/{private}").get_data(as_text=True)
    assert re.search(r'data-sample-url="/api/samples/' + private, page)
