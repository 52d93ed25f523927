"""The `feblam` command: subcommands for operators and performance engineers."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="feblam",
        description="FEBLAM: ANPR hit matching against reloadable watchlists.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    normalise = sub.add_parser("normalise", help="normalise raw plate texts and show formats")
    normalise.add_argument("plates", nargs="+", help="raw plate texts")
    normalise.add_argument("--country", default="", help="country of the reads, if known")
    from feblam.bench import cli as bench_cli
    from feblam.service import cli as service_cli
    from feblam.watchlists import cli as watchlist_cli

    bench_cli.add_parser(sub)
    service_cli.add_parsers(sub)
    watchlist_cli.add_parsers(sub)
    return parser


def run_normalise(args: argparse.Namespace) -> int:
    """Shows an operator what FEBLAM makes of raw plate texts: canonical form, formats, readings.

    Meant for people checking a doubtful read by hand, so plates are printed as given.
    """
    from feblam.plates import PlateFormats, normalise_plate

    formats = PlateFormats()
    country = formats.canonical_country(args.country)
    for raw in args.plates:
        text, status = normalise_plate(raw)
        if status.name != "OK":
            print(f"{raw!r}: {status.name}")
            continue
        if country:
            fits = "fits" if formats.fits(text, country) else "does not fit"
            resolved = formats.resolve(text, country)
            reading = f", reads {resolved}" if resolved and resolved != text else ""
            print(f"{raw!r}: {text} ({fits} {country}{reading})")
        else:
            fitting = formats.countries_fitting(text) or ["no known country"]
            print(f"{raw!r}: {text} (fits {', '.join(fitting)})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "bench":
        from feblam.bench import cli as bench_cli

        return bench_cli.run(args)
    if args.command in ("serve", "gateway", "demo"):
        from feblam.service import cli as service_cli

        return service_cli.run(args)
    if args.command in ("watchlist", "zones"):
        from feblam.watchlists import cli as watchlist_cli

        return watchlist_cli.run(args)
    handlers = {"normalise": run_normalise}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
