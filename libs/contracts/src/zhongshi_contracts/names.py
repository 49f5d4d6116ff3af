"""Names of organisations and people: refused when they hide format characters, compared after folding.

A conflict-of-interest check compares names typed by different people (an applicant, an expert, an
operator's import). Bidi controls and zero-width characters make two names look equal while comparing
unequal, so they are refused at the door (category Cf); spacing, full-width forms and bracket styles are
folded before any comparison."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field

_BRACKETS = str.maketrans({"【": "(", "】": ")", "〔": "(", "〕": ")", "［": "(", "］": ")", "[": "(", "]": ")",
                           "〈": "(", "〉": ")", "《": "(", "》": ")", "{": "(", "}": ")"})
_SPACE = re.compile(r"\s+")


def refuse_format_characters(value: str) -> str:
    """The name, unless it holds an invisible format character (bidi controls, zero-width, soft hyphen …)."""
    if any(unicodedata.category(c) == "Cf" for c in value):
        raise ValueError("名称不能包含不可见的格式控制字符（如双向文本控制符、零宽字符）")
    return value


def fold_name(name: str) -> str:
    """The form two names are compared in: NFKC (full-width letters and brackets become ASCII), bracket styles
    made one, whitespace and format characters dropped, letters case-folded."""
    folded = unicodedata.normalize("NFKC", name)
    folded = "".join(c for c in folded if unicodedata.category(c) != "Cf")
    return _SPACE.sub("", folded.translate(_BRACKETS)).casefold()


Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(refuse_format_characters)]
