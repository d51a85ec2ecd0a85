"""Harmless checkpoint payloads for the trust-policy tests: a pickled object
whose unpickling creates a marker folder, so a test can tell whether a file
was fully unpickled (the marker exists) or refused (it does not)."""
from __future__ import annotations

import contextlib
import functools
import http.server
import os
import threading
from pathlib import Path
from typing import Any, Dict, Iterator

import torch


class Payload:
    """Unpickles as ``os.makedirs(marker, exist_ok=True)``: a global the
    safe unpickler refuses, and whose only effect is the marker folder."""

    def __init__(self, marker: os.PathLike) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return os.makedirs, (self.marker, 0o777, True)


def save_with_payload(checkpoint: Dict[str, Any], path: os.PathLike,
                      marker: os.PathLike) -> str:
    """``torch.save`` ``checkpoint`` with a :class:`Payload` under the
    top-level key ``'payload'`` (ignored by every loader); return the
    path."""
    torch.save(dict(checkpoint, payload=Payload(marker)), path)
    return str(path)


@contextlib.contextmanager
def serve_folder(folder: os.PathLike) -> Iterator[str]:
    """Serve ``folder`` over HTTP on localhost while the block runs; yield
    its base URL (``http://127.0.0.1:PORT``)."""

    class QuietHandler(http.server.SimpleHTTPRequestHandler):

        def log_message(self, *args) -> None:
            pass

    handler = functools.partial(QuietHandler, directory=str(Path(folder)))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{server.server_address[1]}'
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
