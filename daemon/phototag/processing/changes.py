"""What changed in a file phototag is asked to tag: the pure decision behind "a person's
edit is final".

A photo phototag tagged and a person then edited with another tool (exiftool, digiKam,
Lightroom's "save metadata to file") has new bytes but the same image data; tagging it
again would pay for a second request and undo the person's edit. So a job compares the
file's hashes with the index's record of it before anything is decoded or sent.
"""

from __future__ import annotations

from enum import StrEnum

from phototag.store.records import FileRecord


class Change(StrEnum):
    NEW = "new"  # phototag has not written into it yet: tag it
    SAME_BYTES = "same-bytes"  # exactly as phototag left it (a retag asked for it): tag it
    METADATA_ONLY = "metadata-only"  # only its metadata changed (in the file, or its
    # sidecar, or only the file's time): note it, never tag it again
    NEW_PIXELS = "new-pixels"  # the image data changed (or cannot be told apart): tag it


def classify_change(record: FileRecord | None, *, sha256: str, image_sha256: str | None) -> Change:
    """How the file hashing to ``sha256`` / ``image_sha256`` differs from what the index
    knows of it. Only a record of a real (not dry-run) tagging counts: a dry run wrote
    nothing, so nothing of phototag's is there for a person to have edited. Without an
    image hash on either side (a format with none, a record from before schema 4, a re-tag
    asked for) a changed file is never taken for metadata-only.
    """
    if record is None or record.result is None or record.dry_run:
        return Change.NEW
    # the bytes phototag left: its in-place write, or (a sidecar was written, the index
    # keeps no out_sha256) the photo's own bytes, which phototag never rewrites
    if sha256 == (record.out_sha256 or record.sha256):
        # a re-tag asked for clears the record's image hash; with it still there, nothing
        # asked: the file was only touched (its time), or, for a RAW or HEIC, a person
        # edited its sidecar, the photo's metadata phototag wrote: final, never tagged again
        if record.image_sha256 is not None:
            return Change.METADATA_ONLY
        return Change.SAME_BYTES
    if image_sha256 is not None and image_sha256 == record.image_sha256:
        return Change.METADATA_ONLY
    return Change.NEW_PIXELS
