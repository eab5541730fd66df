"""Discover stage: list a landing root (local folder or s3://bucket/prefix).

A file's version is its (uri, etag, size): S3's ETag, or `sha256:` and the
SHA-256 of a local file's content. Local files are hashed in the background,
one per core, in the order they will be loaded: the loader waits only for the
tag of the file it is about to compare with the ledger, and the later files
hash while the first ones land.
Discovery lists everything and the ledger decides what is new; there is no
time cursor (an S3 object's LastModified is when its upload started, so a
cursor skips slow multipart uploads).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import BinaryIO

from carestar.contract import ENTITIES, FILE_SUFFIXES


@dataclass(frozen=True)
class SourceFile:
    uri: str
    entity: str
    tag: str | Future[str]  # the version tag, or a local file's hash still being computed
    size: int
    open: Callable[[], BinaryIO]
    modified: datetime | None = None  # S3 LastModified or the local file's mtime (UTC)

    @property
    def etag(self) -> str:
        """The version tag (waits for a local file's hash)."""
        return self.tag if isinstance(self.tag, str) else self.tag.result()

    @property
    def name(self) -> str:
        return self.uri.rsplit("/", 1)[-1]

    @property
    def partition_date(self) -> date | None:
        """The date a path names (dt=2025-01-31, 2025/01/31, year=2025/month=01/day=31), else None."""
        for pattern in _DATE_PATTERNS:
            if match := pattern.search(self.uri):
                try:
                    return date(*(int(g) for g in match.groups()))
                except ValueError:
                    continue
        return None

    @property
    def window_date(self) -> date | None:
        """The date --since/--until compare: the path's partition date, else the object's time."""
        return self.partition_date or (self.modified.date() if self.modified else None)


_DATE_PATTERNS = (
    re.compile(r"year=(\d{4})/month=(\d{1,2})/day=(\d{1,2})(?:/|$)"),
    re.compile(r"(?:^|[/=_.-])(\d{4})-(\d{2})-(\d{2})(?=$|[/._T])"),
    re.compile(r"/(\d{4})/(\d{2})/(\d{2})/"),
)


def in_window(f: SourceFile, since: date | None, until: date | None) -> bool:
    """Is the file's date within [since, until] (both inclusive, either open)? Undated files are out."""
    if since is None and until is None:
        return True
    day = f.window_date
    return day is not None and (since is None or day >= since) and (until is None or day <= until)


@dataclass
class Discovery:
    files: list[SourceFile]
    ignored: list[str]  # paths that are not landing files (wrong suffix or unknown entity)


def _hidden(relative: str) -> bool:
    """Marker and temporary files (`_SUCCESS`, `.part`) are passed over silently."""
    return any(part.startswith(("_", ".")) for part in relative.split("/"))


def _entity_of(relative: str) -> str | None:
    parts = relative.split("/")
    if len(parts) < 2 or not relative.lower().endswith(FILE_SUFFIXES):
        return None
    return parts[0] if parts[0] in ENTITIES else None


def discover(root: str) -> Discovery:
    if root.startswith("s3://"):
        return _discover_s3(root)
    return _discover_local(Path(root))


def _content_tag(path: Path) -> str:
    """A local file's version tag: SHA-256 (CPUs hash it in hardware, 2-3x MD5's speed)."""
    digest = hashlib.sha256()
    buffer = bytearray(1 << 22)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as fh:
        while n := fh.readinto(buffer):
            digest.update(view[:n])  # hashlib releases the GIL: files hash in parallel
    return "sha256:" + digest.hexdigest()


def _discover_local(root: Path) -> Discovery:
    if not root.is_dir():
        raise FileNotFoundError(f"landing root is not a folder: {root}")
    found: list[tuple[Path, str]] = []
    ignored: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for fname in sorted(filenames):
            path = Path(dirpath) / fname
            relative = path.relative_to(root).as_posix()
            if _hidden(relative):
                continue
            entity = _entity_of(relative)
            if entity is None:
                ignored.append(relative)
                continue
            found.append((path, entity))
    found.sort(key=lambda item: _local_uri(item[0]))
    pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="carestar-hash")
    files = [
        SourceFile(
            uri=_local_uri(path),
            entity=entity,
            tag=pool.submit(_content_tag, path),
            size=path.stat().st_size,
            open=lambda p=path: p.open("rb"),
            modified=datetime.fromtimestamp(path.stat().st_mtime, UTC),
        )
        for path, entity in found
    ]
    pool.shutdown(wait=False)  # the submitted hashes run on; the pool takes no more
    return Discovery(files, ignored)


def _local_uri(path: Path) -> str:
    return "file://" + path.resolve().as_posix()


def s3_client():
    """A boto3 S3 client; endpoint from AWS_ENDPOINT_URL, retries and timeouts from botocore."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 10, "mode": "adaptive"}, connect_timeout=10, read_timeout=60)
    return boto3.client("s3", config=config)


def _discover_s3(root: str) -> Discovery:
    bucket, _, prefix = root[len("s3://") :].partition("/")
    prefix = prefix.strip("/")
    client = s3_client()
    files: list[SourceFile] = []
    ignored: list[str] = []
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=f"{prefix}/" if prefix else ""):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            relative = key[len(prefix) + 1 :] if prefix else key
            if _hidden(relative):
                continue
            entity = _entity_of(relative)
            if entity is None:
                ignored.append(relative)
                continue
            files.append(
                SourceFile(
                    uri=f"s3://{bucket}/{key}",
                    entity=entity,
                    tag=obj["ETag"].strip('"'),
                    size=int(obj["Size"]),
                    open=lambda k=key, e=obj["ETag"]: _open_s3(client, bucket, k, e),
                    modified=obj.get("LastModified"),
                )
            )
    files.sort(key=lambda f: f.uri)
    return Discovery(files, ignored)


def _open_s3(client, bucket: str, key: str, etag: str) -> BinaryIO:
    # IfMatch pins the version listed: an object replaced since the listing
    # fails here and is picked up, whole, by the next run.
    body = client.get_object(Bucket=bucket, Key=key, IfMatch=etag)["Body"]
    return body  # a streaming body: read in chunks, never whole
