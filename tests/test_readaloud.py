"""Read-aloud (accessibility/readaloud): the words of a page's <main> as the person asking sees
them, real audio from Debian's espeak-ng, the cache and its limits, refusal of other addresses."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import wave
from dataclasses import replace
from io import BytesIO
from pathlib import Path

import pytest
from mutagen.mp3 import MP3

from accessibility.readaloud.services import ReadAloudSettings, cached_file, speak, sweep
from accessibility.readaloud.services.text import main_text
from tests.conftest import CI, csrf_token, login

AUDIO = re.compile(r'<audio[^>]*src="(/readaloud/audio/[0-9a-f]{64}\.mp3)"')


@pytest.fixture
def espeak():
    if shutil.which("espeak-ng") is None:
        if CI:
            pytest.fail("espeak-ng is missing; CI must run the read-aloud tests")
        pytest.skip("espeak-ng is missing (apt-get install espeak-ng)")


@pytest.fixture
def cache(app, tmp_path):
    app.config["READALOUD_CACHE_DIR"] = str(tmp_path / "readaloud")
    return tmp_path / "readaloud"


def settings(tmp_path, **changes) -> ReadAloudSettings:
    return replace(ReadAloudSettings(cache_dir=tmp_path, secret=b"test"), **changes)


def assert_mp3(data: bytes) -> MP3:
    """An MPEG Layer III file (what audio/mpeg declares) of mono 16 kHz speech at 24 kbit/s."""
    recording = MP3(BytesIO(data))  # mutagen: raises unless it finds MPEG audio frames
    info = recording.info
    assert (info.version, info.layer, info.channels) == (2, 3, 1)  # MPEG-2 Layer III, mono
    assert (info.sample_rate, info.bitrate) == (16_000, 24_000)
    assert len(data) > 1_500  # more than a header: half a second of speech at least
    return recording


def test_main_text_reads_what_a_person_is_shown_in_main(client):
    html = client.get("/login?with=password").get_data(as_text=True)
    text, lang = main_text(html)
    assert lang == "zh-cn"
    lines = text.splitlines()
    assert "登录" in lines[0]  # the page's heading comes first
    assert "朗读本页" not in text  # not the control itself
    assert "跳至主要内容" not in text and "需要帮助？" not in text  # header, help block
    assert "密码" in text  # the field's label
    crafted = (
        '<html lang="en"><body><nav>Menu</nav><main><h1>Title</h1><p hidden>Secret</p>'
        '<p aria-hidden="true">Icon</p><script>var x = 1;</script><table><tr><th>Time</th>'
        "<td>09:00</td></tr></table><select><option>One</option><option selected>Two</option>"
        '</select><img src="x.png" alt="A map"><span class="visually-hidden">for you</span>'
        '<input value="typed"></main><footer>Foot</footer></body></html>'
    )
    text, lang = main_text(crafted)
    assert lang == "en"
    assert text.splitlines() == ["Title", "Time, 09:00", "Two A map for you"]


def test_the_page_is_read_as_the_person_asking_sees_it(
    app, session, client, make_user, cache, espeak
):
    from app.db import unit_of_work
    from app.notifications.services import notify

    resident, other = make_user(), make_user()
    with unit_of_work(session):
        notify(session, resident.id, kind="test", subject="%(ref)s", params={"ref": "朗读秘密4711"})

    login(client, resident.login_name)
    page = client.get("/readaloud", query_string={"path": "/inbox"})
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "朗读秘密4711" in body  # the words read, shown under the player
    audio = client.get(AUDIO.search(body).group(1))
    assert audio.status_code == 200 and audio.mimetype == "audio/mpeg"
    assert_mp3(audio.data)
    assert "MP3 格式" in body and 'type="audio/mpeg"' in body  # the link says what it opens
    assert "no-store" in audio.headers["Cache-Control"]

    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    visitor = client.get("/readaloud", query_string={"path": "/inbox"}).get_data(as_text=True)
    assert "朗读秘密4711" not in visitor and "登录" in visitor  # the sign-in page is read
    login(client, other.login_name)
    theirs = client.get("/readaloud", query_string={"path": "/inbox"}).get_data(as_text=True)
    assert "朗读秘密4711" not in theirs


@pytest.mark.parametrize(
    "path",
    [
        "https://example.com/",
        "//example.com/inbox",
        "/\\example.com",
        "inbox",
        "/readaloud?path=/",
        "/static/css/portal.css",  # not a page
    ],
)
def test_other_addresses_are_refused(client, cache, path):
    page = client.get("/readaloud", query_string={"path": path})
    assert page.status_code in (400, 404)
    assert "<audio" not in page.get_data(as_text=True)
    assert not cache.exists() or list(cache.iterdir()) == []


def test_no_javascript_link_on_every_page_in_both_languages_and_modes(client, cache, espeak):
    for locale, mode in (("zh_CN", "standard"), ("en", "elderly")):
        client.set_cookie("locale", locale)
        client.set_cookie("display_mode", mode)
        page = client.get("/venues?q=1").get_data(as_text=True)
        link = re.search(r'href="(/readaloud\?path=[^"]+)"[^>]*data-readaloud-play', page)
        assert link, page[:3000]
        target = link.group(1).replace("&amp;", "&")
        assert "path=/venues?q%3D1" in target or "path=%2Fvenues%3Fq%3D1" in target
        heard = client.get(target).get_data(as_text=True)
        assert AUDIO.search(heard)
        if locale == "en":
            assert '<div class="readaloud-text" lang="en">' in heard


def test_speech_is_cached_by_text_voice_and_speed(tmp_path, espeak):
    ours = settings(tmp_path)
    first = speak(ours, "您好，欢迎使用市民服务。", "zh", "normal")
    assert not first.cached
    assert_mp3(first.path.read_bytes())
    again = speak(ours, "您好，欢迎使用市民服务。", "zh", "normal")
    assert again.cached and again.path == first.path
    slow = speak(ours, "您好，欢迎使用市民服务。", "zh", "slow")
    assert slow.key != first.key
    assert slow.path.stat().st_size > first.path.stat().st_size  # slower: longer
    assert speak(ours, "Hello", "en", "normal").key != speak(ours, "Hello", "zh", "normal").key


def test_a_long_page_is_a_small_mp3_of_all_its_words(tmp_path, espeak):
    # The longest text a page gives (READALOUD_MAX_CHARS, 1,500): about 12 minutes of speech,
    # 31 MB as espeak-ng's WAV. The MP3 is 24 kbit/s (3,000 bytes a second) for the whole of it.
    ours = settings(tmp_path)
    line = "江川体育中心羽毛球场一号，周二上午八点到九点有空，请在截止时间前取消。"
    long = "\n".join([line] * 45)
    speech = speak(ours, long, "zh", "normal")
    assert speech.path.suffix == ".mp3" and speech.size == speech.path.stat().st_size
    recording = assert_mp3(speech.path.read_bytes())
    # How long the words take, from espeak-ng itself (the same voice, speed and clauses).
    wav = tmp_path / "words.wav"
    subprocess.run(
        ["espeak-ng", "-v", "cmn", "-s", "160", "-l", "1501", "-w", str(wav), "--stdin"],
        input=speech.text.encode(),
        check=True,
    )
    with wave.open(str(wav)) as reader:
        seconds = reader.getnframes() / reader.getframerate()
        wav_bytes = reader.getnframes() * reader.getsampwidth()
    assert seconds > 300  # a long page indeed
    assert speech.size <= seconds * 24_000 / 8 * 1.01 + 1_000  # the bitrate, and no more
    assert speech.size >= seconds * 24_000 / 8 * 0.97  # every word, nothing cut off
    assert abs(recording.info.length - seconds) < 1
    assert speech.size * 10 < wav_bytes  # over ten times smaller than the WAV


def test_long_texts_are_cut_and_old_files_removed(tmp_path, espeak):
    ours = settings(tmp_path, max_chars=40, cache_seconds=60)
    long = "\n".join(f"第{n}段文字。" for n in range(30))
    speech = speak(ours, long, "zh", "normal")
    assert speech.cut and len(speech.text) <= 40 and speech.text.endswith("段文字。")
    old = time.time() - 61
    os.utime(speech.path, (old, old))
    assert cached_file(ours, speech.key) is None  # too old to serve
    legacy = tmp_path / (speech.key + ".wav")  # a recording kept before MP3
    legacy.write_bytes(b"RIFF")
    os.utime(legacy, (old, old))
    assert sweep(ours) == 2 and not speech.path.exists() and not legacy.exists()
    assert cached_file(ours, "../" + speech.key) is None


def test_the_cache_keeps_to_its_budget(tmp_path, espeak):
    ours = settings(tmp_path, cache_bytes=60_000)  # each sentence: about 23 KB of MP3
    paths = []
    for n in range(4):
        paths.append(
            speak(ours, f"这是第{n}条比较长的测试句子，用来填满缓存。", "zh", "normal").path
        )
        past = time.time() - 100 + n
        os.utime(paths[-1], (past, past))
    assert sum(p.stat().st_size for p in Path(tmp_path).glob("*.mp3")) <= 60_000 + 25_000
    assert not paths[0].exists() and paths[-1].exists()  # the oldest went first


def test_the_script_gets_audio_for_the_words_it_sends(client, cache, espeak):
    token = csrf_token(client, "/")
    answer = client.post(
        "/readaloud/speak",
        data={
            "csrf_token": token,
            "text": "手机号码\n请填写11位手机号码",
            "lang": "zh",
            "speed": "slow",
        },
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert_mp3(client.get(answer.json["audio"]).data)
    refused = client.post("/readaloud/speak", data={"text": "你好", "lang": "zh"})
    assert refused.status_code == 400  # no CSRF token
    empty = client.post("/readaloud/speak", data={"csrf_token": token, "text": " "})
    assert empty.status_code == 400 and empty.json["error"]


def test_the_script_gets_the_first_part_of_a_long_page(app, client, cache, espeak):
    # A venue page's words run past the text policy's 2,000 characters: cut and read, as
    # /readaloud does, not refused. (A small READALOUD_MAX_CHARS keeps the synthesis short.)
    app.config["READALOUD_MAX_CHARS"] = 60
    token = csrf_token(client, "/")
    long = "江川体育中心羽毛球场一号，周二上午八点到九点有空。\n" * 100  # 2,600 characters
    answer = client.post("/readaloud/speak", data={"csrf_token": token, "text": long})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.json["cut"] and answer.json["message"] == "这一页很长，只朗读前面的部分。"
    assert_mp3(client.get(answer.json["audio"]).data)


def test_without_espeak_the_page_still_shows_the_words(app, client, cache):
    app.config["READALOUD_ESPEAK"] = "/nonexistent/espeak-ng"
    page = client.get("/readaloud", query_string={"path": "/help"})
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "服务器朗读暂时不可用" in body and "<audio" not in body and "12345" in body


def test_synthesis_is_rate_limited(app, client, cache, espeak):
    app.config["READALOUD_RATE"] = "2 per minute"
    token = csrf_token(client, "/")
    answers = [
        client.post("/readaloud/speak", data={"csrf_token": token, "text": f"第{n}句"}).status_code
        for n in range(3)
    ]
    assert answers == [200, 200, 429]
    assert client.get("/readaloud", query_string={"path": "/help"}).status_code == 429  # shared
