"""The browser tests' artefact screenshots ask Chromium once more for a frame it had not ready, and only that."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError

from .conftest import capture

UNABLE = "Page.screenshot: Protocol error (Page.captureScreenshot): Unable to capture screenshot"
CLOSED = "Page.screenshot: Target page, context or browser has been closed"


class Page:
    def __init__(self, *answers: str) -> None:
        self.answers, self.taken = list(answers), 0

    def screenshot(self, path: Path, **options: Any) -> None:
        self.taken += 1
        if self.answers:
            raise PlaywrightError(self.answers.pop(0))


def test_a_frame_not_ready_once_is_asked_for_again(tmp_path: Path) -> None:
    page = Page(UNABLE)
    capture(page, tmp_path / "a.png", full_page=True)
    assert page.taken == 2


@pytest.mark.parametrize("answers", [(UNABLE, UNABLE), (CLOSED,)])
def test_twice_in_a_row_or_any_other_error_fails(tmp_path: Path, answers: tuple[str, ...]) -> None:
    with pytest.raises(PlaywrightError):
        capture(Page(*answers), tmp_path / "a.png")
