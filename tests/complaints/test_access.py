"""Branch scoping, masking, audited reveal, encryption at rest and clean logs — on complaints."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.logging import JsonFormatter
from tests.complaints.helpers import ID_NUMBER, PHONE, SMS_SENT, act, register
from tests.conftest import Actor, add_actor, add_branch

pytestmark = pytest.mark.usefixtures("client")


@pytest.fixture
async def two_branches(
    app: FastAPI, session_factory: async_sessionmaker[AsyncSession]
) -> tuple[Actor, Actor]:
    return (
        await add_actor(app, session_factory, role="agent"),
        await add_actor(app, session_factory, role="agent"),
    )


async def test_other_branch_cannot_read_list_find_or_act(
    client: AsyncClient, two_branches: tuple[Actor, Actor], admin: Actor
) -> None:
    owner, stranger = two_branches
    created = (await register(client, owner.headers)).json()
    url = f"/v1/complaints/{created['id']}"

    assert (await client.get(url, headers=owner.headers)).status_code == 200
    for path in (url, f"{url}/timeline", f"{url}/actions"):
        response = await client.get(path, headers=stranger.headers)
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"
    acted = await act(client, stranger.headers, created, "withdraw", {})
    assert acted.status_code == 404
    for query in (
        {},
        {"phone": "+86 138 0013 8000"},
        {"policy_number": "P-2026-000123"},
        {"id_number": ID_NUMBER},
    ):
        mine = await client.get("/v1/complaints", params=query, headers=owner.headers)
        theirs = await client.get("/v1/complaints", params=query, headers=stranger.headers)
        assert created["id"] in [c["id"] for c in mine.json()["items"]], query
        assert theirs.json()["items"] == [], query
    everyone = await client.get("/v1/complaints", params={"phone": PHONE}, headers=admin.headers)
    assert created["id"] in [c["id"] for c in everyone.json()["items"]]


@pytest.mark.parametrize("phone", ["+86 138 0013 8000", "138-0013-8000", "008613800138000"])
async def test_every_phone_format_finds_the_complaint(
    client: AsyncClient, two_branches: tuple[Actor, Actor], phone: str
) -> None:
    owner, _ = two_branches
    created = (await register(client, owner.headers)).json()
    found = await client.get("/v1/complaints", params={"phone": phone}, headers=owner.headers)
    assert [c["id"] for c in found.json()["items"]] == [created["id"]]


async def test_invalid_phone_is_422_naming_the_field(
    client: AsyncClient, two_branches: tuple[Actor, Actor]
) -> None:
    owner, _ = two_branches
    payload_phone = {"name": "李四", "phones": ["12345"], "relation": "insured"}
    response = await client.post(
        "/v1/complaints",
        json={**(await _payload()), "complainant": payload_phone},
        headers=owner.headers,
    )
    assert response.status_code == 422
    assert response.json()["field"] == "complainant.phones[0]"
    search = await client.get("/v1/complaints", params={"phone": "abc"}, headers=owner.headers)
    assert search.status_code == 422


async def _payload() -> dict[str, object]:
    from tests.complaints.helpers import complaint_payload

    return complaint_payload()


async def test_personal_fields_are_masked_and_reveal_is_audited(
    client: AsyncClient,
    app: FastAPI,
    session_factory: async_sessionmaker[AsyncSession],
    two_branches: tuple[Actor, Actor],
    admin: Actor,
) -> None:
    owner, _ = two_branches
    created = (await register(client, owner.headers)).json()
    person = created["complainant"]
    assert person["phones"] == ["138****8000"]
    assert person["id_number"] == "1****************4"
    assert person["name"] == "张**"
    assert PHONE not in json.dumps(created)

    url = f"/v1/complaints/{created['id']}"
    revealed = await client.get(url, params={"reveal": "phone,id_number"}, headers=owner.headers)
    assert revealed.json()["complainant"]["phones"] == [PHONE]
    assert revealed.json()["complainant"]["id_number"] == ID_NUMBER
    assert revealed.json()["complainant"]["name"] == "张**"

    audit = await client.get(
        "/v1/audit-events", params={"action": "pii.revealed"}, headers=admin.headers
    )
    entry = next(e for e in audit.json()["items"] if e["target_id"] == created["id"])
    assert entry["actor"] == f"user:{owner.id}"
    assert entry["details"]["fields"] == ["id_number", "phone"]
    assert entry["request_id"] == revealed.headers["x-request-id"]

    from app.org.models import Branch

    async with session_factory() as session:
        branch = await session.get_one(Branch, owner.user.branch_id)
    inspector = await add_actor(app, session_factory, role="quality_inspector", branch=branch)
    masked = await client.get(url, headers=inspector.headers)
    assert masked.json()["complainant"]["phones"] == ["138****8000"]
    refused = await client.get(url, params={"reveal": "phone"}, headers=inspector.headers)
    assert refused.status_code == 403


async def test_database_holds_phone_and_id_numbers_encrypted(
    client: AsyncClient, session: AsyncSession, two_branches: tuple[Actor, Actor]
) -> None:
    owner, _ = two_branches
    created = (await register(client, owner.headers)).json()
    rows = await session.execute(
        text(
            "SELECT row_to_json(c)::text FROM complaints c WHERE id = :id "
            "UNION ALL SELECT row_to_json(p)::text FROM complainant_phones p "
            "WHERE complaint_id = :id"
        ),
        {"id": created["id"]},
    )
    raw = " ".join(row[0] for row in rows)
    assert created["number"] in raw  # the row was read
    for secret in (PHONE, "8613800138000", ID_NUMBER, ID_NUMBER[6:14]):
        assert secret not in raw


async def test_logs_of_a_full_run_hold_no_phone_or_id_number(
    client: AsyncClient, two_branches: tuple[Actor, Actor], caplog: pytest.LogCaptureFixture
) -> None:
    owner, _ = two_branches
    with caplog.at_level(logging.DEBUG):
        created = await register(client, owner.headers)
        await client.get("/v1/complaints", params={"phone": PHONE}, headers=owner.headers)
        await client.get(
            f"/v1/complaints/{created.json()['id']}",
            params={"reveal": "phone,id_number"},
            headers=owner.headers,
        )
        waiting = await act(
            client,
            owner.headers,
            created,
            "request-materials",
            {"missing": ["A"], "notice": SMS_SENT},
        )
        await act(client, owner.headers, waiting, "receive-materials", {"received": [PHONE]})
        await client.post("/v1/complaints", json={"bad": PHONE}, headers=owner.headers)
    # The test's own HTTP client logs the URLs it calls; the service's logs are the point.
    service_records = [r for r in caplog.records if not r.name.startswith("httpx")]
    assert any(r.name == "app.access" for r in service_records)
    formatter = JsonFormatter()
    for record in service_records:
        raw = f"{record.getMessage()} {record.__dict__}"
        for secret in (PHONE, ID_NUMBER):
            assert secret not in raw, record.name
            assert secret not in formatter.format(record)


async def test_unknown_branch_registration_is_refused(
    client: AsyncClient, two_branches: tuple[Actor, Actor], session_factory: object
) -> None:
    owner, _ = two_branches
    other = await add_branch(session_factory)  # type: ignore[arg-type]
    response = await client.post(
        "/v1/complaints",
        json={**(await _payload()), "branch_id": str(other.id)},
        headers=owner.headers,
    )
    assert response.status_code == 422
    assert response.json()["field"] == "branch_id"
