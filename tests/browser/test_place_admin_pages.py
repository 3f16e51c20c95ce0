"""Places and organisations in a real browser (/admin/places ...): every page passes the
accessibility audit in both display modes (standard in Chinese on a desktop, elderly in English
on a phone) without sideways scrolling, including an estate form with its errors and the
confirmation of a change of property company. One page of each kind: the lists share one
template (the towns' stands for all), the archive confirmations another (the estate's)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible
from tests.browser.test_signin_pages import submit_form


def _ids(live_server):
    def first(session):
        from sqlalchemy import select

        from app.places.models import Estate
        from parking.models import CarPark
        from repairs.models import EstateManagement, PropertyCompany

        estate = session.scalar(select(Estate).order_by(Estate.id))
        managing = session.scalar(select(EstateManagement).filter_by(estate_id=estate.id))
        other = session.scalar(
            select(PropertyCompany)
            .where(PropertyCompany.id != managing.company_id)
            .order_by(PropertyCompany.id)
        )
        park = session.scalar(select(CarPark).order_by(CarPark.id))
        return (
            estate.id,
            estate.town_id,
            estate.town.district_id,
            managing.company_id,
            other.id,
            park.id,
        )

    return live_server.run(first)


@pytest.mark.parametrize(
    "mode, locale, width", [("standard", "zh_CN", 1280), ("elderly", "en", 390)]
)
def test_place_pages_pass_the_audit(open_page, live_server, mode, locale, width):
    from app import clock

    admin = live_server.create_user("administrator")
    estate, town, district, company, other, park = _ids(live_server)
    for path in (
        "/admin/places",
        f"/admin/districts/{district}",
        f"/admin/districts/{district}/edit",
        "/admin/towns?q=镇",
        f"/admin/towns/{town}",
        f"/admin/estates/{estate}",
        f"/admin/estates/{estate}/archive",
        "/admin/companies",
        f"/admin/companies/{company}",
        f"/admin/companies/{company}/edit",
        f"/admin/carparks/{park}",
        "/admin/carparks/new",
    ):
        page = open_page(path, mode=mode, locale=locale, user=admin, width=width)
        assert_accessible(page, mode)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path
        if path == f"/admin/estates/{estate}":
            page.screenshot(path=f"/tmp/shots/place-estate-{mode}.png", full_page=True)
    # The estate form with a swapped pair of coordinates: the error summary links the field.
    page = open_page(
        f"/admin/estates/{estate}/edit", mode=mode, locale=locale, user=admin, width=width
    )
    assert_accessible(page, mode)
    page.fill("#latitude", "121.38")
    page.fill("#longitude", "31.11")
    submit_form(page)
    expect(page.locator('.error-summary a[href="#latitude"]')).to_be_visible()
    assert_accessible(page, mode)
    page.screenshot(path=f"/tmp/shots/place-estate-error-{mode}.png", full_page=True)
    # A change of company: the form, then its confirmation (not made here).
    page = open_page(
        f"/admin/estates/{estate}/company", mode=mode, locale=locale, user=admin, width=width
    )
    assert_accessible(page, mode)
    page.select_option("#company_id", str(other))
    page.fill("#from_date", (clock.today() + timedelta(days=30)).isoformat())
    submit_form(page)
    expect(page.locator(".button-warning")).to_be_visible()
    assert_accessible(page, mode)
    page.screenshot(path=f"/tmp/shots/place-change-company-{mode}.png", full_page=True)
