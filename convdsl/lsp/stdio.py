"""Reading the editor's messages from standard input on the event loop itself.

pygls reads stdin in a thread: every header line and every body is a job for a
thread pool, then a wake-up of the event loop through its self-pipe, four
hand-offs per message, each taking the interpreter lock from the analysis
thread. For a pipe (what an editor gives a language server) asyncio can watch
the descriptor directly; anything it cannot watch (a regular file, /dev/null)
keeps pygls' own reader.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from threading import Event

from pygls.io_ import StdinAsyncReader, StdoutWriter, run_async

log = logging.getLogger(__name__)

# A header line longer than this is not LSP: the stream is out of step, and the server ends (rather than
# buffering whatever a broken client sends). Bodies are read by their Content-Length, whatever their size.
MAX_HEADER_LINE = 64 * 1024


class PipeReader:
    """pygls' reader interface (readline, readexactly) over an asyncio stream."""

    def __init__(self, stream: asyncio.StreamReader):
        self.stream = stream

    async def readline(self) -> bytes:
        try:
            return await self.stream.readline()
        except ValueError:  # a line past the limit
            log.error("a header line longer than %d bytes: not the Language Server Protocol; stopping", MAX_HEADER_LINE)
            return b""

    async def readexactly(self, n: int) -> bytes:
        try:
            return await self.stream.readexactly(n)
        except asyncio.IncompleteReadError:  # the editor went away mid-message: nothing to handle, the end
            return b""


async def _reader(stdin, pool):
    loop = asyncio.get_running_loop()
    stream = asyncio.StreamReader(limit=MAX_HEADER_LINE, loop=loop)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream, loop=loop), stdin)
    except (OSError, ValueError):  # not a pipe, socket or terminal
        return StdinAsyncReader(stdin, pool)
    return PipeReader(stream)


def serve(server, stdin=None, stdout=None) -> None:
    """pygls' start_io (JsonRPCServer._start_io_async), with a pipe read on the event loop."""
    stdin = stdin or sys.stdin.buffer
    server._stop_event = Event()  # pygls' shutdown() sets it
    server.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))

    async def main():
        reader = await _reader(stdin, server.thread_pool)
        await run_async(
            stop_event=server._stop_event,
            reader=reader,
            protocol=server.protocol,
            logger=log,
            error_handler=server.report_server_error,
        )

    try:
        asyncio.run(main())
    except BrokenPipeError:
        log.error("the editor closed the connection; stopping")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()
