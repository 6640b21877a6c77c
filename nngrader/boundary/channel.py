"""Framed I/O with one worker: the request pipe, the reply pipe, and the pipe of what student
code prints (drained whenever we wait, so a worker blocked on printing never blocks us; only
the last `max_output` bytes are kept). Every wait has a deadline."""
import os
import select
import time

from nngrader.boundary.lending import LOOK_EVERY
from nngrader.core.protocol import HEADER

READ_AHEAD = 1 << 16        # bytes asked of the reply pipe at least, when it has some


class Channel:
    def __init__(self, req_w, rep_r, out_r, max_output):
        self.req_w, self.rep_r, self.out_r = req_w, rep_r, out_r
        self.max_output = max_output
        for fd in (req_w, out_r):
            os.set_blocking(fd, False)
        self._out = bytearray()         # the last max_output bytes printed
        self._out_total = 0             # bytes printed since the worker started
        self._out_mark = 0              # _out_total when the current request was sent
        self._in = bytearray()          # reply bytes read from the pipe and not yet taken

    def send(self, data, deadline):
        """One frame of `data`; TimeoutError past the deadline, BrokenPipeError if the worker is gone."""
        self._out_mark = self._out_total
        self._write(HEADER.pack(len(data)) + data, deadline)

    def receive_header(self, deadline, look=None):
        (n,) = HEADER.unpack(self.read(HEADER.size, deadline, look))
        return n

    def _write(self, data, deadline):
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            watch = [self.out_r] if self.out_r is not None else []
            printed, ready, _ = select.select(watch, [self.req_w], [], left)
            if printed:                 # a worker blocked on printing must not block us
                self.drain(1 << 16)
            if not ready:
                continue
            try:
                view = view[os.write(self.req_w, view):]
            except BlockingIOError:
                continue
            except OSError:
                raise BrokenPipeError from None

    def read(self, n, deadline, look=None):
        """Exactly n bytes of the reply pipe; TimeoutError past the deadline, EOFError at its end.
        What the pipe holds beyond them (the rest of a reply, the next replies of a batch) is kept
        for the next reads: one system call takes what arrived together. `look()`, if given, is
        called every `lending.LOOK_EVERY` s while nothing arrives (a `lending.Wait`)."""
        while len(self._in) < n:
            # past the deadline, what has already arrived is still read: only a reply that is
            # not there is late (a pause of this process is not the worker's time)
            left = max(0.0, deadline - time.monotonic())
            watch = [self.rep_r] + ([self.out_r] if self.out_r is not None else [])
            ready, _, _ = select.select(watch, [], [], left if look is None else min(left, LOOK_EVERY))
            if self.out_r is not None and self.out_r in ready:
                self.drain(1 << 16)
            if self.rep_r not in ready:
                if left <= 0:
                    raise TimeoutError
                if look is not None and not ready:
                    look()
                continue
            chunk = os.read(self.rep_r, min(max(n - len(self._in), READ_AHEAD), 1 << 20))
            if not chunk:
                raise EOFError
            self._in += chunk
        data = bytes(self._in[:n])
        del self._in[:n]
        return data

    def drain(self, at_most=0):
        """Move what the worker printed from the pipe into the kept tail (0: all there is now)."""
        got = 0
        while self.out_r is not None and (at_most == 0 or got < at_most):
            try:
                chunk = os.read(self.out_r, 1 << 16)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:               # every writer is gone
                os.close(self.out_r)
                self.out_r = None
                return
            got += len(chunk)
            self._out_total += len(chunk)
            self._out += chunk
            excess = len(self._out) - self.max_output
            if excess > 0:
                del self._out[:excess]

    def output_since_request(self):
        """What student code printed since the current request was sent (its last part)."""
        new = self._out_total - self._out_mark
        kept = bytes(self._out[-new:]) if new else b""
        text = kept.decode("utf-8", errors="replace")
        if new > len(kept):
            text = f"[... {new - len(kept)} earlier bytes not kept]\n" + text
        return text

    def output_tail(self):
        """The last max_output bytes of everything student code printed."""
        self.drain(0)
        return bytes(self._out).decode("utf-8", errors="replace")

    def close(self):
        for name in ("req_w", "rep_r", "out_r"):
            fd = getattr(self, name)
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
            setattr(self, name, None)
