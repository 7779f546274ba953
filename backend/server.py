"""Running the API process: services (embedded or external), the app, uvicorn."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import uvicorn

from backend.app import create_app
from backend.runtime import embedded_services
from backend.settings import Settings

__all__ = ["AnnouncingServer", "serve"]


class AnnouncingServer(uvicorn.Server):
    """Announces only once the socket listens, after migrations and the demo seed: whoever
    reads the URL can use it at once."""

    def __init__(self, config: uvicorn.Config, *, announce: Callable[[], None]) -> None:
        super().__init__(config)
        self._announce = announce

    async def startup(self, sockets: list[Any] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._announce()


def serve(settings: Settings, *, demo: bool, announce: Callable[[], None]) -> int:
    """Serve until interrupted; embedded services are stopped on the way out."""
    with embedded_services(settings) as urls:
        app = create_app(
            settings, database_url=urls.database_url, s3_endpoint=urls.s3_endpoint, seed_demo=demo
        )
        config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning")
        server = AnnouncingServer(config, announce=announce)
        # uvicorn shuts down gracefully on SIGINT/SIGTERM and then re-raises the interrupt;
        # a requested stop is a clean exit (the services still stop on the way out).
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
    return 0 if server.started else 1
