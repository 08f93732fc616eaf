"""The command line: the only module that touches argv, files, streams and exit codes.

Exit codes: 0 no errors (warnings allowed), 1 errors found, 2 usage error or
unreadable file, 3 an internal error (a bug in convdsl; please report it).
"""

from __future__ import annotations

import argparse
import os
import sys

from . import __version__
from .diagnostics import Severity
from .model import Limits

EXIT_OK, EXIT_ERRORS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _limits(args) -> Limits:
    return Limits(
        max_layers=args.max_layers,
        max_depth=args.max_depth,
        max_include_depth=args.max_include_depth,
        include_path=tuple(args.include_path or ()),
    )


def _positive(text: str) -> int:
    """A limit: a whole number of at least 1 (argparse turns the ValueError into a usage error)."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


_positive.__name__ = "positive integer"  # argparse names the type in its message


def _add_common(parser):
    parser.add_argument(
        "--strict",
        action="store_true",
        help="every rounded output size is an error, even where only padding is dropped",
    )
    limits = parser.add_argument_group("limits")
    defaults = Limits()
    limits.add_argument(
        "--max-layers",
        type=_positive,
        default=defaults.max_layers,
        metavar="N",
        help=f"most layers after blocks and repeats are expanded (default {defaults.max_layers:,})",
    )
    limits.add_argument(
        "--max-depth",
        type=_positive,
        default=defaults.max_depth,
        metavar="N",
        help=f"deepest nesting of blocks and groups (default {defaults.max_depth})",
    )
    limits.add_argument(
        "--max-include-depth",
        type=_positive,
        default=defaults.max_include_depth,
        metavar="N",
        help=f"deepest chain of includes (default {defaults.max_include_depth})",
    )
    parser.add_argument(
        "--scale",
        metavar="S",
        help="an ultralytics model YAML: the scale to build (n, s, m, l, x); default: the letter in the file's "
        "name as ultralytics reads it (yolov8n.yaml is n), else the file's first",
    )
    parser.add_argument(
        "--include-path",
        action="append",
        metavar="DIR",
        help="a folder outside the project that includes may read (and are looked for in); may be given more than once",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="convdsl", description="Check, summarise, draw and export neural-network descriptions.")
    parser.add_argument("--version", action="version", version=f"convdsl {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    check = commands.add_parser("check", help="report every mistake in one or more files")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument(
        "--format",
        choices=("text", "concise", "json", "github"),
        default="text",
        help="text (default: source line and caret), concise (one line each), json, github "
        "(GitHub Actions annotations)",
    )
    check.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    check.add_argument(
        "--select",
        default="",
        metavar="CODES",
        help="report only these codes, names or code prefixes, comma-separated (e.g. E,W101); "
        "replaces `select` of [tool.convdsl] in pyproject.toml",
    )
    check.add_argument(
        "--fix",
        action="store_true",
        help="apply the first fix each diagnostic offers (the one its help names first), then report what is left",
    )
    check.add_argument(
        "--ignore",
        default="",
        metavar="CODES",
        help="do not report these codes, names or prefixes (e.g. W101,unused-tensor); "
        "added to `ignore` of [tool.convdsl]",
    )
    check.add_argument(
        "--dependents",
        action="store_true",
        help="also check every .cdsl file under the current directory that includes one of FILE, "
        "directly or through others (what the pre-commit hook does)",
    )
    _add_common(check)

    summary = commands.add_parser("summary", help="a table of shapes, parameters, MACs and receptive fields")
    summary.add_argument("file", metavar="FILE")
    summary.add_argument("--format", choices=("table", "json"), default="table")
    _add_common(summary)

    sizes = commands.add_parser("sizes", help="which input sizes pass through the network without losing rows")
    sizes.add_argument("file", metavar="FILE")
    sizes.add_argument(
        "--max",
        type=int,
        default=1024,
        metavar="N",
        help="sweep every size from 1 to N on each spatial axis (default 1024)",
    )
    sizes.add_argument("--format", choices=("text", "json"), default="text")
    _add_common(sizes)

    # the render registry is plain data: reading it imports no writer
    from .render.registry import DIRECTIONS, FORMATS, LAYOUTS, STYLES

    render = commands.add_parser(
        "render", help="draw the network as a figure: " + ", ".join(fmt.name.upper() for fmt in FORMATS.values())
    )
    render.add_argument("file", metavar="FILE")
    extensions = ", ".join(ext for fmt in FORMATS.values() for ext in fmt.extensions)
    render.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help=f"the file to write, in the format its extension names ({extensions}); `-` writes to standard output",
    )
    render.add_argument("--format", choices=tuple(FORMATS), help="the format, whatever OUT's extension")
    render.add_argument(
        "--style",
        choices=tuple(STYLES),
        default="default",
        help="; ".join(f"{style.name}: {style.description}" for style in STYLES.values()),
    )
    render.add_argument(
        "--direction",
        choices=DIRECTIONS,
        default="TB",
        type=str.upper,
        help="TB: top to bottom (default); LR: left to right",
    )
    render.add_argument(
        "--collapse", action="store_true", help="draw each block instance, and each repeat, as one box with its totals"
    )
    render.add_argument(
        "--depth", type=int, metavar="N", help="open N levels of blocks and labelled groups and fold the deeper ones"
    )
    render.add_argument(
        "--layout",
        choices=LAYOUTS,
        default="auto",
        type=str.lower,
        help="auto (default): an encoder-decoder network as a U, a long one cut into columns; "
        "columns: never a U; unet: a U, the encoder down and the decoder up beside it",
    )
    render.add_argument(
        "--label",
        metavar="TEMPLATE",
        help="what each box says, in every style: fields {kind} {name} {out} {in} {params} {macs}, "
        '\\n for a new line; e.g. "{kind}\\n{out} · {macs}"',
    )
    _add_common(render)

    export = commands.add_parser("export", help="write the network as a PyTorch module (Python source)")
    export.add_argument("file", metavar="FILE")
    export.add_argument("--to", choices=("pytorch",), default="pytorch", help="the framework (default pytorch)")
    export.add_argument(
        "-o",
        "--output",
        default="-",
        metavar="OUT",
        help="the .py file to write; `-` (the default) writes to standard output",
    )
    _add_common(export)

    verify = commands.add_parser(
        "verify", help="run the PyTorch export and compare it with convdsl, layer by layer (needs torch)"
    )
    verify.add_argument("file", metavar="FILE")
    verify.add_argument("--batch", type=int, metavar="N", help="the batch to run (default: the input's, else 1)")
    verify.add_argument(
        "--device",
        default="cpu",
        metavar="DEVICE",
        help="cpu (default), cuda, or meta: shapes and counts only, without computing",
    )
    verify.add_argument(
        "--size",
        action="append",
        default=[],
        metavar="NAME=N",
        help="a number for a symbolic input size (`--size H=224 --size W=320`), to run the model at",
    )
    _add_common(verify)

    imp = commands.add_parser(
        "import",
        help="translate an ultralytics YAML, Darknet .cfg, Caffe .prototxt, ONNX model or PyTorch model "
        "(file.py:factory, package.module:factory) into an equivalent .cdsl file",
        description="Translate a model into .cdsl. SOURCE is a foreign file (.yaml, .cfg, .prototxt, .onnx) or a "
        "PyTorch model as `path/to/file.py:factory` or `package.module:factory`, a callable that returns an "
        "nn.Module when called with no arguments. Importing a PyTorch model RUNS ITS CODE: the file or module is "
        "imported and the factory called, as `python` would; import only code you trust. Every other command "
        "(check, summary, render, ...) reads data only and never runs code.",
    )
    imp.add_argument("file", metavar="SOURCE")
    imp.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="C x H x W",
        help="the sizes of one input without the batch (`3x224x224`; `1024, dtype=long` for token ids), one per "
        "input of forward in order; needed for a PyTorch model, and for an ONNX file without static input shapes",
    )
    imp.add_argument(
        "--allow-opaque",
        action="store_true",
        help="keep a module or operator convdsl has no layer kind for as an `opaque` layer with its traced shape "
        "and parameter count (export refuses it) instead of stopping",
    )
    imp.add_argument(
        "-o",
        "--output",
        default="-",
        metavar="OUT",
        help="the .cdsl file to write; `-` (the default) writes to standard output",
    )
    _add_common(imp)

    commands.add_parser(
        "lsp", help="run the language server (LSP over stdin and stdout) for editors; needs pip install 'convdsl[lsp]'"
    )

    fmt = commands.add_parser("fmt", help="rewrite files in the canonical layout (comments and meaning kept)")
    fmt.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="files, or directories to search for .cdsl files; `-` reads standard input and "
        "writes the result to standard output",
    )
    fmt.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file would change")
    fmt.add_argument(
        "--diff",
        action="store_true",
        help="write nothing; print a unified diff of each change and exit 1 if a file would change",
    )
    fmt.add_argument(
        "--line-length",
        type=_positive,
        default=100,
        metavar="N",
        help="the width chains are broken at (default 100, at least 20)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (_safe_stream(stream) for stream in streams)
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = streams


def _safe_stream(stream):
    """The stream, writing control characters from files as escapes (printable.py) and characters its
    encoding lacks (PYTHONIOENCODING=ascii) as backslash escapes, rather than failing."""
    from .printable import EscapingStream

    if stream is None:
        return stream
    try:
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    except (ValueError, OSError, AttributeError):
        pass
    return EscapingStream(stream)


def _main(argv: list[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return {
            "check": _check,
            "summary": _summary,
            "sizes": _sizes,
            "render": _render,
            "export": _export,
            "verify": _verify,
            "import": _import,
            "lsp": _lsp,
            "fmt": _fmt,
        }[args.command](args)
    except SystemExit as exit_:
        return int(exit_.code or 0) if isinstance(exit_.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as err:
        if os.environ.get("CONVDSL_DEBUG"):
            raise
        _internal_error(err)
        return EXIT_INTERNAL


def _internal_error(err: Exception, path: str | None = None) -> None:
    where = f" while checking {path}" if path else ""
    print(
        f"convdsl: internal error{where}: {type(err).__name__}: {err}\n"
        "this is a bug in convdsl; set CONVDSL_DEBUG=1 for the traceback and please report it",
        file=sys.stderr,
    )


def _use_color(choice: str, stream) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return hasattr(stream, "isatty") and stream.isatty()


def _load(path: str, args):
    if not path.endswith(".cdsl"):  # an ultralytics YAML, a Darknet .cfg, a Caffe .prototxt, ...
        from .importers import load as load_foreign

        return load_foreign(path, limits=_limits(args), options=_import_options(args))
    from .loading import load

    return load(path, limits=_limits(args))


def _import_options(args) -> dict:
    """What the importers take from the command line (the ultralytics scale)."""
    return {"scale": getattr(args, "scale", None)}


def _load_usable(path: str, args):
    """The network, or None after printing why the file cannot be used at all (the caller exits 2)."""
    network = _load(path, args)
    if _unreadable(network):
        from . import report

        for diag in network.diagnostics:
            print(report.text(diag, network.sources), file=sys.stderr)
        return None
    return network


def _unreadable(network) -> bool:
    return not network.sources and any(d.code.code == "E001" for d in network.diagnostics)


def _selection(path: str, args, configs: dict):
    """The codes to report for one file: its pyproject.toml's [tool.convdsl], then the command line's."""
    from . import suppress

    folder = os.path.dirname(os.path.abspath(path))
    base = configs.get(folder)
    if base is None:
        base = configs[folder] = suppress.load_config(path)
    select = suppress.normalise(suppress.parse_list(args.select), "--select")
    ignore = suppress.normalise(suppress.parse_list(args.ignore), "--ignore")
    return base.merged(select, ignore)


def _fix(path: str, network, diagnostics, args):
    """Apply the fixes the diagnostics offer and load the file again: the new network, the same one when
    nothing could be applied, or None after saying why a file could not be written."""
    from .autofix import plan
    from .output import OutputError, write_atomic

    chosen = plan(diagnostics, network.sources)
    if not chosen.texts:
        return network
    for target, text in chosen.texts.items():
        try:
            write_atomic(target, text)
        except OutputError as err:
            print(f"convdsl check: error: cannot apply fixes: {err}", file=sys.stderr)
            return None
    count = len(chosen.applied)
    files = ", ".join(chosen.texts)
    print(
        f"fixed {count} problem{'s' if count != 1 else ''} in {files}: "
        + "; ".join(f"{d.code.code} at line {d.span.line}: {fix.description}" for d, fix in chosen.applied),
        file=sys.stderr,
    )
    if chosen.left:
        print(
            f"{len(chosen.left)} more fix{'es' if len(chosen.left) != 1 else ''} overlap these: run "
            "`convdsl check --fix` again",
            file=sys.stderr,
        )
    return _load(path, args)


def _check(args) -> int:
    from . import report
    from .suppress import SelectionError, apply as suppressed

    color = _use_color(args.color, sys.stdout)
    configs: dict = {}  # folder -> the [tool.convdsl] selection that governs its files
    results = []  # (path, network, diagnostics), in the order given
    crashed = []  # (path, the internal error that stopped its check)
    worst = EXIT_OK
    paths = list(args.files)
    if args.dependents:
        from .dependents import find_dependents

        given = {os.path.realpath(p) for p in paths}
        paths += [p for p in find_dependents(paths) if os.path.realpath(p) not in given]
    for path in paths:
        try:
            try:
                selection = _selection(path, args, configs)
            except SelectionError as err:
                print(f"convdsl check: error: {err}", file=sys.stderr)
                return EXIT_USAGE
            network = _load(path, args)
            if _unreadable(network):
                diagnostics, code = network.diagnostics, EXIT_USAGE
            else:
                diagnostics = suppressed(network.analyze(strict=args.strict).diagnostics, network.sources, selection)
                if args.fix and any(getattr(d, "fixes", ()) for d in diagnostics):
                    fixed = _fix(path, network, diagnostics, args)
                    if fixed is None:
                        return EXIT_USAGE
                    if fixed is not network:
                        network = fixed
                        diagnostics = suppressed(
                            network.analyze(strict=args.strict).diagnostics, network.sources, selection
                        )
                code = EXIT_ERRORS if any(d.is_error for d in diagnostics) else EXIT_OK
        except Exception as err:
            if os.environ.get("CONVDSL_DEBUG"):
                raise
            _internal_error(err, path)
            crashed.append((path, f"{type(err).__name__}: {err}"))
            results.append((path, None, ()))
            worst = EXIT_INTERNAL
            continue
        worst = max(worst, code)
        results.append((path, network, diagnostics))
    out = sys.stdout
    if args.format == "json":
        errors = iter(error for _, error in crashed)
        files = [
            {"path": path, "network": net.name, "diagnostics": [report.as_json(d, path) for d in diags]}
            if net is not None
            else {"path": path, "network": None, "diagnostics": [], "internal_error": next(errors)}
            for path, net, diags in results
        ]
        every = [d for _, _, diags in results for d in diags]
        import json  # only for --format json: one import less on the common path

        json.dump(
            {
                "files": files,
                "errors": sum(d.level is Severity.ERROR for d in every),
                "warnings": sum(d.level is Severity.WARNING for d in every),
            },
            out,
            indent=2,
        )
        out.write("\n")
        return worst
    for path, network, diagnostics in results:
        for diag in diagnostics:  # none where the check crashed
            if args.format == "text":
                out.write(report.text(diag, network.sources, color=color) + "\n\n")
            elif args.format == "concise":
                out.write(report.concise(diag) + "\n")
            else:
                out.write(report.github(diag, path) + "\n")
    if args.format in ("text", "concise"):
        every = [d for _, _, diags in results for d in diags]
        count = len(results) - len(crashed)
        checked = f"{count} file{'s' if count != 1 else ''}"
        tally = report.tally(every)
        print(f"checked {checked}: {tally}" if tally else f"checked {checked}: no problems", file=sys.stderr)
        if crashed:
            print(
                "not checked because of an internal error: " + ", ".join(path for path, _ in crashed), file=sys.stderr
            )
    return worst


def _summary(args) -> int:
    from . import report
    from .summary import table, to_json

    network = _load_usable(args.file, args)
    if network is None:
        return EXIT_USAGE
    analysis = network.analyze(strict=args.strict)
    if args.format == "json":
        import json

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
    network = _load_usable(args.file, args)
    if network is None:
        return EXIT_USAGE
    if network.has_errors:
        for diag in network.diagnostics:
            print(report.text(diag, network.sources), file=sys.stderr)
    result = analyze_sizes(network, strict=args.strict, limit=args.max)
    if args.format == "json":
        import json

        json.dump(sizes_format.to_json(result), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(sizes_format.text(result))
    failed = result.problem or any(axis.declared_failure is not None or not axis.valid for axis in result.axes)
    return EXIT_ERRORS if failed else EXIT_OK


def _render(args) -> int:
    from pathlib import Path

    from . import report
    from .output import OutputError, write_atomic
    from .render import FormatUnavailable, RenderError, render
    from .render.registry import FORMATS, LayoutUnavailable, format_for_extension, writer

    def usage(message: str) -> int:
        print(f"convdsl render: error: {message}", file=sys.stderr)
        return EXIT_USAGE

    to_stdout = args.output == "-"
    fmt = args.format or format_for_extension(Path(args.output).suffix)
    if fmt is None:
        names = ", ".join(fmt.extensions[0] for fmt in FORMATS.values())
        return usage(
            "give --format with -o -"
            if to_stdout
            else f"cannot tell the format from `{args.output}`: name it {names}, or give --format"
        )
    if args.depth is not None and args.depth < 0:
        return usage(f"--depth must be 0 or more, got {args.depth}")
    if args.label is not None:
        from .render.labels import TemplateError, parse

        try:
            parse(args.label)
        except TemplateError as err:
            return usage(f"--label: {err}")
    if to_stdout and FORMATS[fmt].binary and sys.stdout.isatty():
        return usage(f"refusing to write {fmt.upper()} to a terminal; give a file name with -o")
    try:
        writer(fmt, args.style)  # an impossible format fails before the network is read
        network = _load_usable(args.file, args)
        if network is None:
            return EXIT_USAGE
        analysis = network.analyze(strict=args.strict)
        if len(analysis.layers) > 1000 and not args.collapse and args.depth is None and fmt != "dot":
            print(
                f"convdsl render: drawing all {len(analysis.layers):,} layers takes a while; "
                "--collapse or --depth N draws a shorter figure",
                file=sys.stderr,
            )
        data = render(
            analysis,
            fmt,
            style=args.style,
            direction=args.direction,
            collapse=args.collapse,
            depth=args.depth,
            layout=args.layout,
            label=args.label,
        )
    except (FormatUnavailable, LayoutUnavailable) as err:
        return usage(str(err))
    except RenderError as err:
        what = (
            "the .dot file (`--format dot`)"
            if "dot" in FORMATS and args.style in FORMATS["dot"].styles
            else "the network file and the command"
        )
        print(
            f"convdsl: internal error: could not draw the diagram: {err}\n"
            f"this is a bug in convdsl; please report it with {what}",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    if to_stdout:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        try:
            write_atomic(args.output, data, inputs=[args.file, *network.sources])
        except OutputError as err:
            return usage(str(err))
    color = _use_color("auto", sys.stderr)
    for diag in analysis.diagnostics:
        print(report.text(diag, network.sources, color=color) + "\n", file=sys.stderr)
    if not to_stdout:
        errors = sum(d.is_error for d in analysis.diagnostics)
        drawn = f" ({errors} error{'s' if errors != 1 else ''} drawn in red)" if errors else ""
        print(f"wrote {args.output}{drawn}", file=sys.stderr)
    return EXIT_ERRORS if analysis.has_errors else EXIT_OK


def _export_input(args, sizes=None):
    """The analysis to export, or an exit code after printing why there is none.

    sizes: numbers for symbolic input sizes (verify --size), written into the input declarations."""
    from . import report

    network = _load_usable(args.file, args)
    if network is None:
        return network, EXIT_USAGE
    if sizes:
        network = _with_sizes(network, sizes, _limits(args))
        if network is None:
            return None, EXIT_USAGE
    analysis = network.analyze(strict=args.strict)
    color = _use_color("auto", sys.stderr)
    for diag in analysis.diagnostics:
        print(report.text(diag, network.sources, color=color) + "\n", file=sys.stderr)
    return analysis, EXIT_ERRORS if analysis.has_errors else None


def _with_sizes(network, sizes: dict, limits):
    """The network with its input declarations' symbols replaced by numbers; None (said why) if one is not used."""
    from .fixes import Edit, apply
    from .loading import rebuild

    edits, used = [], set()
    for spec in network.inputs.values():
        for dim, span in zip(spec.dims, spec.dim_spans):
            if isinstance(dim, str) and dim in sizes:
                edits.append(Edit(span, str(sizes[dim])))
                used.add(dim)
    unknown = sorted(set(sizes) - used)
    if unknown:
        symbols = sorted({d for spec in network.inputs.values() for d in spec.dims if isinstance(d, str)})
        print(
            f"convdsl verify: error: no input has a symbolic size `{unknown[0]}`"
            + (f"; its symbols are {', '.join(symbols)}" if symbols else "; its sizes are all numbers"),
            file=sys.stderr,
        )
        return None
    return rebuild(network, apply(network.sources, edits), limits=limits)


def _export(args) -> int:
    from . import report
    from .export import export_pytorch
    from .output import OutputError, write_atomic

    analysis, failed = _export_input(args)
    if failed is not None:
        if failed == EXIT_ERRORS:
            print("convdsl export: nothing written: fix the errors first", file=sys.stderr)
        return failed
    result = export_pytorch(analysis, source_label=args.file)
    if result.source is None:
        for diag in result.diagnostics:
            print(
                report.text(diag, analysis.network.sources, color=_use_color("auto", sys.stderr)) + "\n",
                file=sys.stderr,
            )
        print("convdsl export: nothing written", file=sys.stderr)
        return EXIT_ERRORS
    if args.output == "-":
        sys.stdout.write(result.source)
        sys.stdout.flush()
        return EXIT_OK
    try:
        write_atomic(args.output, result.source, inputs=[args.file, *analysis.network.sources])
    except OutputError as err:
        print(f"convdsl export: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote {args.output} (class {result.class_name})", file=sys.stderr)
    return EXIT_OK


def _import(args) -> int:
    """Write the .cdsl translation of a foreign file; report what checking it finds, at the foreign file's lines."""
    import importlib.util
    from pathlib import Path

    from . import report
    from .importers import format_of, is_onnx, is_python_reference, load_translation, translate_any, translate_source
    from .loading import read_source
    from .output import OutputError, write_atomic

    options = _import_options(args)
    try:
        from .importers.pytorch import parse_input

        options["inputs"] = [parse_input(text) for text in args.input]
    except ValueError as err:
        print(f"convdsl import: error: --input {err}", file=sys.stderr)
        return EXIT_USAGE
    options["allow_opaque"] = args.allow_opaque
    code = is_python_reference(args.file) and not Path(args.file).is_file()
    if code or is_onnx(args.file):
        needed = "torch" if code else "onnx"
        if importlib.util.find_spec(needed) is None:
            print(
                f"convdsl import: error: importing {'a PyTorch model' if code else 'an ONNX file'} needs {needed}: "
                f"pip install 'convdsl[{needed}]'",
                file=sys.stderr,
            )
            return EXIT_USAGE
        translation = translate_any(args.file, options=options)
    else:
        source = read_source(args.file)
        if not hasattr(source, "text"):
            print(report.text(source, {}), file=sys.stderr)
            return EXIT_USAGE
        if format_of(source.path, source.text) is None:
            print(
                f"convdsl import: error: {args.file}: not a file convdsl imports (an ultralytics .yaml, "
                "a Darknet .cfg, a Caffe .prototxt, an .onnx model, or a PyTorch model as file.py:factory)",
                file=sys.stderr,
            )
            return EXIT_USAGE
        translation = translate_source(source, options=options)
    network = load_translation(translation, limits=_limits(args))
    analysis = network.analyze(strict=args.strict)
    color = _use_color("auto", sys.stderr)
    for diag in analysis.diagnostics:
        print(report.text(diag, network.sources, color=color) + "\n", file=sys.stderr)
    if translation.has_errors or not translation.text:
        print("convdsl import: nothing written: the file could not be translated", file=sys.stderr)
        return EXIT_ERRORS
    if args.output == "-":
        sys.stdout.write(translation.text)
        sys.stdout.flush()
    else:
        try:
            write_atomic(args.output, translation.text, inputs=[translation.source.path])
        except OutputError as err:
            print(f"convdsl import: error: {err}", file=sys.stderr)
            return EXIT_USAGE
        print(f"wrote {args.output} ({translation.format} translated to .cdsl)", file=sys.stderr)
    return EXIT_ERRORS if analysis.has_errors else EXIT_OK


def _lsp(args) -> int:
    from .lsp import main as serve

    return serve()


MAX_VERIFY_BATCH = 65_536  # verify runs real tensors of this batch: more is a mistake, not a check


def _device_problem(device: str) -> str | None:
    """Why torch cannot run on `device` here (unknown, or not in this build or machine), or None."""
    from .export.verify import import_torch

    torch = import_torch()
    try:
        kind = torch.device(device).type
    except (RuntimeError, ValueError, TypeError) as err:
        return (
            f"not a device torch knows ({str(err).splitlines()[0] if str(err) else 'unknown'}); use cpu, cuda or meta"
        )
    if kind in ("cpu", "meta"):
        return None
    backend = getattr(torch.backends, kind, None) if kind == "mps" else getattr(torch, kind, None)
    available = getattr(backend, "is_available", None)
    try:
        if available is None or not available():
            return f"{kind} is not available in this PyTorch or on this machine; use cpu or meta"
    except Exception as err:
        return f"{kind} is not available: {err}"
    return None


def _verify(args) -> int:
    from . import report
    from .export.verify import INSTALL, TorchMissing, import_torch, verify

    try:
        import_torch()  # say how to get torch before reading anything
    except TorchMissing:
        print(f"convdsl verify: error: this needs PyTorch, which is not installed: {INSTALL}", file=sys.stderr)
        return EXIT_USAGE
    if args.batch is not None and not 1 <= args.batch <= MAX_VERIFY_BATCH:
        print(
            f"convdsl verify: error: --batch must be from 1 to {MAX_VERIFY_BATCH:,}, got {args.batch}", file=sys.stderr
        )
        return EXIT_USAGE
    unusable = _device_problem(args.device)
    if unusable:
        print(f"convdsl verify: error: --device {args.device}: {unusable}", file=sys.stderr)
        return EXIT_USAGE
    sizes = {}
    for item in args.size:
        name, _, value = item.partition("=")
        if not name.strip() or not value.strip().isdigit() or int(value) < 1:
            print(
                f"convdsl verify: error: --size takes NAME=N with N a whole number of at least 1, got {item!r}",
                file=sys.stderr,
            )
            return EXIT_USAGE
        sizes[name.strip()] = int(value)
    analysis, failed = _export_input(args, sizes)
    if failed is not None:
        return failed
    result = verify(analysis, batch=args.batch, device=args.device)
    if result.export.source is None:
        for diag in result.export.diagnostics:
            print(
                report.text(diag, analysis.network.sources, color=_use_color("auto", sys.stderr)) + "\n",
                file=sys.stderr,
            )
        print("convdsl verify: the network cannot be exported", file=sys.stderr)
        return EXIT_ERRORS
    print(result.report())
    return EXIT_OK if result.ok else EXIT_ERRORS


def _fmt(args) -> int:
    """Format files in place (or check them, or show the diffs); `-` filters standard input to standard output."""
    if "-" in args.files and len(args.files) > 1:
        print("convdsl fmt: error: `-` (standard input) cannot be given with other files", file=sys.stderr)
        return EXIT_USAGE
    if args.line_length < 20:
        print(f"convdsl fmt: error: --line-length must be at least 20, got {args.line_length}", file=sys.stderr)
        return EXIT_USAGE
    paths = _fmt_paths(args.files)
    dry = args.check or args.diff
    changed, unchanged, failed, worst = [], 0, [], EXIT_OK
    for path in paths:
        try:
            code, new_text = _fmt_one(path, args)
        except BrokenPipeError:  # the reader of the diff went away (`| head`): main() ends quietly
            raise
        except Exception as err:
            if os.environ.get("CONVDSL_DEBUG"):
                raise
            _internal_error(err, path)
            code, new_text = EXIT_INTERNAL, None
        worst = max(worst, code)
        if code != EXIT_OK:
            failed.append(path)
        elif new_text is None:
            unchanged += 1
        else:
            changed.append(path)
            if args.check and not args.diff:
                print(f"would reformat {path}", file=sys.stderr)
    if paths != ["-"] or failed or dry:

        def files(n: int) -> str:
            return f"{n} file{'s' if n != 1 else ''}"

        parts = []
        if changed:
            parts.append(f"{files(len(changed))} {'would be reformatted' if dry else 'reformatted'}")
        if unchanged or not (changed or failed):
            parts.append(f"{files(unchanged)} {'already formatted' if dry else 'left unchanged'}")
        if failed:
            parts.append(f"{files(len(failed))} could not be formatted")
        if paths != ["-"] or failed:
            print(", ".join(parts), file=sys.stderr)
    if dry and changed:
        worst = max(worst, EXIT_ERRORS)
    return worst


def _fmt_paths(given: list[str]) -> list[str]:
    """The files to format: each given file, and the .cdsl files under each given directory (not hidden ones)."""
    from pathlib import Path

    paths = []
    for name in given:
        if name != "-" and os.path.isdir(name):
            found = sorted(
                p
                for p in Path(name).rglob("*.cdsl")
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(name).parts)
            )
            paths.extend(str(p) for p in found)
        else:
            paths.append(name)
    return paths


def _fmt_one(path: str, args) -> tuple[int, str | None]:
    """Format one file (or standard input): its exit code, and its new text if it changed."""
    import difflib

    from . import report
    from .fmt import FormatError, format_text
    from .loading import MAX_FILE_BYTES, decode, read_source
    from .output import OutputError, write_atomic

    if path == "-":
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            print(
                f"convdsl fmt: error: standard input is larger than the limit of {MAX_FILE_BYTES // 2**20} MiB",
                file=sys.stderr,
            )
            return EXIT_USAGE, None
        source = decode("<stdin>", data)
    else:
        source = read_source(path)
        data = None
    if not hasattr(source, "text"):  # a Diagnostic: unreadable, too large, binary, not UTF-8
        print(report.text(source, {}), file=sys.stderr)
        return EXIT_USAGE, None
    if data is None:
        with open(path, "rb") as handle:  # as it is on disk: line endings and a byte-order mark are kept
            data = handle.read(MAX_FILE_BYTES + 1)
    text = data.decode("utf-8")
    try:
        new_text = format_text(text, path=source.path, line_length=args.line_length)
    except FormatError as err:
        color = _use_color("auto", sys.stderr)
        for diag in err.diagnostics:
            print(report.text(diag, {source.path: source}, color=color) + "\n", file=sys.stderr)
        print(f"convdsl fmt: {source.path} not formatted: fix the errors first", file=sys.stderr)
        return EXIT_ERRORS, None
    if path == "-" and not args.check and not args.diff:
        sys.stdout.write(new_text)
        sys.stdout.flush()
    if new_text == text:
        return EXIT_OK, None
    if args.diff:
        label = source.path
        sys.stdout.writelines(
            difflib.unified_diff(
                text.splitlines(True), new_text.splitlines(True), f"{label}\t(original)", f"{label}\t(formatted)"
            )
        )
        sys.stdout.flush()
    elif not args.check and path != "-":
        try:
            # through a symbolic link to the file it names: the link stays a link
            write_atomic(os.path.realpath(path), new_text.encode("utf-8"))
        except OutputError as err:
            print(f"convdsl fmt: error: {err}", file=sys.stderr)
            return EXIT_USAGE, None
    return EXIT_OK, new_text
