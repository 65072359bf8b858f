"""The operator's log: one handler on stderr, readable lines or JSON, and one line per cycle.

``kopf.operator`` configures no logging (only ``kopf run`` does), so without this ``kubectl logs``
stays empty. Every record has passed ``install_log_redaction`` before it gets here, so neither
format can carry a credential. kopf's per-object records (``k8s_ref``) name their object.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")
CYCLE_LOGGER = "imagebot.cycle"
_OURS = "imagebot-operator-handler"  # the handler's name: configure twice, still one handler
_CYCLE_FIELDS = ("automation", "outcome", "commit", "duration_seconds")

log = logging.getLogger(CYCLE_LOGGER)


def _object(record: logging.LogRecord) -> str | None:
    ref = getattr(record, "k8s_ref", None)
    if not isinstance(ref, dict) or not ref.get("name"):
        return None
    namespace = ref.get("namespace")
    return f"{namespace}/{ref['name']}" if namespace else str(ref["name"])


class TextFormatter(logging.Formatter):
    """``2026-03-01T12:00:00Z INFO    imagebot.cycle  my-demo/seed: pushed ...``."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        where = _object(record)
        message = record.getMessage()
        if where and not message.startswith(where):
            message = f"{where}: {message}"
        line = f"{stamp} {record.levelname:<7} {record.name}  {message}"
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        return f"{line}\n{record.exc_text}" if record.exc_text else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, object and the cycle's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        where = _object(record)
        if where:
            entry["object"] = where
        for name in _CYCLE_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(log_format: str, level: str, stream: TextIO | None = None) -> None:
    """Send every record at ``level`` and up to ``stream`` (stderr) in ``log_format``."""
    formatter = JsonFormatter() if log_format == "json" else TextFormatter()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_OURS)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _OURS]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    if level.lower() != "debug":
        # The client libraries' INFO is per request: the operator's own lines would drown.
        for noisy in ("kubernetes", "urllib3", "aiohttp.access"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def log_cycle(
    automation: str, outcome: str, commit: str | None, seconds: float, detail: str = ""
) -> None:
    """The one line a cycle leaves: automation, outcome, commit (short) and duration."""
    short = commit[:7] if commit else None
    message = f"{automation}: cycle {outcome}"
    if short:
        message += f", commit {short}"
    message += f" in {seconds:.2f}s"
    if detail:
        message += f": {detail}"
    fields = {
        "automation": automation,
        "outcome": outcome,
        "commit": short,
        "duration_seconds": round(seconds, 3),
    }
    log.log(
        logging.WARNING if outcome in {"stalled", "transient"} else logging.INFO,
        message,
        extra=fields,
    )
