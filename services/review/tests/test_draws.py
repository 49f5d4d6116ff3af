"""Panel draws that cannot be gamed: the seed is committed before the draw and revealed by it, the pool
is snapshotted so a draw re-runs identically later, and a panel short of a member is topped up."""

from __future__ import annotations

import hashlib

from zhongshi_review.rubric import RoundConfig
from zhongshi_runtime.auth import Role

from .review_fixtures import expert
from .test_api import Client, client, commit, draw, sheet

__all__ = ["client"]


async def test_the_province_cannot_choose_the_seed_it_is_committed_before_and_revealed_by_the_draw(
        client: Client) -> None:
    await commit(client)
    r = await client.province("POST", "/api/v1/rounds/R1/panels", json={"seed": "chosen"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "seed"]


async def test_a_draw_needs_a_commitment_published_before_it_whose_hash_the_revealed_seed_matches(
        client: Client) -> None:
    r = await client.province("POST", "/api/v1/rounds/R1/panels", json={})
    assert r.status_code == 409 and "抽取承诺" in r.json()["detail"]
    published = await commit(client)
    assert "seed" not in published and len(published["commitment"]) == 64
    assert (await client.as_(Role.EXPERT, "E001", "GET", "/api/v1/rounds/R1/draw-commitment")).json() == published
    again = await client.province("POST", "/api/v1/rounds/R1/draw-commitment")
    assert again.status_code == 409  # fixed once: no second chance at a better seed
    [first, _] = await draw(client)
    assert hashlib.sha256(first["seed"].encode()).hexdigest() == published["commitment"]
    revealed = (await client.province("GET", "/api/v1/rounds/R1/draw-commitment")).json()
    assert revealed["seed"] == first["seed"] and revealed["revealed_at"]
    events = client.published("pilot.review.panel-drawn")
    assert {(e.seed, e.commitment, e.pool_version) for e in events} == {
        (first["seed"], published["commitment"], published["pool_version"])}
    record = next(r for r in client.uow.audit if r.action == "draw.commit")
    assert published["commitment"] in record.reason and record.target_id == "R1"


async def test_a_draw_uses_the_pool_fixed_at_the_commitment_and_reproduces_later(client: Client) -> None:
    await commit(client)
    await client.repo.experts.put("E900", expert(900, ["laser"]))  # added after the commitment: never drawn
    [a1, a2] = await draw(client)
    assert "E900" not in a1["experts"] + a2["experts"]
    leaving = a1["experts"][0]  # the pool changes after the draw: the check still re-runs the draw as it was
    gone = (await client.repo.experts.get(leaving)).model_copy(update={"active": False})
    await client.repo.experts.put(leaving, gone)
    check = (await client.province("GET", "/api/v1/panels/A1/verification")).json()
    assert check["reproduced"] and check["recomputed"] == a1["experts"] and check["seed_matches_commitment"]
    snapshot = await client.repo.pool_snapshots.get(check["pool_version"])
    forged = snapshot.model_copy(update={"experts": [e.model_copy(update={"active": False}) if e.id == leaving else e
                                                     for e in snapshot.experts]})
    await client.repo.pool_snapshots.put(check["pool_version"], forged)  # a tampered snapshot is caught
    check = (await client.province("GET", "/api/v1/panels/A1/verification")).json()
    assert not check["reproduced"] and not check["pool_intact"]


async def test_a_panel_that_lost_a_member_is_topped_up_and_the_round_can_be_confirmed(client: Client) -> None:
    for n in range(5, 8):  # five experts: a decline cannot be replaced
        client.repo.experts.items.pop(f"E{n:03d}")  # type: ignore[attr-defined]
    await client.repo.candidates.put("A2", (await client.repo.candidates.get("A2")).model_copy(
        update={"withdrawn": True}))
    [panel] = await draw(client)
    leaving = panel["experts"][1]
    r = await client.as_(Role.EXPERT, leaving, "POST", "/api/v1/assignments/A1/decline",
                         json={"reason": "近三年曾合作"})
    assert r.json()["replacement_drawn"] is False
    assert (await client.province("POST", "/api/v1/panels/A1/top-up")).status_code == 409  # nobody qualifies yet
    await client.province("PUT", "/api/v1/experts/E042", json=expert(42, ["laser"]).model_dump(mode="json"))
    r = await client.province("POST", "/api/v1/panels/A1/top-up")
    assert r.status_code == 200, r.text
    members = r.json()["experts"]
    assert members[-1] == "E042" and len(members) == 5 and leaving not in members
    event = client.published("pilot.review.panel-drawn")[-1]
    assert event.topped_up == ["E042"] and event.experts == members
    assert (await client.province("POST", "/api/v1/panels/A1/top-up")).status_code == 409  # full again
    check = (await client.province("GET", "/api/v1/panels/A1/verification")).json()
    assert check["reproduced"] and check["top_ups"][0]["recomputed"] == ["E042"]
    for member in members:
        r = await client.as_(Role.EXPERT, member, "POST", "/api/v1/assignments/A1/score", json=sheet(8))
        assert r.status_code == 200, r.text
    assert (await client.province("POST", "/api/v1/rounds/R1/confirm")).json()["confirmed"] == 1
    assert [a.action for a in client.uow.audit].count("panel.top_up") == 1


async def test_replacements_and_top_ups_keep_the_rules_the_commitment_fixed(client: Client) -> None:
    """Settings changed after the commitment (here, same-city experts allowed again) do not reach the round's
    later draws: a replacement or a top-up is drawn under the rules published before the first panel."""
    for n in range(5):  # five experts from another city; the other three share the applicant's city
        await client.repo.experts.put(f"E{n:03d}", expert(n, ["laser"], region_code="420502"))
    await client.repo.candidates.put("A2", (await client.repo.candidates.get("A2")).model_copy(
        update={"withdrawn": True}))
    settings = (await client.province("GET", "/api/v1/rounds/R1/review-settings")).json()
    r = await client.province("PUT", "/api/v1/rounds/R1/review-settings", json={**settings, "exclude_same_city": True})
    assert r.status_code == 200, r.text
    [panel] = await draw(client)
    assert sorted(panel["experts"]) == [f"E{n:03d}" for n in range(5)]
    r = await client.province("PUT", "/api/v1/rounds/R1/review-settings", json={**settings, "exclude_same_city": False})
    assert r.status_code == 409, r.text  # refused now; a round whose settings changed before that rule existed:
    await client.repo.settings.put("R1", RoundConfig.model_validate({**settings, "exclude_same_city": False}))
    r = await client.as_(Role.EXPERT, "E000", "POST", "/api/v1/assignments/A1/decline", json={"reason": "近三年曾合作"})
    assert r.status_code == 200 and r.json()["replacement_drawn"] is False, r.text  # none from another city is left
    assert (await client.province("POST", "/api/v1/panels/A1/top-up")).status_code == 409
    members = (await client.repo.panels.get("A1")).experts
    assert sorted(members) == [f"E{n:03d}" for n in range(1, 5)]
