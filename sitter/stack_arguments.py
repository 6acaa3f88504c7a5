"""The options of `sitter up` (= `python -m sitter.stack`), apart from the stack itself.

Only the standard library is imported here: `sitter --help` builds every command's parser, and on a base
install (`pip install .`) the stack's own modules (redis, celery) are not there to import.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The stack's options, shared by `python -m sitter.stack` and `sitter up`. Defaults come from the
    environment when the stack starts (`sitter.stack.serve`), so building a parser never reads Settings."""
    parser.add_argument("--styles", help="styles the stylizer serves (default all)")
    parser.add_argument("--port", type=int, help="gateway port (default SITTER_PORT or 8000)")
    parser.add_argument(
        "--broker",
        choices=("redis", "rabbitmq"),
        help="where the task queues live (default: rabbitmq when SITTER_BROKER_URL is amqp://, else redis)",
    )
