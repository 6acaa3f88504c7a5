"""`sitter gallery add|list|remove`: the operator's own paintings, on a running service (`--server`, an
admin key) or in a local gallery directory (SITTER_GALLERY_DIR) that `sitter blend --painting ID` reads.

Locally, `add` analyses the painting at once (the stylizer's models: faces, figures, spots, style vector),
so it is `ready` or `failed` when the command ends; on a service it is analysed by a worker, and `add`
waits for that unless `--no-wait`.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from shared import gallery
from shared.errors import SitterError
from shared.gallery_dir import DirectoryGalleryStore
from shared.gallery_store import (
    FAILED,
    PENDING,
    READY,
    StoredPainting,
    check_id,
    check_metadata,
)
from shared.imageio import decode_image
from shared.painting_catalog import PaintingCatalog
from shared.settings import Settings

DEFAULT_DIR = Path("~/.local/share/sitter/gallery")
WAIT_SECONDS = 120


def local_store(settings: Settings | None = None) -> DirectoryGalleryStore:
    settings = settings or Settings.from_env()
    return DirectoryGalleryStore((settings.gallery_dir or DEFAULT_DIR).expanduser())


def local_catalog() -> PaintingCatalog:
    """The gallery the in-process commands see: bundled, plus this machine's added paintings."""
    settings = Settings.from_env()
    return PaintingCatalog(local_store(settings), bundled=settings.bundled_gallery)


def _client(args: argparse.Namespace) -> Any:
    from sitter.client import SitterClient

    key = args.api_key or os.environ.get("SITTER_ADMIN_KEY") or os.environ.get("SITTER_API_KEY")
    return SitterClient(args.server, key)


def cmd_gallery_add(args: argparse.Namespace) -> int:
    meta = {"title": args.title, "artist": args.artist, "year": args.year, "licence": args.licence}
    if args.source:
        meta["source"] = args.source
    if args.server:
        client = _client(args)
        item = client.add_painting(Path(args.image), args.id, **meta)
        deadline = time.monotonic() + (0 if args.no_wait else WAIT_SECONDS)
        while item["analysis"] == PENDING and time.monotonic() < deadline:
            time.sleep(1)
            item = client.painting(args.id)
        return _report(item)
    return _report(_add_locally(args, meta))


def _add_locally(args: argparse.Namespace, meta: dict[str, str]) -> dict[str, Any]:
    from sitter.extras import require_extras

    require_extras("sitter gallery add (without --server)", ("stylizer",))
    from services.painting.analysis import PaintingAnalyser
    from services.stylizer.gallery_intake import analyse_added
    from services.stylizer.stylizer import Stylizer
    from shared.settings import model_store

    settings = Settings.from_env()
    store = local_store(settings)
    catalog = PaintingCatalog(store, bundled=True)
    painting_id = check_id(args.id, set(catalog.ids()))
    fields = check_metadata(meta)
    image = Path(args.image).expanduser()
    painting = decode_image(image, max_pixels=settings.max_pixels, what="painting")  # a clear error first
    raw = image.read_bytes()
    size = (painting.shape[1], painting.shape[0])
    stored = StoredPainting.new(painting_id, fields, size, "application/octet-stream", time.time())
    del painting
    store.add(stored, raw)
    models = model_store(args.model_dir)
    try:
        document, thumbnail = analyse_added(
            PaintingAnalyser(models), Stylizer(models), raw, settings.max_pixels
        )
    except SitterError as exc:
        store.fail_analysis(painting_id, stored.version, exc.message)
    else:
        store.finish_analysis(painting_id, stored.version, document, thumbnail)
    return PaintingCatalog(store).find(painting_id).describe()


def _report(item: dict[str, Any]) -> int:
    state = item["analysis"]
    size = f"{item['width']}x{item['height']}"
    print(f"{item['id']}: {item['title']} — {item['artist']}, {item['year']} ({size})")
    if state == READY:
        spots = item.get("spots")
        print("analysis  ready" + (f", {len(spots)} suggested spots" if spots is not None else ""))
        return 0
    if state == FAILED:
        print(f"analysis  failed: {item.get('error', 'no reason given')}")
        return 2
    print("analysis  pending (GET /v1/paintings/{id} shows when it is ready)")
    return 0


def cmd_gallery_list(args: argparse.Namespace) -> int:
    items = _client(args).paintings() if args.server else [i.describe() for i in local_catalog().items()]
    if args.json:
        print(json.dumps(items, indent=2))
        return 0
    for item in items:
        kind = "bundled" if item.get("bundled") else f"added, {item['analysis']}"
        print(f"{item['id']:<32} {item['title']} — {item['artist']}, {item['year']} [{kind}]")
    return 0


def cmd_gallery_remove(args: argparse.Namespace) -> int:
    if args.server:
        _client(args).remove_painting(args.id)
    else:
        if args.id in gallery.paintings():
            from shared.gallery_store import PaintingReadOnlyError

            raise PaintingReadOnlyError(f"{args.id!r} is bundled with Sitter and read-only", field="id")
        local_store().remove(args.id)
    print(f"removed {args.id}")
    return 0


def add_parser(sub: Any) -> None:
    """`sitter gallery ...` on the main parser's subcommands."""
    top = sub.add_parser("gallery", help="add, list or remove your own paintings (locally or on a server)")
    commands = top.add_subparsers(dest="gallery_command", required=True)

    def server_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--server", help="a running Sitter service's URL (default: the local gallery)")
        parser.add_argument("--api-key", help="its admin key (default: SITTER_ADMIN_KEY)")

    add = commands.add_parser("add", help="add a painting: analysed, then offered for jobs")
    add.add_argument("image", help="the painting's image file")
    add.add_argument("--id", required=True, help="a slug such as night-watch (names its URLs and queue)")
    add.add_argument("--title", required=True)
    add.add_argument("--artist", required=True)
    add.add_argument("--year", required=True)
    add.add_argument("--licence", required=True, help="e.g. `public domain`, `CC0`, or your licence")
    add.add_argument("--source", default="", help="where the image comes from")
    add.add_argument("--no-wait", action="store_true", help="with --server: do not wait for the analysis")
    server_options(add)
    add.set_defaults(handler=cmd_gallery_add)

    listing = commands.add_parser("list", help="the gallery: bundled and added paintings")
    listing.add_argument("--json", action="store_true")
    server_options(listing)
    listing.set_defaults(handler=cmd_gallery_list)

    remove = commands.add_parser("remove", help="remove an added painting")
    remove.add_argument("id")
    server_options(remove)
    remove.set_defaults(handler=cmd_gallery_remove)
