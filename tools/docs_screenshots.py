"""Make the docs' screenshots (docs/screenshots/console-*.png) from the browser tests' artefacts: the end-to-end
round (services/console/tests/test_round_e2e.py) saves every page at 1280 px under var/screenshots/; this keeps
the first screen of the main pages and quantises it with Pillow so that each file stays under 150 KB.

    .venv/bin/pytest services/console/tests/test_round_e2e.py && .venv/bin/python tools/docs_screenshots.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
# docs name → the end-to-end test's screenshot (e2e-<step>.png)
SHOTS = {
    "console-public-registry.png": "e2e-14a-public-registry.png",
    "console-public-progress.png": "e2e-14b-public-progress.png",
    "console-applicant-dossier.png": "e2e-03-applicant-dossier.png",
    "console-applicant-self-check.png": "e2e-05-applicant-self-check.png",
    "console-official-queue.png": "e2e-06-county-queue.png",
    "console-official-case.png": "e2e-06-county.png",
    "console-province-decisions.png": "e2e-11a-province-decision-list.png",
    "console-expert-scoring.png": "e2e-10-expert-scoring.png",
    "console-public-objection.png": "e2e-11b-public-objection.png",
}
WIDTH, HEIGHT = 1280, 900  # the browser's viewport: the first screen a person sees
MAX_BYTES = 150_000
PALETTES = (128, 64, 32, 16)  # fewer colours until the file is small enough (text stays legible at 16)


def shrink(source: Path, target: Path) -> int:
    """The first screen of ``source``, quantised, written to ``target``; its size in bytes."""
    with Image.open(source) as image:
        if image.width != WIDTH:
            raise SystemExit(f"{source.name} is {image.width} px wide, not {WIDTH}")
        screen = image.convert("RGB").crop((0, 0, WIDTH, min(HEIGHT, image.height)))
    for colours in PALETTES:
        screen.quantize(colours).save(target, optimize=True)
        if (size := target.stat().st_size) <= MAX_BYTES:
            return size
    raise SystemExit(f"{target.name} is still {size} bytes with {PALETTES[-1]} colours")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--source", type=Path, default=ROOT / "var" / "screenshots")
    parser.add_argument("--target", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    missing = [name for name in SHOTS.values() if not (args.source / name).exists()]
    if missing:
        print(f"missing in {args.source}: {', '.join(missing)} (run the end-to-end browser test first)",
              file=sys.stderr)
        return 1
    args.target.mkdir(parents=True, exist_ok=True)
    for name, source in SHOTS.items():
        print(f"{name}: {shrink(args.source / source, args.target / name):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
