"""Bounded decoding of HTTP response bodies: Content-Encoding (gzip, deflate) undone by hand with a cap on the
*decoded* size, so a compression bomb or an endless stream never holds much more memory than the cap."""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from functools import partial

from flows.fetch.errors import BodyTooLarge, UndecodableBody

# Codings newsmon advertises in Accept-Encoding; anything else a server sends is refused rather than passed on raw.
ACCEPT_ENCODING = "gzip, deflate"
MAX_STACKED_ENCODINGS = 2
_STEP = 64 * 1024  # most decoded bytes produced per zlib call: bounds the memory one step can take
_ALIASES = {"gzip": "gzip", "x-gzip": "gzip", "deflate": "deflate"}
_PREFIX_KEPT = 4096  # input kept until the first output, to retry "deflate" as raw deflate

Sink = Callable[[bytes], None]


def parse_content_encoding(header: str | None) -> list[str]:
    """The codings applied to a body, in the order the server applied them (identity left out).

    Refuses unknown codings and more than MAX_STACKED_ENCODINGS layers (`gzip, gzip, gzip, ...`).
    """
    if not header:
        return []
    codings: list[str] = []
    for token in header.split(","):
        name = token.strip().lower()
        if not name or name == "identity":
            continue
        if name not in _ALIASES:
            raise UndecodableBody(f"unsupported content-encoding: {name[:20]}")
        codings.append(_ALIASES[name])
        if len(codings) > MAX_STACKED_ENCODINGS:
            raise UndecodableBody("too many content-encodings")
    return codings


class _Inflater:
    """One gzip or deflate layer, producing at most _STEP bytes per zlib call."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # zlib or gzip header, detected
        self._produced = False
        self._raw = False
        self._prefix = b""

    def run(self, data: bytes, sink: Sink) -> None:
        if not self._produced and len(self._prefix) < _PREFIX_KEPT:
            self._prefix += data
        try:
            self._inflate(data, sink)
        except zlib.error:
            if self._coding != "deflate" or self._produced or self._raw:
                raise UndecodableBody(f"corrupt {self._coding} data") from None
            # RFC 9110 8.4.1.2 says "deflate" is zlib-wrapped, but some servers send raw deflate: retry as that.
            self._raw = True
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            try:
                self._inflate(self._prefix, sink)
            except zlib.error:
                raise UndecodableBody("corrupt deflate data") from None

    def _inflate(self, data: bytes, sink: Sink) -> None:
        while data:
            if self._inflater.eof:
                if self._coding == "gzip" and data[:2] == b"\x1f\x8b":
                    self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)  # next member of a multi-member gzip
                else:
                    return  # bytes after the end of the stream are ignored, as browsers do
            out = self._inflater.decompress(data, _STEP)
            if out:
                self._produced = True
                sink(out)
            data = self._inflater.unused_data if self._inflater.eof else self._inflater.unconsumed_tail

    def finish(self, sink: Sink) -> None:
        try:
            out = self._inflater.flush()
        except zlib.error:
            raise UndecodableBody(f"corrupt {self._coding} data") from None
        if out:
            sink(out)


class BoundedDecoder:
    """Feeds raw body chunks through the body's codings and keeps at most `max_bytes` decoded bytes."""

    def __init__(self, content_encoding: str | None, max_bytes: int) -> None:
        self._layers = [_Inflater(coding) for coding in reversed(parse_content_encoding(content_encoding))]
        self._max_bytes = max_bytes
        self._buffer = io.BytesIO()
        self._size = 0

    @property
    def identity(self) -> bool:
        """True when the body is not encoded (its raw size is its decoded size)."""
        return not self._layers

    def feed(self, chunk: bytes) -> None:
        """Decode one raw chunk; raises BodyTooLarge as soon as the decoded total passes the cap."""
        self._push(0, chunk)

    def finish(self) -> bytes:
        """Flush every layer and return the decoded body."""
        for index, layer in enumerate(self._layers):
            layer.finish(partial(self._push, index + 1))
        return self._buffer.getvalue()

    def _push(self, index: int, data: bytes) -> None:
        if index == len(self._layers):
            self._size += len(data)
            if self._size > self._max_bytes:
                raise BodyTooLarge(f"more than {self._max_bytes} decoded bytes")
            self._buffer.write(data)
            return
        self._layers[index].run(data, partial(self._push, index + 1))
