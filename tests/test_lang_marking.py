"""Chinese inside English pages carries lang="zh-CN" (issue 14, section 3)."""

from accessibility import mark_chinese
from tests.conftest import submit


def test_an_english_page_marks_chinese_data(client, car_park, session):
    park = car_park(name="七宝测试停车场")
    park.name_en = ""  # no English name: the Chinese one is shown
    session.commit()
    submit(client, "/language", {"locale": "en", "next": "/"}, form_url="/")
    html = client.get(f"/parking/{park.id}").get_data(as_text=True)
    assert '<span lang="zh-CN">七宝测试停车场</span>' in html
    assert "<title>七宝测试停车场" in html or "七宝测试停车场 -" in html  # titles stay text
    # A Chinese page is left as it is.
    submit(client, "/language", {"locale": "zh_CN", "next": "/"}, form_url="/")
    html = client.get(f"/parking/{park.id}").get_data(as_text=True)
    assert '<span lang="zh-CN">七宝' not in html


def test_only_text_is_marked():
    html = mark_chinese(
        '<p title="七宝">plate 沪A·12345, 漕宝路 3 号</p><textarea>中文</textarea>'
        "<select><option>中文</option></select>"
        '<svg viewBox="0 0 9 9"><text x="1">七宝</text></svg><b>七宝</b>'
    )
    # Text with a marked run in it is one inline box: in a flex container (a button) the spaces
    # beside the run are kept ("Yes, remove 沪A12345", not "Yes, remove沪A12345").
    assert html == (
        '<p title="七宝"><span>plate <span lang="zh-CN">沪A·12345</span>, '
        '<span lang="zh-CN">漕宝路</span> 3 <span lang="zh-CN">号</span></span></p>'
        "<textarea>中文</textarea><select><option>中文</option></select>"
        '<svg viewBox="0 0 9 9"><text x="1">七宝</text></svg><b><span lang="zh-CN">七宝</span></b>'
    )


def test_spaces_beside_a_marked_plate_are_kept_in_a_button():
    html = mark_chinese('<button class="button">\n  Yes, remove 沪A12345\n</button>')
    assert html == (
        '<button class="button">\n  <span>Yes, remove <span lang="zh-CN">沪A12345</span>'
        "</span>\n</button>"
    )
