"""The main page says when this server stores corrections without learning from them, and only then."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.conftest import Server, serving


@pytest.fixture(scope="module", params=[True, False], ids=["learning-on", "learning-off"])
def server(request, make_app) -> Iterator[Server]:
    with serving(make_app(LEARNING=request.param)) as served:
        yield served


def test_the_notice_shows_exactly_when_learning_is_off(request, desktop):
    on = request.node.callspec.params["server"]
    notice = desktop.page.locator("[data-testid=learning-off][data-learning]")
    notice.wait_for(state="attached")
    assert notice.get_attribute("data-learning") == ("on" if on else "off")
    assert notice.is_visible() is not on
    if not on:
        assert notice.text_content() == "Learning is off on this server: corrections are saved, not learned."
        assert notice.get_attribute("title") == "learning is turned off on this server"
    assert desktop.log.errors == []
