from collections.abc import Callable
from typing import Any

from zhongshi_console.dossier_form import errors_by_field, fields, to_dossier, to_form
from zhongshi_contracts.dossier import Dossier


def as_posted(values: dict[str, Any]) -> dict[str, list[str]]:
    """What a browser posts for these values: text, checked boxes only, every chosen option."""
    posted: dict[str, list[str]] = {}
    for name, value in values.items():
        if isinstance(value, bool):
            if value:
                posted[name] = ["true"]
        elif isinstance(value, list):
            posted[name] = [str(v) for v in value]
        else:
            posted[name] = [str(value)]
    return posted


def test_a_dossier_survives_the_form_both_ways(dossier_json: Callable[..., dict[str, Any]]) -> None:
    original = dossier_json(0)
    posted = as_posted(to_form(original))
    back = to_dossier(posted, original["applicant"]["credit_code"])
    # what the form does not carry (partners, materials) stays as it was on an edit (merge patch)
    merged = {**back, "platform": {**back["platform"], "partners": original["platform"]["partners"]},
              "materials": original.get("materials", [])}
    assert Dossier.model_validate(merged) == Dossier.model_validate(original)


def test_unchecked_boxes_are_no_and_empty_outcome_rows_are_left_out() -> None:
    posted = {"platform.name": ["  光电平台 "], "platform.professionals.rd": ["12"], "platform.clusters": ["laser"],
              "platform.equipment_original_value": ["12,500,000.00"],
              "outcomes.technology_transfers.0.title": ["成果一"], "outcomes.technology_transfers.2.title": [""]}
    dossier = to_dossier(posted, "91420100MA0000001X")
    assert dossier["platform"]["name"] == "光电平台" and dossier["platform"]["professionals"]["rd"] == 12
    assert dossier["platform"]["serves_external_clients"] is False
    assert dossier["platform"]["equipment_original_value"] == "12500000.00"
    assert [t["title"] for t in dossier["outcomes"]["technology_transfers"]] == ["成果一"]
    assert dossier["applicant"]["credit_code"] == "91420100MA0000001X"
    assert dossier["platform"]["mechanism_documents"] == []  # none named: C9 will say which are missing
    named = to_dossier({"platform.mechanism_documents.service_process": ["服务流程"]}, "X")
    assert named["platform"]["mechanism_documents"] == [{"kind": "service_process", "title": "服务流程"}]


def test_intake_errors_are_keyed_by_the_forms_field_names() -> None:
    names = {f.name for f in fields()}
    errors = errors_by_field({"dossier.platform.name": "此项为必填项", "dossier.outcomes": "x"})
    assert "platform.name" in names and errors == {"platform.name": "此项为必填项", "outcomes": "x"}
