"""The import pages: upload, the dry run's answers, confirm, apply; a large file in the
background with a page that refreshes itself; someone else's job is not found."""

from __future__ import annotations

import io
import re
import time

from sqlalchemy import func, select

from tests.conftest import login, submit


def _upload(client, kind: str, data: bytes, filename: str):
    return submit(
        client,
        "/admin/imports",
        {"kind": kind, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def test_dry_run_then_apply_in_the_browser(app, client, session, places, make_user):
    from app.audit.models import AuditEntry
    from app.places.models import Town

    admin = make_user("administrator")
    login(client, admin.username)
    form = client.get("/admin/imports").get_data(as_text=True)
    assert "文件不超过 10 MB。" in form and "每张照片" not in form  # a spreadsheet
    # Each kind's column reference is folded (a page of seven open tables was very long).
    sections = re.findall(r'<section class="import-kind".*?</section>', form, re.S)
    assert len(sections) == 7
    assert all(re.search(r"<details[^>]*>\s*<summary.*?<table", sec, re.S) for sec in sections)
    data = "district,name,name_en\n闵行区,浦锦街道,Pujin Subdistrict\n闵行区,莘庄镇,\n".encode()
    response = _upload(client, "towns", data, "towns.csv")
    assert response.status_code == 302
    job_url = response.headers["Location"]
    page = client.get(job_url).get_data(as_text=True)
    assert "import-progress" not in page  # a small file is checked within the request
    assert "import-checked" in page and "import-continue" in page
    # Rows without a column or reason show no empty labelled lines on a phone's cards.
    assert 'class="stack-empty"' in page
    assert session.scalar(select(func.count(Town.id)).where(Town.name_zh == "浦锦街道")) == 0
    csv_text = client.get(job_url + "/results.csv").get_data(as_text=True)
    assert "\n2," in csv_text and "\n3," in csv_text
    response = submit(client, job_url + "/apply", {})
    assert response.status_code == 302
    page = client.get(job_url).get_data(as_text=True)
    assert "import-saved" in page
    session.expire_all()
    town = session.scalar(select(Town).where(Town.name_zh == "浦锦街道"))
    assert town.name_en == "Pujin Subdistrict"
    assert town.district_id == places["towns"][0].district_id
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "import.apply"))
    assert entry.actor_id == admin.id
    assert entry.details["kind"] == "towns" and entry.details["filename"] == "towns.csv"
    assert entry.details["create"] == 1 and entry.details["unchanged"] == 1
    # Applied once: asking again changes nothing and goes back to the result.
    assert submit(client, job_url + "/apply", {}, form_url=job_url).status_code == 302
    # The same file again: nothing would change, so there is nothing to save.
    again = client.get(_upload(client, "towns", data, "towns.csv").headers["Location"])
    assert "import-nothing" in again.get_data(as_text=True)


def test_a_broken_file_is_answered_row_by_row_and_cannot_be_applied(
    app, client, session, places, make_user
):
    admin = make_user("administrator")
    login(client, admin.username)
    data = "district,name\n没有这个区,新镇\n闵行区,\n".encode()
    job_url = _upload(client, "towns", data, "bad.csv").headers["Location"]
    page = client.get(job_url).get_data(as_text=True)
    assert "import-errors" in page and "没有这个区" in page and "import-continue" not in page
    assert "stack-empty" not in page  # each error row names its column and reason
    # The confirmation refuses a job with errors (back to its page).
    response = client.get(job_url + "/apply")
    assert response.status_code == 302 and response.headers["Location"].endswith(job_url)
    # A file over the size the page states is refused on the form, with what to do.
    big = b"district,name\n" + b"x" * (10 * 1024 * 1024)
    refused = _upload(client, "towns", big, "big.csv")
    assert refused.status_code == 200 and "文件超过 10 MB：请拆分成较小的文件。" in (
        refused.get_data(as_text=True)
    )
    # Someone else's job is not found, even by another administrator.
    other, elsewhere = make_user("administrator"), app.test_client()
    login(elsewhere, other.username)
    assert elsewhere.get(job_url).status_code == 404


def test_a_large_file_runs_in_the_background_with_a_page_that_refreshes(
    app, client, session, places, make_user
):
    from app.places.models import Household

    app.config["IMPORT_INLINE_ROWS"] = 10
    admin = make_user("administrator")
    login(client, admin.username)
    lines = ["town,estate,building,unit,room"] + [
        f"莘庄镇,莘城苑,{b},1,{r}" for b in range(1, 5) for r in range(101, 131)
    ]
    job_url = _upload(client, "households", "\n".join(lines).encode(), "big.csv").headers[
        "Location"
    ]

    def wait():
        for _ in range(200):
            response = client.get(job_url)
            page = response.get_data(as_text=True)
            if "Refresh" not in response.headers:
                return page
            assert 'role="status"' in page and response.headers["Refresh"] == "2"
            time.sleep(0.05)
        raise AssertionError("the job did not finish")

    assert "import-continue" in wait()
    submit(client, job_url + "/apply", {})
    assert "import-saved" in wait()
    session.expire_all()
    assert session.scalar(select(func.count(Household.id))) == 120


def test_a_job_lost_with_its_process_says_so_instead_of_reloading(
    app, client, session, places, make_user
):
    from datetime import timedelta

    from app.db import utcnow
    from app.imports import jobs
    from app.imports.kinds import kind_of

    admin = make_user("administrator")
    login(client, admin.username)
    job = jobs.create(session, admin, kind_of("households"), "big.csv", b"town\n", 10_000)
    response = client.get(f"/admin/imports/{job.token}")
    assert response.headers["Refresh"] == "2"
    job.created_at = utcnow() - timedelta(hours=1)
    session.commit()
    response = client.get(f"/admin/imports/{job.token}")
    assert "Refresh" not in response.headers
    assert "import-failed" in response.get_data(as_text=True)


def test_a_district_goes_live_from_files_and_a_report_reaches_the_imported_manager(
    app, session, places, make_user
):
    """Issue 15's "done": companies, estates, households and staff imported; a resident of an
    imported home reports a repair, which goes to the imported company's manager."""
    from app.imports.kinds import kind_of
    from app.imports.services import run_import
    from app.notifications.models import Notification
    from repairs.models import Category
    from repairs.services import tickets

    admin = make_user("administrator")
    files = [
        ("companies", "name,name_en\n新桥物业,Xinqiao Property\n"),
        (
            "estates",
            "district,town,name,address,latitude,longitude,company\n"
            "闵行区,莘庄镇,新桥苑,新桥路1号,31.10,121.36,新桥物业\n",
        ),
        ("households", "district,town,estate,building,unit,room\n闵行区,莘庄镇,新桥苑,1,,101\n"),
        (
            "staff",
            "phone,name,role,scope_kind,scope_name\n"
            "13900008888,周经理,property_manager,estate,莘庄镇/新桥苑\n",
        ),
    ]
    for key, text in files:
        result = run_import(session, admin, kind_of(key), text.encode(), filename=f"{key}.csv")
        assert result.written, (key, [str(o) for o in result.outcomes])
    from app.places.models import Estate

    estate = session.scalar(select(Estate).where(Estate.name_zh == "新桥苑"))
    resident = make_user(home_estate_id=estate.id, home_building="1", home_room="101")
    ticket = tickets.report(
        session, resident, resident, category=Category.WATER, description="厨房漏水"
    )
    assert ticket.company.name_zh == "新桥物业"
    from app.accounts.models import User

    manager = session.scalar(select(User).where(User.phone == "13900008888"))
    told = session.scalars(
        select(Notification.kind).where(Notification.user_id == manager.id)
    ).all()
    assert "repair.new" in told
