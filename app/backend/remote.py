"""Remote files named in configs (``_BASE_``, ``MODEL.WEIGHTS``): https only, cached by the full URL, verified.

:func:`fetch` turns a URL into a local file:

- schemes: ``https://`` and ``detectron2://NAME`` (detectron2's model zoo, fetched from
  :data:`DETECTRON2_PREFIX`); anything else (``http://``, ``file://``, ``s3://`` ...) is
  refused, and so is a redirect to anything but https;
- cache: ``user_cache_dir()/downloads/<first 24 hex digits of sha256(URL)>/<file name>``,
  so two hosts' ``.../model.pkl`` never share a cached file; a download lands there
  atomically (:func:`~app.backend.atomic_write.atomic_write`), so a killed download never
  leaves a file that looks complete;
- verification: a download must deliver its ``Content-Length`` and stay under
  ``max_bytes``; a SHA-256 given in the URL's fragment (``...#sha256=HEX``, pip's
  convention) or in the file name (``name-HEX8.pth``, torch.hub's convention, 8 to 64 hex
  digits) is checked on download and on every later use of the cached file. detectron2
  publishes no checksum for its model zoo (the 6 hex digits of ``model_final_xxxxxx.pkl``
  name a commit, not a hash), so those files are checked by ``check`` only (the caller
  loads them as weights before they enter the cache).

A failure is one :class:`~app.backend.errors.DownloadError` line naming the URL and the reason.
"""

from __future__ import annotations

import hashlib
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from app.backend.atomic_write import atomic_write, ensure_dir
from app.backend.errors import DownloadError, UserFacingError
from app.backend.paths import user_cache_dir

DETECTRON2_PREFIX = "https://dl.fbaipublicfiles.com/detectron2/"
ALLOWED_SCHEMES = ("https", "detectron2")
#: Largest file fetched unless the caller says otherwise.
MAX_DOWNLOAD_BYTES = 2 * 1024**3
TIMEOUT_S = 30.0
_CHUNK = 1 << 20
_FRAGMENT_SHA = re.compile(r"^sha256=([0-9a-fA-F]{64})$")
_NAME_SHA = re.compile(r"-([0-9a-f]{8,64})\.[A-Za-z0-9]+$")


def is_url(value: str) -> bool:
    """True for anything of the form ``scheme://...`` (allowed or not)."""
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", str(value)))


def https_url(url: str) -> str:
    """The https URL that ``url`` is fetched from (fragment dropped); DownloadError for other schemes."""
    scheme = url.split("://", 1)[0].lower()
    if scheme not in ALLOWED_SCHEMES:
        raise DownloadError(f"refusing to fetch {_short(url)}: only https:// and detectron2:// URLs are allowed")
    rest = url.split("://", 1)[1].split("#", 1)[0]
    if not rest:
        raise DownloadError(f"refusing to fetch {_short(url)}: no host or name")
    return DETECTRON2_PREFIX + rest.lstrip("/") if scheme == "detectron2" else "https://" + rest


def expected_sha256(url: str) -> str | None:
    """The SHA-256 (or its leading hex digits) ``url`` names in its fragment or file name, lower case; else None."""
    if "#" in url:
        m = _FRAGMENT_SHA.match(url.split("#", 1)[1])
        if m:
            return m.group(1).lower()
    m = _NAME_SHA.search(url.split("#", 1)[0].rsplit("/", 1)[-1])
    return m.group(1) if m else None


def cache_path(url: str) -> Path:
    """Where ``url`` is cached: a folder per full URL (scheme, host, path, query), then its file name."""
    key = hashlib.sha256(url.split("#", 1)[0].encode("utf-8")).hexdigest()[:24]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", url.split("#", 1)[0].split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1])
    return user_cache_dir() / "downloads" / key / (name.lstrip(".") or "download")


def fetch(
    url: str, *, max_bytes: int = MAX_DOWNLOAD_BYTES, check: Callable[[Path], object] | None = None, timeout: float = TIMEOUT_S
) -> Path:
    """The local file of ``url``: from the cache, else downloaded into it (see the module docstring).

    Args:
        max_bytes: a larger file (declared or delivered) is refused.
        check: called with the complete download before it enters the cache (e.g. "loads as
            weights"); a UserFacingError from it becomes a DownloadError.

    Raises:
        DownloadError: refused scheme or redirect, network or HTTP error, size, checksum or ``check`` failure.
    """
    source = https_url(url)
    want = expected_sha256(url)
    path = cache_path(url)
    if path.is_file():
        if want is None or _sha256(path).startswith(want):
            return path
        os.unlink(path)  # a damaged or replaced cache entry: fetch it again
    ensure_dir(path.parent)
    try:
        atomic_write(path, lambda f: _download(source, f, max_bytes, timeout), check=lambda tmp: _verify(url, tmp, want, check))
    except DownloadError:
        raise
    except UserFacingError as exc:
        raise DownloadError(f"cannot use {_short(url)}: {exc}") from None
    return path


class _HttpsOnly(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not newurl.lower().startswith("https://"):
            raise DownloadError(f"refusing a redirect of {_short(req.full_url)} to {_short(newurl)} (https only)")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _download(source: str, out: BinaryIO, max_bytes: int, timeout: float) -> None:
    opener = urllib.request.build_opener(_HttpsOnly)
    request = urllib.request.Request(source, headers={"User-Agent": "wifi-densepose-studio"})
    try:
        with opener.open(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            declared = int(declared) if declared and declared.isdigit() else None
            if declared is not None and declared > max_bytes:
                raise DownloadError(f"cannot download {_short(source)}: {declared} bytes, more than the {max_bytes} allowed")
            got = 0
            while chunk := response.read(_CHUNK):
                got += len(chunk)
                if got > max_bytes:
                    raise DownloadError(f"cannot download {_short(source)}: more than the {max_bytes} bytes allowed")
                out.write(chunk)
    except DownloadError:
        raise
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"cannot download {_short(source)}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = getattr(exc.reason, "strerror", None) or str(exc.reason)
        raise DownloadError(f"cannot download {_short(source)}: {reason}") from None
    except (OSError, ValueError) as exc:  # timeouts, resets, malformed responses
        raise DownloadError(f"cannot download {_short(source)}: {getattr(exc, 'strerror', None) or exc}") from None
    if declared is not None and got != declared:
        raise DownloadError(f"cannot download {_short(source)}: got {got} of {declared} bytes")


def _verify(url: str, tmp: Path, want: str | None, check: Callable[[Path], object] | None) -> None:
    if want is not None:
        got = _sha256(tmp)
        if not got.startswith(want):
            raise DownloadError(f"{_short(url)}: SHA-256 {got[:len(want)]} does not match the expected {want}")
    if check is not None:
        check(tmp)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _short(url: str) -> str:
    """A URL for messages: printable, at most 200 characters."""
    text = "".join(c if c.isprintable() else "?" for c in str(url))
    return text if len(text) <= 200 else text[:197] + "..."
