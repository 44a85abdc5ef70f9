"""Video materials: audio/video files via speech to text, video page URLs via yt-dlp."""

from __future__ import annotations

import asyncio
import functools
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yt_dlp
from yt_dlp.networking.exceptions import HTTPError, TransportError
from yt_dlp.utils import YoutubeDLError

from course_supporter.config import Settings
from course_supporter.ingestion.document import SourceDocument
from course_supporter.ingestion.errors import IngestionError
from course_supporter.ingestion.fetching import check_url
from course_supporter.ingestion.progress import ParseProgress, no_progress
from course_supporter.ingestion.speech import (
    SPEECH_ENGINE,
    extract_audio,
    require_speech_engine,
    transcribe,
)
from course_supporter.ingestion.subtitles import Cue, parse_subtitles, transcript_document
from course_supporter.ingestion.ytdlp_transport import PinnedHttpRH

_T = TypeVar("_T")
_SUBTITLE_EXTENSIONS = ("vtt", "srt")
# yt-dlp appends its exception's repr ("(caused by TransportError(...))"): not for a person.
_CAUSE = re.compile(r" \(caused by .*\)$", re.DOTALL)
_TRANSIENT_MARKERS = (
    "timed out", "temporary failure", "connection reset", "could not connect",
    "did not answer over http",
    "http error 5", "http error 429", "try again later",
)  # fmt: skip


class MediaProcessor:
    """An uploaded audio or video file: ffmpeg extracts the audio, whisper transcribes it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def extract(
        self, path: Path, filename: str, progress: ParseProgress = no_progress
    ) -> SourceDocument:
        model_path = require_speech_engine(self.settings)
        with tempfile.TemporaryDirectory(prefix="cs-audio-") as workdir:
            wav = await extract_audio(path, Path(workdir), self.settings, filename)
            cues = await asyncio.to_thread(transcribe, wav, model_path, progress)
        return _spoken_document(
            cues, Path(filename).stem, filename, self.settings, filename=filename
        )


def _spoken_document(
    cues: list[Cue], title: str, label: str, settings: Settings, **metadata: str
) -> SourceDocument:
    audio_seconds = max((cue.end_seconds for cue in cues), default=0.0)
    return transcript_document(
        cues,
        title=title,
        max_chars=settings.ingest_max_text_chars,
        label=label,
        title_from_speech=True,
        transcript_source="speech_to_text",
        speech_engine=SPEECH_ENGINE,
        duration_seconds=round(audio_seconds, 3),
        **metadata,
    )


class _GuardedYoutubeDL(yt_dlp.YoutubeDL):  # type: ignore[misc]
    """YoutubeDL whose only transport is `PinnedHttpRH`: every hop checked, redirects ours."""

    def __init__(self, params: dict[str, Any], settings: Settings) -> None:
        self.fetch_settings = settings
        self.refusal: IngestionError | None = None
        super().__init__(params)

    def build_request_director(self, handlers: Any, preferences: Any = None) -> Any:
        pinned = functools.partial(
            PinnedHttpRH, settings=self.fetch_settings, on_refusal=self._record_refusal
        )
        return super().build_request_director([pinned])

    def _record_refusal(self, refusal: IngestionError) -> None:
        self.refusal = self.refusal or refusal


class VideoPageProcessor:
    """A video page URL (YouTube, Vimeo …): author subtitles, then automatic ones, else audio."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def extract(self, url: str, progress: ParseProgress = no_progress) -> SourceDocument:
        await check_url(url, self.settings)
        with tempfile.TemporaryDirectory(prefix="cs-video-") as workdir:
            ydl = _GuardedYoutubeDL(self._params(Path(workdir)), self.settings)
            with ydl:
                info = await self._in_thread(ydl, ydl.extract_info, url, download=False)
                if info.get("_type") in ("playlist", "multi_video"):
                    raise IngestionError(f"{url} is a playlist; give the URL of a single video")
                title = str(info.get("title") or url)
                track = choose_subtitles(info)
                if track is not None:
                    kind, language, extension, track_url = track
                    text = await self._in_thread(ydl, self._download_subtitles, ydl, track_url)
                    parsed = parse_subtitles(
                        text,
                        extension,
                        f"the subtitles of {url}",
                        max_cues=self.settings.ingest_max_subtitle_cues,
                    )
                    return transcript_document(
                        parsed.cues,
                        title=title,
                        max_chars=self.settings.ingest_max_text_chars,
                        label=url,
                        source_url=url,
                        transcript_source=kind,
                        subtitle_language=language,
                        skipped_cues=parsed.broken,
                    )
                model_path = require_speech_engine(self.settings)
                media = await self._in_thread(ydl, self._download_audio, ydl, info, Path(workdir))
                wav = await extract_audio(media, Path(workdir), self.settings, url)
                cues = await asyncio.to_thread(transcribe, wav, model_path, progress)
        return _spoken_document(cues, title, url, self.settings, source_url=url)

    def _params(self, workdir: Path) -> dict[str, Any]:
        return {
            "quiet": True,
            "no_warnings": True,
            "noprogress": True,
            "noplaylist": True,
            "extract_flat": "in_playlist",
            "socket_timeout": self.settings.fetch_timeout_seconds,
            "proxy": "",  # PinnedHttpRH never uses a proxy; this keeps the environment's out
            "cachedir": False,
            "retries": 2,
            # Plain HTTP(S) formats only, so ffmpeg never fetches URLs on yt-dlp's behalf.
            "format": "bestaudio[protocol^=http]/best[protocol^=http]",
            "max_filesize": self.settings.media_download_max_bytes,
            "outtmpl": str(workdir / "media.%(ext)s"),
        }

    def _download_subtitles(self, ydl: _GuardedYoutubeDL, track_url: str) -> str:
        cap = self.settings.fetch_max_bytes
        with ydl.urlopen(track_url) as response:
            data: bytes = response.read(cap + 1)
        if len(data) > cap:
            raise IngestionError(f"The subtitles of this video are larger than {cap:,} bytes")
        return data.decode("utf-8-sig", errors="replace")

    def _download_audio(self, ydl: _GuardedYoutubeDL, info: dict[str, Any], workdir: Path) -> Path:
        ydl.process_ie_result(info, download=True)
        downloaded = sorted(workdir.glob("media.*"))
        if not downloaded:
            raise IngestionError(
                "The video has no downloadable audio within the size limit; upload subtitles"
            )
        return downloaded[0]

    async def _in_thread(
        self, ydl: _GuardedYoutubeDL, call: Callable[..., _T], *args: Any, **kwargs: Any
    ) -> _T:
        """Run a blocking yt-dlp call in a thread with a deadline, mapping its errors."""
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(call, *args, **kwargs),
                timeout=self.settings.ytdlp_timeout_seconds,
            )
        except TimeoutError:
            raise IngestionError(
                "Reading the video page took too long; it will be retried", transient=True
            ) from None
        except YoutubeDLError as error:
            if ydl.refusal is not None:
                raise ydl.refusal from None
            message = _CAUSE.sub("", str(error).removeprefix("ERROR: "))
            if isinstance(error, HTTPError):
                transient = error.status >= 500 or error.status in (408, 429)
            else:
                transient = isinstance(error, TransportError) or any(
                    marker in message.lower() for marker in _TRANSIENT_MARKERS
                )
            raise IngestionError(
                f"The video page could not be read: {message}", transient=transient
            ) from None


def choose_subtitles(info: dict[str, Any]) -> tuple[str, str, str, str] | None:
    """Pick (kind, language, extension, url): author subtitles first, then automatic captions."""
    for kind, key in (
        ("author_subtitles", "subtitles"),
        ("automatic_subtitles", "automatic_captions"),
    ):
        tracks: dict[str, list[dict[str, Any]]] = info.get(key) or {}
        for language in _language_preference(tracks, info.get("language")):
            for extension in _SUBTITLE_EXTENSIONS:
                for track in tracks[language]:
                    if track.get("ext") == extension and track.get("url"):
                        return kind, language, extension, str(track["url"])
    return None


def _language_preference(tracks: dict[str, Any], video_language: object) -> list[str]:
    languages = [language for language in tracks if language != "live_chat"]
    preferred = [str(video_language or ""), "en"]
    return sorted(
        languages,
        key=lambda lang: next(
            (rank for rank, want in enumerate(preferred) if want and lang.split("-")[0] == want),
            len(preferred),
        ),
    )
