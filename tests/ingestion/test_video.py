"""Video materials: subtitle files, audio/video files and video page URLs."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import pytest

from course_supporter.config import Settings
from course_supporter.ingestion.document import ChunkKind, SourceDocument
from course_supporter.ingestion.errors import IngestionError
from course_supporter.ingestion.extract import extract_document
from course_supporter.ingestion.speech import NO_ENGINE_MESSAGE, extract_audio
from course_supporter.ingestion.video import choose_subtitles
from tests.conftest import REQUIRE_SERVICES
from tests.ingestion.conftest import _TestServer

# CI (REQUIRE_SERVICES=1) installs ffmpeg, so there a missing one fails these tests.
needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None and not REQUIRE_SERVICES, reason="ffmpeg not installed"
)


async def _extract(path: Path, settings: Settings) -> SourceDocument:
    return await extract_document(
        "video", path=path, url=None, filename=path.name, settings=settings
    )


async def test_webvtt_cues_become_timed_transcript_chunks(
    tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "lecture.vtt"
    path.write_text(
        "WEBVTT\n\nNOTE a comment block\n\n"
        "intro\n00:00:01.000 --> 00:00:04.500 align:start\nWelcome to <b>cells</b>.\n\n"
        "00:01:05.250 --> 00:01:09.000\nMitochondria\nmake ATP.\n",
        encoding="utf-8",
    )
    document = await _extract(path, settings)
    assert [(c.kind, c.text, c.ref.start_seconds, c.ref.end_seconds) for c in document.chunks] == [
        (ChunkKind.TRANSCRIPT, "Welcome to cells.", 1.0, 4.5),
        (ChunkKind.TRANSCRIPT, "Mitochondria\nmake ATP.", 65.25, 69.0),
    ]
    assert document.metadata.skipped_cues == 0


async def test_srt_is_read_too(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "lecture.srt"
    path.write_text(
        "1\r\n00:00:01,000 --> 00:00:02,500\r\nFirst line\r\n\r\n"
        "2\r\n00:00:03,000 --> 00:00:04,000\r\nSecond line\r\n",
        encoding="utf-8",
    )
    document = await _extract(path, settings)
    assert [(c.text, c.ref.start_seconds) for c in document.chunks] == [
        ("First line", 1.0),
        ("Second line", 3.0),
    ]


async def test_a_few_broken_cues_are_skipped_and_counted(
    tmp_path: Path, settings: Settings
) -> None:
    good = "".join(f"00:00:{i:02d}.000 --> 00:00:{i:02d}.900\nCue {i}\n\n" for i in range(1, 20))
    path = tmp_path / "mostly.vtt"
    path.write_text(f"WEBVTT\n\n{good}00:00:xx.000 --> 00:00:21.000\nBroken\n\n", encoding="utf-8")
    document = await _extract(path, settings)
    assert len(document.chunks) == 19
    assert document.metadata.skipped_cues == 1
    assert "Broken" not in [c.text for c in document.chunks]


async def test_mostly_broken_subtitles_fail(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "broken.srt"
    path.write_text(
        "1\n00:00:01,000 --> 00:00:02,000\nGood\n\n"
        "2\n00:00:zz,000 --> 00:00:03,000\nBad\n\n"
        "3\n00:00:04,000 -> 00:00:05,000\nBad arrow --> here\n\n"
        "4\n00:00:09,000 --> 00:00:08,000\nEnds before it starts\n",
        encoding="utf-8",
    )
    with pytest.raises(IngestionError, match="3 malformed cues out of 4") as caught:
        await _extract(path, settings)
    assert caught.value.transient is False


async def test_subtitles_without_cues_or_header(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "empty.vtt"
    path.write_text("WEBVTT\n\nNOTE nothing here\n")
    with pytest.raises(IngestionError, match="no subtitle cues"):
        await _extract(path, settings)
    path.write_text("00:00:01.000 --> 00:00:02.000\nNo header\n")
    with pytest.raises(IngestionError, match="must start with WEBVTT"):
        await _extract(path, settings)


async def test_media_without_speech_engine_says_what_to_configure(
    wav_file: Path, settings: Settings
) -> None:
    with pytest.raises(IngestionError) as caught:
        await _extract(wav_file, settings)
    assert caught.value.message == NO_ENGINE_MESSAGE
    assert "WHISPER_MODEL_PATH" in caught.value.message and ".vtt/.srt" in caught.value.message
    assert caught.value.transient is False


async def test_media_with_model_path_but_no_faster_whisper(
    wav_file: Path, settings: Settings, tmp_path: Path
) -> None:
    try:
        import faster_whisper  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("faster-whisper is installed here")
    settings.whisper_model_path = tmp_path
    with pytest.raises(IngestionError, match="faster-whisper is not installed"):
        await _extract(wav_file, settings)


@needs_ffmpeg
async def test_ffmpeg_extracts_16khz_mono_audio(
    wav_file: Path, settings: Settings, tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    wav = await extract_audio(wav_file, out_dir, settings, "tone.wav")
    with wave.open(str(wav)) as audio:
        assert (audio.getnchannels(), audio.getframerate()) == (1, 16000)
        assert abs(audio.getnframes() / 16000 - 1.0) < 0.05


@needs_ffmpeg
async def test_ffmpeg_reports_video_without_audio_and_garbage(
    settings: Settings, tmp_path: Path
) -> None:
    silent = tmp_path / "silent.mp4"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "lavfi",
         "-i", "testsrc=duration=1:size=64x64:rate=5", "-c:v", "mpeg4", str(silent)],
        check=True,
    )  # fmt: skip
    with pytest.raises(IngestionError, match="has no audio track"):
        await extract_audio(silent, tmp_path, settings, "silent.mp4")
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x13" * 4096)
    with pytest.raises(IngestionError, match="could not be decoded") as caught:
        await extract_audio(garbage, tmp_path, settings, "garbage.mp4")
    assert caught.value.transient is False


@needs_ffmpeg
async def test_ffmpeg_timeout_is_transient(
    wav_file: Path, settings: Settings, tmp_path: Path
) -> None:
    settings.ffmpeg_timeout_seconds = 0.0001
    with pytest.raises(IngestionError, match="took longer") as caught:
        await extract_audio(wav_file, tmp_path, settings)
    assert caught.value.transient is True


def test_author_subtitles_are_preferred_over_automatic_ones() -> None:
    info = {
        "language": "uk",
        "subtitles": {
            "en": [{"ext": "json3", "url": "http://x/en.json"}, {"ext": "vtt", "url": "http://x/en.vtt"}],
            "uk": [{"ext": "srt", "url": "http://x/uk.srt"}],
            "live_chat": [{"ext": "vtt", "url": "http://x/chat"}],
        },
        "automatic_captions": {"uk": [{"ext": "vtt", "url": "http://x/auto-uk.vtt"}]},
    }  # fmt: skip
    assert choose_subtitles(info) == ("author_subtitles", "uk", "srt", "http://x/uk.srt")
    info["subtitles"] = {}
    assert choose_subtitles(info) == ("automatic_subtitles", "uk", "vtt", "http://x/auto-uk.vtt")
    info["automatic_captions"] = {}
    assert choose_subtitles(info) is None


async def test_video_url_to_a_private_address_never_reaches_yt_dlp(
    settings: Settings, base_url: str, web_server: _TestServer
) -> None:
    before = len(web_server.requests)
    with pytest.raises(IngestionError, match="refused: not a public address"):
        await extract_document(
            "video", path=None, url=f"{base_url}/video-page", filename="", settings=settings
        )
    assert len(web_server.requests) == before


async def test_video_page_subtitles_through_yt_dlp(local_settings: Settings, base_url: str) -> None:
    url = f"{base_url}/video-page"
    document = await extract_document(
        "video", path=None, url=url, filename="", settings=local_settings
    )
    assert [(c.text, c.ref.start_seconds, c.ref.end_seconds) for c in document.chunks] == [
        ("Welcome to the lecture on cells.", 1.0, 4.5),
        ("Today we look at mitochondria.", 5.0, 9.25),
    ]
    assert document.metadata.transcript_source == "author_subtitles"
    assert document.metadata.source_url == url


async def test_yt_dlp_requests_to_unchecked_hosts_are_refused(
    local_settings: Settings, base_url: str, web_server: _TestServer
) -> None:
    with pytest.raises(IngestionError, match="refused: not a public address"):
        await extract_document(
            "video",
            path=None,
            url=f"{base_url}/video-page-foreign-track",
            filename="",
            settings=local_settings,
        )


async def test_video_page_whose_subtitles_are_gone_is_permanent(
    local_settings: Settings, base_url: str
) -> None:
    with pytest.raises(IngestionError, match="HTTP Error 404") as caught:
        await extract_document(
            "video",
            path=None,
            url=f"{base_url}/video-page-missing-track",
            filename="",
            settings=local_settings,
        )
    assert caught.value.transient is False


async def test_video_page_without_subtitles_needs_a_speech_engine(
    local_settings: Settings, base_url: str
) -> None:
    with pytest.raises(IngestionError, match="No speech-to-text engine"):
        await extract_document(
            "video",
            path=None,
            url=f"{base_url}/video-page-no-track",
            filename="",
            settings=local_settings,
        )
