"""Development server: `python -m gateway` (port from SITTER_PORT); production runs gunicorn."""

from __future__ import annotations

from gateway.app import create_app
from shared.settings import Settings


def main() -> None:
    settings = Settings.from_env()
    create_app(settings).run(host="0.0.0.0", port=settings.port, threaded=True)


if __name__ == "__main__":
    main()
