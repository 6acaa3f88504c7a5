"""Development server: `python -m gateway` (port from SITTER_PORT); production runs gunicorn.

Without API keys anyone who reaches the port can submit jobs and read every result, so keyless
development mode listens on loopback only; with SITTER_API_KEYS set it listens on all interfaces.
"""

from __future__ import annotations

from gateway.app import create_app
from shared.settings import Settings


def main() -> None:
    settings = Settings.from_env()
    host = "0.0.0.0" if settings.api_keys else "127.0.0.1"
    create_app(settings).run(host=host, port=settings.port, threaded=True)


if __name__ == "__main__":
    main()
