"""Bulk import, service level: each kind's happy path, re-import unchanged, and broken files
answered row by row (unknown town, bad coordinates, duplicate row, GBK, XLSX)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.imports.kinds import kind_of
from app.imports.services import run_import


def xlsx(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def run(session, key, data, *, actor=None, dry_run=False, filename="file.csv", **kw):
    if isinstance(data, str):
        data = data.encode()
    return run_import(session, actor, kind_of(key), data, filename=filename, dry_run=dry_run, **kw)


def answers(result) -> list[tuple]:
    return [(o.line, o.outcome, o.column) for o in result.outcomes]


def test_towns_create_then_unchanged_and_errors_write_nothing(app, session, places):
    from app.places.models import Town

    text = (
        "District, Name ,NAME_EN,code\n"
        "310112,浦锦街道,Pujin Subdistrict,\n"
        "\n"
        "闵行区,莘庄镇,Xinzhuang Town,xinzhuang\n"
    )
    dry = run(session, "towns", text, dry_run=True)
    # The blank line 3 is answered (skipped), never silently dropped.
    assert answers(dry) == [(2, "create", ""), (3, "unchanged", ""), (4, "unchanged", "")]
    assert str(dry.outcomes[1].message) == "空行，已跳过。" and not dry.written
    assert session.scalar(select(Town).where(Town.name_zh == "浦锦街道")) is None
    assert run(session, "towns", text).written
    assert session.scalar(select(Town).where(Town.name_zh == "浦锦街道")).name_en == (
        "Pujin Subdistrict"
    )
    again = run(session, "towns", text)
    assert [o.outcome for o in again.outcomes] == ["unchanged"] * 3
    broken = run(session, "towns", text + "没有这个区,新镇,,\n闵行区,莘庄镇,Other Name,\n")
    # Line 6 names line 4's town again with another English name: which one is meant?
    assert answers(broken)[3:] == [(5, "error", "district"), (6, "error", "name_en")]
    assert not broken.written
    renamed = run(session, "towns", "district,name,name_en\n闵行区,莘庄镇,Xinzhuang\n")
    assert answers(renamed) == [(2, "update", "")] and renamed.written
    assert session.scalar(select(Town.name_en).where(Town.code == "xinzhuang")) == "Xinzhuang"


def test_a_file_that_cannot_be_read_is_one_answer(app, session, places, monkeypatch):
    assert answers(run(session, "towns", b"\xff\xfe\x00d\x00i")) == [(1, "error", "")]
    missing = run(session, "towns", "district,nom\n闵行区,新镇\n")
    assert missing.outcomes[0].column == "name"
    assert "nom" in str(run(session, "towns", "district,name,nom\n").outcomes[0].message)
    assert answers(run(session, "towns", b"", filename="x.csv")) == [(1, "error", "")]
    assert answers(run(session, "towns", b"not a zip", filename="x.xlsx")) == [(1, "error", "")]
    from app.imports import reading

    monkeypatch.setattr(reading, "MAX_ROWS", 3)
    too_many = "district,name\n" + "闵行区,x\n" * 4
    assert answers(run(session, "towns", too_many)) == [(1, "error", "")]


def test_estates_with_their_company_and_a_broken_file_row_by_row(app, session, places):
    from app.places.models import Estate
    from repairs.services.management import current_management

    assert run(session, "companies", "name,name_en\n莘庄物业,Xinzhuang Property\n").written
    header = "district,town,name,name_en,address,latitude,longitude,company\n"
    good = header + (
        "闵行区,莘庄镇,莘松新村,Xinsong New Village,莘松路200弄,31.112,121.372,莘庄物业\n"
        "闵行区,七宝镇,七宝新村,,七莘路200弄,,,\n"
    )
    result = run(session, "estates", good)
    assert answers(result) == [(2, "create", ""), (3, "update", "")], result.outcomes
    estate = session.scalar(select(Estate).where(Estate.name_zh == "莘松新村"))
    assert (estate.latitude, estate.longitude, estate.name_en) == (
        31.112,
        121.372,
        "Xinsong New Village",
    )
    assert current_management(session, estate.id).company.name_zh == "莘庄物业"
    assert [o.outcome for o in run(session, "estates", good).outcomes] == ["unchanged"] * 2
    broken = header + (
        "闵行区,不存在镇,某小区,,某路1号,,,\n"  # unknown town
        "闵行区,莘庄镇,坐标错,,某路2号,121.37,31.11,\n"  # latitude and longitude swapped
        "闵行区,莘庄镇,坐标错2,,某路3号,北纬31,121.1,\n"  # not a number
        "闵行区,莘庄镇,新小区,,某路4号,,,\n"
        "闵行区,莘庄镇,新小区,,某路4号,,,\n"  # the same row again
        "闵行区,莘庄镇,新小区,,某路5号,,,\n"  # the same estate, another address
        "闵行区,莘庄镇,另一个,,某路6号,,,没有的物业\n"
    )
    result = run(session, "estates", broken.encode("gbk"))  # as Excel saves it
    assert answers(result) == [
        (2, "error", "town"),
        (3, "error", "latitude"),
        (4, "error", "latitude"),
        (5, "create", ""),
        (6, "unchanged", ""),
        (7, "error", "address"),
        (8, "error", "company"),
    ]
    assert "不存在镇" in str(result.outcomes[0].message)
    assert not result.written
    assert session.scalar(select(Estate).where(Estate.name_zh == "新小区")) is None


def test_companies_with_estate_assignments_and_a_change_from_a_date(app, session, places, frozen):
    from datetime import timedelta

    from app import clock
    from repairs.models import PropertyCompany
    from repairs.services.management import current_management, history

    text = (
        "name,name_en,district,town,estate,from\n"
        "莘庄物业,Xinzhuang Property,闵行区,莘庄镇,莘城苑,\n"
        "莘庄物业,Xinzhuang Property,闵行区,七宝镇,七宝新村,\n"
        "独立物业,,,,,\n"
    )
    result = run(session, "companies", text)
    assert [o.outcome for o in result.outcomes] == ["create", "update", "create"]
    assert session.scalar(select(func.count(PropertyCompany.id))) == 2
    estates = places["estates"]
    assert current_management(session, estates[1].id).company.name_zh == "莘庄物业"
    assert [o.outcome for o in run(session, "companies", text).outcomes] == ["unchanged"] * 3
    later = (clock.today() + timedelta(days=10)).isoformat()
    change = f"name,district,town,estate,from\n独立物业,闵行区,七宝镇,七宝新村,{later}\n"
    past = change.replace(later, "2020-01-01")
    assert answers(run(session, "companies", past)) == [(2, "error", "from")]
    assert answers(run(session, "companies", change)) == [(2, "update", "")]
    # The old company stays in charge until the date; the history keeps both periods.
    assert current_management(session, estates[1].id).company.name_zh == "莘庄物业"
    assert len(history(session, estate_id=estates[1].id)) == 2


def test_households_from_xlsx_keep_the_register_semantics(app, session, places):
    from app.places.models import Household, HouseholdContact

    rows = [
        ["District", "town", "estate", "building", "unit", "room", "phone"],
        ["闵行区", "莘庄镇", "莘城苑", "5号楼", 2, 301, 13900001111],
        [None, None, None, None, None, None, None],
        ["闵行区", "Xinzhuang Town", "Xincheng Garden", 5, "2单元", "301室", 13900001111],
        ["闵行区", "莘庄镇", "莘城苑", 6, None, 602, None],
        ["闵行区", "莘庄镇", "没有这个小区", 1, None, 1, None],
    ]
    result = run(session, "households", xlsx(rows), filename="register.xlsx")
    assert answers(result) == [
        (2, "create", ""),
        (3, "unchanged", ""),  # the empty row, answered as skipped
        (4, "unchanged", ""),
        (5, "create", ""),
        (6, "error", "estate"),
    ]
    result = run(session, "households", xlsx(rows[:5]), filename="register.xlsx")
    assert result.written
    assert session.scalar(select(func.count(Household.id)).where(Household.registered)) == 2
    assert session.scalar(select(HouseholdContact.phone)) == "13900001111"
    again = run(session, "households", xlsx(rows[:5]), filename="register.xlsx")
    assert {o.outcome for o in again.outcomes} == {"unchanged"}


def test_ten_thousand_households_in_one_unit(app, session, places):
    from app.places.models import Household

    lines = ["district,town,estate,building,unit,room"] + [
        f"闵行区,莘庄镇,莘城苑,{b},{u},{r}"
        for b in range(1, 21)
        for u in range(1, 6)
        for r in range(101, 201)
    ]
    result = run(session, "households", "\n".join(lines))
    assert result.written and result.counts["create"] == 10_000 and result.counts["error"] == 0
    assert session.scalar(select(func.count(Household.id))) == 10_000
    again = run(session, "households", "\n".join(lines), dry_run=True)
    assert again.counts["unchanged"] == 10_000


@pytest.mark.parametrize("dry_run", [True, False])
def test_the_command_prints_a_line_per_row(app, session, places, runner, tmp_path, dry_run):
    from app.places.models import Town

    path = tmp_path / "towns.xlsx"
    path.write_bytes(xlsx([["district", "name"], ["闵行区", "浦锦街道"], ["没有", "x"]]))
    result = runner.invoke(args=["import", "towns", str(path)])
    assert result.exit_code != 0 and "line 3: error: district" in result.output
    assert "1 error, 1 to create; nothing was written" in result.output
    path.write_bytes(xlsx([["district", "name"], ["闵行区", "浦锦街道"]]))
    args = ["import", "towns", str(path)] + (["--dry-run"] if dry_run else [])
    result = runner.invoke(args=args)
    assert result.exit_code == 0 and "line 2: create" in result.output
    summary = "1 to create; dry run, nothing was written" if dry_run else "1 created; saved"
    assert summary in result.output
    found = session.scalar(select(Town).where(Town.name_zh == "浦锦街道"))
    assert (found is None) == dry_run
    if not dry_run:  # the same file again
        assert "1 unchanged; nothing to change" in runner.invoke(args=args).output
    assert runner.invoke(args=["import", "nothing", str(path)]).exit_code != 0


def test_carparks_with_their_pool_and_operator(app, session, places, make_user, frozen):
    from app.accounts.models import Role
    from bookings.models import CapacityBucket
    from parking.models import CarPark

    operator = make_user("resident", phone="13900002222")
    header = (
        "district,town,name,name_en,kind,address,latitude,longitude,total_spaces,"
        "reservable_spaces,operator_phone\n"
    )
    good = (
        header
        + "闵行区,莘庄镇,莘庄停车场,Xinzhuang Car Park,公共停车场,莘建路1号,"
        + "31.111,121.385,300,40,13900002222\n"
    )
    result = run(session, "carparks", good)
    assert answers(result) == [(2, "create", "")], result.outcomes
    park = session.scalar(select(CarPark).where(CarPark.name_zh == "莘庄停车场"))
    assert (park.kind.value, park.total_spaces, park.reservable_spaces) == ("public", 300, 40)
    assert session.scalar(
        select(func.count(CapacityBucket.id)).where(CapacityBucket.resource_id == park.resource_id)
    )
    session.expire_all()
    assert operator.has_role(Role.CARPARK_OPERATOR, park)
    assert [o.outcome for o in run(session, "carparks", good).outcomes] == ["unchanged"]
    broken = header + (
        "闵行区,莘庄镇,莘庄停车场,,public,莘建路1号,31.111,121.385,300,50,\n"
        "闵行区,莘庄镇,小停车场,,garage,某路,31.1,121.3,10,0,\n"
        "闵行区,莘庄镇,小停车场2,,mall,某路,,,10,0,\n"
        "闵行区,莘庄镇,小停车场3,,mall,某路,31.1,121.3,10,20,\n"
        "闵行区,莘庄镇,小停车场4,,mall,某路,31.1,121.3,十,0,\n"
        "闵行区,莘庄镇,小停车场5,,mall,某路,31.1,121.3,10,0,13900009876\n"
    )
    assert answers(run(session, "carparks", broken)) == [
        (2, "update", ""),
        (3, "error", "kind"),
        (4, "error", "latitude"),
        (5, "error", "reservable_spaces"),
        (6, "error", "total_spaces"),
        (7, "error", "operator_phone"),
    ]


def test_venues_one_row_per_space_with_hours(app, session, places, frozen):
    from venues.imports import parse_hours
    from venues.models import Venue

    assert parse_hours("1-5 09:00-17:00; Sat,sun 10:00-12:00") == {
        **{d: (540, 1020) for d in range(5)},
        5: (600, 720),
        6: (600, 720),
    }
    header = (
        "district,town,venue,venue_en,type,address,latitude,longitude,hours,space,space_en,"
        "mode,capacity,slot_minutes\n"
    )
    good = header + (
        "闵行区,莘庄镇,莘庄文化中心,Xinzhuang Culture Centre,culture_centre,莘松路1号,"
        "31.112,121.38,1-5 09:00-17:00; 6-7 10:00-16:00,多功能厅,Hall,general,40,60\n"
        "闵行区,莘庄镇,莘庄文化中心,,,,,,,乒乓球室,Table Tennis,personalised,,60\n"
    )
    result = run(session, "venues", good)
    assert answers(result) == [(2, "create", ""), (3, "create", "")], result.outcomes
    venue = session.scalar(select(Venue).where(Venue.name_zh == "莘庄文化中心"))
    assert sorted(s.name_zh for s in venue.spaces) == ["乒乓球室", "多功能厅"]
    assert len(venue.hours) == 7 and venue.latitude == 31.112
    assert [o.outcome for o in run(session, "venues", good).outcomes] == ["unchanged"] * 2
    broken = header + (
        "闵行区,莘庄镇,莘庄文化中心,,,,,,1-5 9点到5点,多功能厅,,,,\n"
        "闵行区,莘庄镇,新馆,,,某路,,,,大厅,,general,10,60\n"
        "闵行区,莘庄镇,莘庄文化中心,,,,,,,乒乓球室,,general,8,45\n"
    )
    assert answers(run(session, "venues", broken)) == [
        (2, "error", "hours"),
        (3, "error", "type"),
        (4, "update", ""),
    ]


def test_staff_invited_with_their_roles(
    app, session, places, make_user, car_park, runner, tmp_path
):
    from app.accounts.models import Role, User

    admin = make_user("administrator")
    text = (
        "phone,name,role,scope_kind,scope_name\n"
        "13900003333,张经理,property_manager,estate,莘庄镇/莘城苑\n"
        "13900003333,张经理,Town supervisor,town,莘庄镇\n"
        f"13900004444,李站长,carpark_operator,carpark,{car_park.default.name_zh}\n"
        "13900005555,王,property_manager,town,莘庄镇\n"
        "12345,赵,property_manager,estate,莘城苑\n"
        "13900006666,钱,chef,,\n"
    )
    result = run(session, "staff", text, actor=admin)
    assert answers(result) == [
        (2, "create", ""),
        (3, "create", ""),
        (4, "create", ""),
        (5, "error", "scope_kind"),
        (6, "error", "phone"),
        (7, "error", "role"),
    ], result.outcomes
    good = "\n".join(text.splitlines()[:4]) + "\n"
    assert run(session, "staff", good, actor=admin).written
    manager = session.scalar(select(User).where(User.phone == "13900003333"))
    assert manager.has_role(Role.PROPERTY_MANAGER, places["estates"][0])
    assert manager.has_role(Role.TOWN_SUPERVISOR, places["towns"][0])
    assert not manager.password_set
    assert {o.outcome for o in run(session, "staff", good, actor=admin).outcomes} == {"unchanged"}
    # The command acts as a named administrator; without one, staff rows are refused.
    path = tmp_path / "staff.csv"
    path.write_text(good.replace("13900004444", "13900007777"), encoding="utf-8")
    assert runner.invoke(args=["import", "staff", str(path)]).exit_code != 0
    result = runner.invoke(args=["import", "staff", str(path), "--actor", admin.username])
    assert result.exit_code == 0 and "line 4: create" in result.output, result.output


def test_a_district_administrator_imports_for_their_district_only(app, session, places, make_user):
    from app.places.models import District, Town

    minhang = places["towns"][0].district
    jinshan = District(code="310116", name_zh="金山区", name_en="Jinshan District")
    session.add(Town(district=jinshan, code="zhujing", name_zh="朱泾镇", name_en="Zhujing"))
    session.commit()
    admin = make_user("administrator", scope=minhang)
    text = "district,name\n闵行区,浦锦街道\n金山区,枫泾镇\n"
    assert answers(run(session, "towns", text, actor=admin)) == [
        (2, "create", ""),
        (3, "error", "district"),
    ]
    estates = "district,town,name,address\n,朱泾镇,金山小区,某路\n"
    assert answers(run(session, "estates", estates, actor=admin)) == [(2, "error", "town")]
