"""Speech to text: audio extraction with ffmpeg, transcription with faster-whisper (optional)."""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
from functools import lru_cache
from pathlib import Path
from typing import Any

from course_supporter.config import Settings
from course_supporter.ingestion.errors import IngestionError
from course_supporter.ingestion.progress import TRANSCRIBING, ParseProgress, no_progress
from course_supporter.ingestion.subtitles import Cue

NO_ENGINE_MESSAGE = (
    "No speech-to-text engine is configured: set WHISPER_MODEL_PATH to a faster-whisper model "
    "directory (and install the 'whisper' extra), or upload subtitles (.vtt/.srt) instead"
)
SPEECH_ENGINE = "faster-whisper"


def require_speech_engine(settings: Settings) -> Path:
    """The whisper model directory, or an error telling the operator what to configure."""
    model_path = settings.whisper_model_path
    if model_path is None:
        raise IngestionError(NO_ENGINE_MESSAGE)
    if importlib.util.find_spec("faster_whisper") is None:
        raise IngestionError(
            "WHISPER_MODEL_PATH is set but faster-whisper is not installed: install "
            "course-supporter[whisper], or upload subtitles (.vtt/.srt) instead"
        )
    if not model_path.is_dir():
        raise IngestionError(
            f"WHISPER_MODEL_PATH {model_path} is not a directory holding a faster-whisper model"
        )
    return model_path


async def extract_audio(
    media: Path, out_dir: Path, settings: Settings, filename: str | None = None
) -> Path:
    """Decode the first audio track into 16 kHz mono WAV, the input whisper models expect."""
    label = filename or media.name
    ffmpeg = shutil.which(settings.ffmpeg_binary)
    if ffmpeg is None:
        raise IngestionError(
            f"ffmpeg ({settings.ffmpeg_binary}) is not installed on the server; "
            "install it, or upload subtitles (.vtt/.srt) instead"
        )
    wav = out_dir / "audio.wav"
    process = await asyncio.create_subprocess_exec(
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-i", str(media), "-map", "0:a:0", "-vn", "-ac", "1", "-ar", "16000", "-f", "wav", str(wav),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        _, stderr = await asyncio.wait_for(
            process.communicate(), timeout=settings.ffmpeg_timeout_seconds
        )
    except TimeoutError:
        process.kill()
        await process.wait()
        raise IngestionError(
            f"Extracting the audio took longer than {settings.ffmpeg_timeout_seconds:.0f} s; "
            "it will be retried",
            transient=True,
        ) from None
    if process.returncode != 0:
        detail = stderr.decode("utf-8", errors="replace")
        if "matches no streams" in detail:
            raise IngestionError(f"{label} has no audio track to transcribe")
        raise IngestionError(
            f"{label} could not be decoded as audio or video (damaged or unsupported codec)"
        )
    return wav


@lru_cache(maxsize=1)
def _load_model(model_path: str) -> Any:
    from faster_whisper import WhisperModel

    return WhisperModel(model_path, device="cpu", compute_type="int8")


def transcribe(wav: Path, model_path: Path, progress: ParseProgress = no_progress) -> list[Cue]:
    """Transcribe a WAV file into timed cues (blocking; run it in a thread), telling `progress`
    of each segment as whisper yields it (their number is not known in advance)."""
    segments, _info = _load_model(str(model_path)).transcribe(str(wav), vad_filter=True)
    cues: list[Cue] = []
    for segment in segments:
        cues.append(
            Cue(
                start_seconds=float(segment.start),
                end_seconds=float(segment.end),
                text=str(segment.text).strip(),
            )
        )
        progress(len(cues), None, TRANSCRIBING)
    return cues
