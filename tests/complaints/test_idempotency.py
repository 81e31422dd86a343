"""Retrying a complaint request whose answer was lost: with the same Idempotency-Key the first
answer comes back and nothing happens twice."""

from __future__ import annotations

from httpx import AsyncClient

from tests.access.helpers import assert_problem
from tests.complaints.helpers import SMS_SENT, act, complaint_payload
from tests.conftest import Actor


async def test_a_retried_registration_replays_the_first_complaint(
    client: AsyncClient, admin: Actor
) -> None:
    headers = {**admin.headers, "Idempotency-Key": "register-0001"}
    first = await client.post("/v1/complaints", json=complaint_payload(), headers=headers)
    again = await client.post("/v1/complaints", json=complaint_payload(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["etag"] == first.headers["etag"]


async def test_a_retried_transition_replays_instead_of_412(
    client: AsyncClient, admin: Actor
) -> None:
    created = await client.post("/v1/complaints", json=complaint_payload(), headers=admin.headers)
    keyed = {**admin.headers, "Idempotency-Key": "request-materials-0001"}
    body = {"missing": ["保单复印件"], "notice": SMS_SENT}
    first = await act(client, keyed, created, "request-materials", body)
    assert first.status_code == 200, first.text
    assert first.headers["etag"] == f'"v{first.json()["version"]}"'
    assert "idempotent-replayed" not in first.headers

    again = await act(client, keyed, created, "request-materials", body)  # the same request
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["etag"] == first.headers["etag"]
    unkeyed = await act(client, admin.headers, created, "request-materials", body)
    assert_problem(unkeyed, 412, "stale_version")  # without the key, the retry is stale
    timeline = await client.get(
        f"/v1/complaints/{created.json()['id']}/timeline", headers=admin.headers
    )
    assert [e["action"] for e in timeline.json()["items"]] == ["register", "request-materials"]

    other = await act(client, keyed, first, "receive-materials", {"received": ["保单复印件"]})
    assert_problem(other, 422, "idempotency_key_reused")
