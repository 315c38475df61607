"""One logging setup for every step: readable lines on the console, JSON lines under logs/."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

from music_recs.config import get_settings

_CONFIGURED = False


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per record, so logs can be grepped and loaded as data."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        extra = getattr(record, "data", None)
        if isinstance(extra, dict):
            payload.update(extra)
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


def setup_logging(step: str, level: int = logging.INFO, logs_dir: Path | None = None) -> logging.Logger:
    """Configure the root logger once per process and return the logger of ``step``.

    Console: ``HH:MM:SS level step: message``. File: ``logs/<step>.jsonl``.
    """
    global _CONFIGURED
    if not _CONFIGURED:
        root = logging.getLogger()
        root.setLevel(level)
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
        root.addHandler(console)
        directory = logs_dir or get_settings().logs_dir
        try:
            directory.mkdir(parents=True, exist_ok=True)
            file_handler = logging.FileHandler(directory / f"{step}.jsonl", encoding="utf-8")
            file_handler.setFormatter(JsonLinesFormatter())
            root.addHandler(file_handler)
        except OSError as exc:  # a read-only checkout still gets console logs
            root.warning("cannot write JSON logs under %s: %s", directory, exc)
        _CONFIGURED = True
    return logging.getLogger(step)
