"""An update of one target, and the text its field holds after it: shared by both rewrite paths
(composing the old text, or splicing at the scan's ``facts``) and by the diff of a plan.
"""

from __future__ import annotations

from imagebot.errors import ReferenceError_, RewriteError
from imagebot.model import Target, TargetKind
from imagebot.records import record
from imagebot.refs import is_valid_digest, is_valid_tag, parse_reference


@record
class Update:
    """Give ``target`` a new tag and/or digest (each written in the part the target holds)."""

    target: Target
    new_tag: str | None
    new_digest: str | None = None


def expected_text(target: Target) -> str:
    """The value the scan read in the target's field, when the target does not say it."""
    image, part = target.image, target.field_part
    texts = {"tag": image.tag, "digest": image.digest, "name": image.written_name}
    return (texts.get(part) if part in texts else str(image)) or ""


def new_value(update: Update, current: str, where: str) -> str:
    """The text the target's field should hold after the update."""
    tag, digest, target = update.new_tag, update.new_digest, update.target
    if tag is not None and not is_valid_tag(tag):
        raise RewriteError(f"{where}: {tag!r} is not a valid tag; nothing was written")
    if digest is not None and not is_valid_digest(digest):
        raise RewriteError(f"{where}: {digest!r} is not a valid digest; nothing was written")
    part = target.field_part
    if part == "name":
        return target.image.written_name
    if part in ("tag", "digest"):
        value = tag if part == "tag" else digest
        if value is None:
            raise RewriteError(f"{where}: this field holds a {part} but the update gives none")
        return value
    prefix = ""
    if target.kind is TargetKind.ARGOCD:  # Argo CD's `old=new:tag`: only new:tag changes
        prefix, equals, current = current.rpartition("=")
        prefix += equals
    try:
        name = parse_reference(current).written_name
        current_tag = parse_reference(current).tag
    except ReferenceError_ as error:
        raise RewriteError(f"{where}: {error}") from error
    if target.kind is TargetKind.SETTER:
        name = target.image.written_name  # the marker's policy names the repository, as Flux
    if tag is None and digest is None:
        raise RewriteError(f"{where}: the update gives neither a tag nor a digest")
    tag = tag if tag is not None else current_tag
    return prefix + name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
