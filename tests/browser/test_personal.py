"""Personal handwriting adaptation: each browser sends one anonymous id, and the page shows that
person's own layer ("Your handwriting") once they have taught the nets.

Every page here talks to this module's own fresh app (`site`), so nobody has a personal layer
until a test's clicks give them one; each browser context is another person.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.offline.pendigits import PenDigit, fit_to_canvas

WAIT_MS = 30_000  # a correction runs a guarded learning step; the machine may be busy
DESKTOP = {"width": 1280, "height": 800}
ID = re.compile(r"[0-9a-f]{32}")  # the page's own ids: within the API's ^[A-Za-z0-9_-]{8,64}$
KEY = "digitdraw-person"


@pytest.fixture(scope="module")
def server(site):
    """Every page in this module is served by the module's fresh app."""
    return site.server


def person_sent(opened, digit: PenDigit) -> str:
    """Clear the pad and draw `digit`; return the `person` its /api/predict request carried, once answered."""
    opened.page.keyboard.press("Escape")
    with opened.page.expect_request("**/api/predict") as request:
        opened.pad.draw(fit_to_canvas(digit.strokes, opened.pad.side()))
    opened.pad.wait_for_answer()
    return request.value.post_data_json["person"]


def reload(opened) -> None:
    opened.page.reload()
    opened.pad.expected_seq = 0  # the reloaded page numbers its requests afresh


def teach_truth(page, digit: PenDigit) -> None:
    """Tell the nets what the drawing on screen really is: Right if they read it so, else its digit."""
    if page.get_by_test_id("answer").text_content() == str(digit.label):
        page.get_by_test_id("right").click()
    else:
        if page.get_by_test_id("wrong").is_visible():  # when nothing was recognised the picker is open already
            page.get_by_test_id("wrong").click()
        page.get_by_test_id(f"label-{digit.label}").click()
    expect(page.get_by_test_id("teach")).to_have_attribute("data-state", "saved", timeout=WAIT_MS)


def test_every_request_carries_one_anonymous_id_that_survives_a_reload(open_page, server, held):
    opened = open_page(viewport=DESKTOP)
    page = opened.page
    person = person_sent(opened, held[0])
    assert ID.fullmatch(person)
    assert page.evaluate(f"localStorage.getItem('{KEY}')") == person
    assert person_sent(opened, held[1]) == person

    reload(opened)
    assert person_sent(opened, held[2]) == person
    with page.expect_request("**/api/correct") as correction:
        teach_truth(page, held[2])
    assert correction.value.post_data_json["person"] == person

    page.goto(server.origin + "/collect")
    expect(page.get_by_test_id("prompt")).to_have_attribute("data-digit", re.compile(r"^[0-9]$"))
    asked = int(page.get_by_test_id("prompt").get_attribute("data-digit"))
    opened.pad.draw(fit_to_canvas(next(d for d in held if d.label == asked).strokes, opened.pad.side()))
    with page.expect_request("**/api/correct") as saved:
        page.get_by_test_id("save").click()
    expect(page.get_by_test_id("message")).to_have_attribute("data-state", "saved", timeout=WAIT_MS)
    assert saved.value.post_data_json["person"] == person
    assert opened.log.errors == []

    other = person_sent(open_page(viewport=DESKTOP), held[0])  # another browser is another person
    assert ID.fullmatch(other)
    assert other != person


def test_an_invalid_stored_id_is_replaced(open_page, held):
    opened = open_page(viewport=DESKTOP)
    opened.page.evaluate(f"localStorage.setItem('{KEY}', 'not an id!')")
    reload(opened)
    person = person_sent(opened, held[0])
    assert ID.fullmatch(person)
    assert opened.page.evaluate(f"localStorage.getItem('{KEY}')") == person


def test_without_storage_the_id_lasts_for_the_page(open_page, held):
    """Private windows may refuse storage: one id for the page's life, and the page still works."""
    opened = open_page(viewport=DESKTOP)
    opened.page.add_init_script(
        "Object.defineProperty(window, 'localStorage', {"
        " get() { throw new DOMException('Storage is off.', 'SecurityError'); } })"
    )
    reload(opened)
    person = person_sent(opened, held[0])
    assert ID.fullmatch(person)
    assert person_sent(opened, held[1]) == person
    assert opened.log.errors == []


def test_your_handwriting_appears_once_you_have_taught_the_nets(open_page, held):
    opened = open_page(viewport=DESKTOP)
    page = opened.page
    personal = page.get_by_test_id("model-personal")
    expect(personal).to_be_hidden()
    person_sent(opened, held[0])
    expect(personal).to_be_hidden()  # a new person has no layer of their own yet

    teach_truth(page, held[0])
    expect(personal).to_be_visible()
    expect(personal).to_contain_text("learns from your corrections")
    expect(personal.locator("li")).to_have_count(3)
    expect(personal).to_have_class("model updated")  # it is new: the correction made it

    page.get_by_test_id("clear").click()
    expect(personal).to_be_hidden()
    with page.expect_response("**/api/predict") as response:
        person_sent(opened, held[1])
    expect(personal).to_be_visible()  # every later drawing is read with it too
    expect(personal.locator("li")).to_have_count(3)
    expect(personal).to_have_class("model")
    adapted = response.value.json()["answered_by"] == "personal"
    assert ("adapted to your handwriting" in page.get_by_test_id("confidence").text_content()) == adapted
    assert opened.log.errors == []

    other = open_page(viewport=DESKTOP)  # another person has taught nothing
    person_sent(other, held[0])
    expect(other.page.get_by_test_id("model-personal")).to_be_hidden()

