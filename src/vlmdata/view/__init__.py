"""`vlmdata view`: a local, read-only web page over a dataset (needs the [view] extra: starlette, uvicorn).

    viewer = Viewer.bind("data/naruto", host="127.0.0.1", port=8765)   # opens the dataset, binds the port
    viewer.url -> "http://127.0.0.1:8765/"
    viewer.serve()                                                      # until Ctrl-C

The app (vlmdata.view.app.create_app) reads records on request (vlmdata.view.source), keeps small
per-record arrays and validate's problems built in a background thread (vlmdata.view.index), and with a
model counts tokens and shows label masks through the token-counting plugin (vlmdata.view.tokens).
Nothing here is imported unless `vlmdata view` runs.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from vlmdata.errors import UsageError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class Viewer:
    app: object
    sock: socket.socket
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def loopback(self) -> bool:
        return self.host in LOOPBACK

    @classmethod
    def bind(cls, path, host: str = "127.0.0.1", port: int = 8765, model=None, max_length=None) -> Viewer:
        """Open the dataset (usage errors before anything listens), load the model's counter, bind."""
        try:
            from vlmdata.view.app import create_app
        except ImportError as exc:
            missing = (exc.name or "a module").split(".")[0]
            raise UsageError(
                f"vlmdata view needs the [view] extra ({missing} is missing): pip install 'vlmkit[view]'"
            ) from None
        if max_length is not None and model is None:
            raise UsageError("--max-length needs --model (the token limit applies to that model's counts)")
        counter = None
        if model is not None:
            from vlmdata.view.tokens import TokenCounter

            counter = TokenCounter.load(model, max_length)
        hosts = [host, *LOOPBACK, "[::1]"] if host in LOOPBACK else ["*"]
        # the index waits (at most 3 s) for the first page: a person opening the page comes first
        app = create_app(path, counter, allowed_hosts=hosts, index_delay=3.0)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise UsageError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}; pass another --port"
            ) from None
        sock.listen(128)
        return cls(app, sock, host, sock.getsockname()[1])

    def serve(self) -> None:
        """Serve until interrupted (uvicorn on the socket bound above)."""
        import uvicorn

        server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", access_log=False))
        try:
            server.run(sockets=[self.sock])
        finally:
            self.sock.close()


__all__ = ["Viewer"]
