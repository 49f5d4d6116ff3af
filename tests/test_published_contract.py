"""The committed AsyncAPI documents and event schemas match the code (run `make contracts` after a change)."""

from __future__ import annotations

from zhongshi import contracts


def test_committed_contract_documents_are_up_to_date() -> None:
    stale = [str(path.relative_to(contracts.DOCS.parent)) for path, text in contracts.generated().items()
             if not path.exists() or path.read_text(encoding="utf-8") != text]
    assert not stale, f"run `make contracts` and commit: {stale}"


def test_every_message_carries_the_cloudevents_headers_and_a_payload_schema() -> None:
    document = contracts.asyncapi("screening")
    messages = document["components"]["messages"].values()
    assert {m["headers"]["required"][0] for m in messages} == {"ce_id"}
    assert all("application_id" in m["payload"]["properties"] for m in messages)
    actions = sorted(op["action"] for op in document["operations"].values())
    assert actions == ["receive", "receive"] + ["send"] * 9
    # `forwarded` carries the applicant's contact: whole on its internal topic, its public projection beside it
    assert {"screening:publish:pilot.internal.application.forwarded",
            "screening:publish:pilot.application.forwarded"} <= set(document["operations"])
