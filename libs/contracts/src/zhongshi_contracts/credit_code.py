"""Unified social credit code (统一社会信用代码) check per GB 32100-2015."""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17: str) -> str:
    """The 18th (check) character for the first 17 characters of a code."""
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """Why ``code`` is not a valid unified social credit code, or None when it is."""
    if len(code) != 18:
        return f"统一社会信用代码应为18位，实际为{len(code)}位"
    bad = sorted({ch for ch in code if ch not in ALPHABET})
    if bad:
        return f"统一社会信用代码含有非法字符：{''.join(bad)}"
    if check_character(code[:17]) != code[17]:
        return "统一社会信用代码校验位错误"
    return None


def make_credit_code(first17: str) -> str:
    """A valid code from its first 17 characters (for fixtures and the demo round)."""
    return first17 + check_character(first17)


# GB 32100-2015: the 1st character is the registering department, the 2nd the kind of entity it registers.
CATEGORY_KINDS: dict[str, tuple[str, frozenset[str]]] = {
    "91": ("企业", frozenset({"enterprise", "unincorporated"})),  # a branch is an unincorporated enterprise
    "92": ("个体工商户", frozenset()),  # not a legal person: never an applicant
    "93": ("农民专业合作社", frozenset({"enterprise"})),
    "11": ("机关", frozenset()),
    "12": ("事业单位", frozenset({"public_institution"})),
    "13": ("群众团体", frozenset({"social_organisation"})),
    "19": ("其他机构编制单位", frozenset({"public_institution", "social_organisation", "unincorporated"})),
    "51": ("社会团体", frozenset({"social_organisation"})),
    "52": ("民办非企业单位", frozenset({"social_organisation"})),
    "53": ("基金会", frozenset({"social_organisation"})),
    "59": ("其他民政登记组织", frozenset({"social_organisation", "unincorporated"})),
}
NATIONAL = "100000"  # registered with a national authority: no region to compare


def kind_problem(code: str, kind: str, kind_label: str) -> str | None:
    """Why the code's category digits contradict the declared legal-person ``kind``, or None."""
    known = CATEGORY_KINDS.get(code[:2])
    if known is None or kind in known[1]:
        return None  # other registering departments (律所, 宗教, …) are not checked
    return f"统一社会信用代码前两位“{code[:2]}”表示{known[0]}，与申报的主体类型“{kind_label}”不符"


def region_problem(code: str, county_code: str, city_code: str) -> str | None:
    """Why the code's region digits (3rd–8th, the registering authority) contradict the declared county."""
    digits = code[2:8]
    if digits == NATIONAL or digits == county_code[:2] + "0000":
        return None  # registered nationally or with the province
    if digits == (city_code if digits.endswith("00") else county_code):  # the city's or the county's authority
        return None
    return f"统一社会信用代码第3至8位登记机关区划“{digits}”与所在县市区“{county_code}”不符"
