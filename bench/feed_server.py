"""The loopback feed server of the polling benchmarks: /feed/N.xml on several 127.0.0.x hosts, one port, in its own
process (asyncio, HTTP/1.1 keep-alive), 200 with an ETag or 304 when If-None-Match matches."""

from __future__ import annotations

import asyncio
import multiprocessing
import sys


def serve_feeds(
    hosts: list[str],
    bodies: list[bytes],
    ready: multiprocessing.Queue[int],
    *,
    content_type: str = "application/rss+xml",
    headers: str = "",
    headers_200: str = "",
) -> None:
    """Serve `bodies[N]` at /feed/N.xml until killed; puts the port on `ready` once listening. `headers` (CRLF-ended
    lines) go on every response, `headers_200` only on full ones (e.g. Content-Encoding)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                request_line, *header_lines = head.split("\r\n")
                request_headers = {}
                for line in header_lines:
                    name, _, value = line.partition(":")
                    request_headers[name.strip().lower()] = value.strip()
                feed = int(request_line.split(" ")[1].rsplit("/", 1)[1].split(".")[0])
                etag = f'"feed-{feed}-v1"'
                if request_headers.get("if-none-match") == etag:
                    writer.write(f"HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\n{headers}\r\n".encode())
                else:
                    body = bodies[feed]
                    writer.write(
                        f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nETag: {etag}\r\n{headers}{headers_200}"
                        f"Content-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception as error:
            print(f"server: {error!r}", file=sys.stderr)
        finally:
            writer.close()

    async def run() -> None:
        first = await asyncio.start_server(handle, hosts[0], 0, backlog=1024)
        port = first.sockets[0].getsockname()[1]
        others = [await asyncio.start_server(handle, host, port, backlog=1024) for host in hosts[1:]]
        ready.put(port)
        await asyncio.gather(*(server.serve_forever() for server in [first, *others]))

    asyncio.run(run())
