"""Issue 14, a repair report sent twice is one report, through Open311 too: a retry with the same
Idempotency-Key answers the first request's id; a filing like one the same account sent minutes
ago answers that request's id (the spec has no duplicate error) instead of making a second."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.services import issue_token
from app.notifications.models import Notification
from repairs.models import Ticket
from tests.race import race


@pytest.fixture
def filer(session, places, repair_company, make_user, frozen):
    resident = make_user(home_estate_id=places["estates"][0].id, home_building="1", home_room="101")
    token = issue_token(session, resident)
    session.commit()
    return token


def count(session, model, *where):
    session.rollback()
    return session.scalar(select(func.count()).select_from(model).where(*where))


def post(client, token, key=None, description="5号楼电梯停在 3 楼不动", code="lift"):
    return client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": token,
            "service_code": code,
            "address_string": "莘城苑",
            "description": description,
            "attribute[public_area]": "true",
        },
        headers={"Idempotency-Key": key} if key else {},
    )


def test_a_retry_and_a_near_identical_filing_answer_the_first_request(
    client, session, filer, frozen
):
    first = post(client, filer, key="3f1c9a2e-0b7d-4d55-9a51-7c4e2d1b8f60")
    assert first.status_code == 201
    ref = first.json[0]["service_request_id"]
    # The same key again (a lost answer retried), even with other words: the same request.
    retry = post(client, filer, key="3f1c9a2e-0b7d-4d55-9a51-7c4e2d1b8f60", description="别的")
    assert retry.status_code == 200 and retry.json[0]["service_request_id"] == ref
    # A new key (or none) saying the same thing within the window: the existing request's id.
    twin = post(client, filer, description="5号楼电梯停在3楼，不动了")
    assert twin.status_code == 200 and twin.json[0]["service_request_id"] == ref
    assert ref in twin.json[0]["service_notice"]
    xml = client.post(
        "/open311/v2/requests.xml",
        data={
            "api_key": filer,
            "service_code": "lift",
            "address_string": "莘城苑",
            "description": "5号楼电梯停在 3 楼不动",
            "attribute[public_area]": "true",
        },
    )
    assert xml.status_code == 200 and f"<service_request_id>{ref}<" in xml.get_data(as_text=True)
    assert count(session, Ticket) == 1
    assert count(session, Notification, Notification.kind == "repair.submitted") == 1
    # Another service, other words, or the same words after the window: new requests.
    assert post(client, filer, code="doors", description="单元门禁坏了").status_code == 201
    assert post(client, filer, description="车库入口灯不亮").status_code == 201
    frozen.shift(timedelta(minutes=11))
    assert post(client, filer).status_code == 201
    assert count(session, Ticket) == 4
    bad = post(client, filer, key="x" * 57)
    assert bad.status_code == 400 and "Idempotency-Key" in bad.json[0]["description"]
    assert count(session, Ticket) == 4


@pytest.mark.race
def test_four_filings_at_once_keyed_or_alike_make_one_request(app, session, filer):
    def file(i):
        with app.test_client() as client:
            response = post(client, filer, key=f"key-{i % 2}")
            return response.status_code, response.json[0].get("service_request_id")

    results = race(app, 4, file)
    assert all(isinstance(r, tuple) for r in results), results
    assert sorted(status for status, _ in results) == [200, 200, 200, 201], results
    assert len({ref for _, ref in results}) == 1
    assert count(session, Ticket) == 1
