"""The command line: the only module that touches argv, files, streams and exit codes.

Exit codes: 0 no errors (warnings allowed), 1 errors found, 2 usage error or
unreadable file, 3 an internal error (a bug in convdsl; please report it).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from . import __version__
from .diagnostics import Severity
from .lower import Limits

EXIT_OK, EXIT_ERRORS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _limits(args) -> Limits:
    return Limits(max_layers=args.max_layers, max_depth=args.max_depth, max_include_depth=args.max_include_depth)


def _add_common(parser):
    parser.add_argument("--strict", action="store_true",
                        help="every rounded output size is an error, even where only padding is dropped")
    limits = parser.add_argument_group("limits")
    defaults = Limits()
    limits.add_argument("--max-layers", type=int, default=defaults.max_layers, metavar="N",
                        help=f"most layers after blocks and repeats are expanded (default {defaults.max_layers:,})")
    limits.add_argument("--max-depth", type=int, default=defaults.max_depth, metavar="N",
                        help=f"deepest nesting of blocks and groups (default {defaults.max_depth})")
    limits.add_argument("--max-include-depth", type=int, default=defaults.max_include_depth, metavar="N",
                        help=f"deepest chain of includes (default {defaults.max_include_depth})")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="convdsl", description="Check, summarise, draw and export neural-network descriptions.")
    parser.add_argument("--version", action="version", version=f"convdsl {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    check = commands.add_parser("check", help="report every mistake in one or more files")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--format", choices=("text", "concise", "json", "github"), default="text",
                       help="text (default: source line and caret), concise (one line each), json, github "
                            "(GitHub Actions annotations)")
    check.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    _add_common(check)

    summary = commands.add_parser("summary", help="a table of shapes, parameters, MACs and receptive fields")
    summary.add_argument("file", metavar="FILE")
    summary.add_argument("--format", choices=("table", "json"), default="table")
    _add_common(summary)

    sizes = commands.add_parser("sizes", help="which input sizes pass through the network without losing rows")
    sizes.add_argument("file", metavar="FILE")
    sizes.add_argument("--max", type=int, default=1024, metavar="N",
                       help="sweep every size from 1 to N on each spatial axis (default 1024)")
    sizes.add_argument("--format", choices=("text", "json"), default="text")
    _add_common(sizes)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return {"check": _check, "summary": _summary, "sizes": _sizes}[args.command](args)
    except SystemExit as exit_:
        return int(exit_.code or 0) if isinstance(exit_.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as err:  # noqa: BLE001 - a bug must not show users a traceback
        if os.environ.get("CONVDSL_DEBUG"):
            raise
        print(f"convdsl: internal error: {type(err).__name__}: {err}\n"
              "this is a bug in convdsl; set CONVDSL_DEBUG=1 for the traceback and please report it",
              file=sys.stderr)
        return EXIT_INTERNAL


def _use_color(choice: str, stream) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return hasattr(stream, "isatty") and stream.isatty()


def _load(path: str, args):
    from .network import load
    return load(path, limits=_limits(args))


def _unreadable(network) -> bool:
    return not network.sources and any(d.code.code == "E001" for d in network.diagnostics)


def _check(args) -> int:
    from . import report

    color = _use_color(args.color, sys.stdout)
    results = []
    worst = EXIT_OK
    for path in args.files:
        network = _load(path, args)
        if _unreadable(network):
            diagnostics = network.diagnostics
            worst = EXIT_USAGE
        else:
            diagnostics = network.analyze(strict=args.strict).diagnostics
            if any(d.is_error for d in diagnostics) and worst == EXIT_OK:
                worst = EXIT_ERRORS
        results.append((path, network, diagnostics))
    out = sys.stdout
    if args.format == "json":
        files = [{"path": path, "network": net.name, "diagnostics": [report.as_json(d, path) for d in diags]}
                 for path, net, diags in results]
        every = [d for _, _, diags in results for d in diags]
        json.dump({"files": files, "errors": sum(d.level is Severity.ERROR for d in every),
                   "warnings": sum(d.level is Severity.WARNING for d in every)}, out, indent=2)
        out.write("\n")
        return worst
    for path, network, diagnostics in results:
        for diag in diagnostics:
            if args.format == "text":
                out.write(report.text(diag, network.sources, color=color) + "\n\n")
            elif args.format == "concise":
                out.write(report.concise(diag) + "\n")
            else:
                out.write(report.github(diag, path) + "\n")
    if args.format in ("text", "concise"):
        every = [d for _, _, diags in results for d in diags]
        checked = f"{len(results)} file{'s' if len(results) != 1 else ''}"
        tally = report.tally(every)
        print(f"checked {checked}: {tally}" if tally else f"checked {checked}: no problems", file=sys.stderr)
    return worst


def _summary(args) -> int:
    from .summary import table, to_json
    from . import report

    network = _load(args.file, args)
    if _unreadable(network):
        for diag in network.diagnostics:
            print(report.text(diag, network.sources), file=sys.stderr)
        return EXIT_USAGE
    analysis = network.analyze(strict=args.strict)
    if args.format == "json":
        json.dump(to_json(analysis), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(table(analysis))
        color = _use_color("auto", sys.stderr)
        for diag in analysis.diagnostics:
            print("\n" + report.text(diag, network.sources, color=color), file=sys.stderr)
    return EXIT_ERRORS if analysis.has_errors else EXIT_OK


def _sizes(args) -> int:
    from . import report, sizes_format
    from .sizes import analyze_sizes

    if not 1 <= args.max <= 1_000_000:
        print(f"convdsl sizes: error: --max must be from 1 to 1,000,000, got {args.max}", file=sys.stderr)
        return EXIT_USAGE
    network = _load(args.file, args)
    if _unreadable(network):
        for diag in network.diagnostics:
            print(report.text(diag, network.sources), file=sys.stderr)
        return EXIT_USAGE
    if network.has_errors:
        for diag in network.diagnostics:
            print(report.text(diag, network.sources), file=sys.stderr)
    result = analyze_sizes(network, strict=args.strict, limit=args.max)
    if args.format == "json":
        json.dump(sizes_format.to_json(result), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(sizes_format.text(result))
    failed = result.problem or any(
        axis.declared_failure is not None or not axis.valid for axis in result.axes)
    return EXIT_ERRORS if failed else EXIT_OK
