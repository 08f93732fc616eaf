"""Diagnostics as data: the code registry and the immutable Diagnostic."""

from __future__ import annotations

import enum

from .records import frozen
from .source import Span


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@frozen
class Code:
    """A kind of finding: a stable code, a kebab-case name and what it means."""

    code: str
    name: str
    severity: Severity
    summary: str


_REGISTRY: dict[str, Code] = {}


def _code(code: str, name: str, severity: Severity, summary: str) -> Code:
    entry = Code(code, name, severity, summary)
    assert code not in _REGISTRY and all(c.name != name for c in _REGISTRY.values())
    _REGISTRY[code] = entry
    return entry


E, W = Severity.ERROR, Severity.WARNING

# Files, syntax and structure (E0xx).
UNREADABLE_FILE = _code("E001", "unreadable-file", E, "a file cannot be read or decoded")
SYNTAX_ERROR = _code("E002", "syntax-error", E, "the text does not follow the grammar")
UNDEFINED_NAME = _code("E003", "undefined-name", E, "a name is used that is not defined")
DUPLICATE_DEFINITION = _code("E004", "duplicate-definition", E, "a name is defined twice in one scope")
UNKNOWN_LAYER = _code("E005", "unknown-layer", E, "a layer kind or block that does not exist")
UNKNOWN_ARGUMENT = _code("E006", "unknown-argument", E, "a keyword argument the layer does not take")
MISSING_ARGUMENT = _code("E007", "missing-argument", E, "a required argument is not given")
ARGUMENT_TYPE = _code("E008", "argument-type", E, "an argument has the wrong type or value")
TOO_MANY_ARGUMENTS = _code("E009", "too-many-arguments", E, "more positional arguments than the layer or block takes")
CYCLE = _code("E010", "cycle", E, "tensors depend on themselves")
RECURSIVE_BLOCK = _code("E011", "recursive-block", E, "a block uses itself, directly or through others")
REPEAT_COUNT = _code("E012", "repeat-count", E, "a repeat count is not a positive integer within bounds")
INVALID_EXPRESSION = _code("E013", "invalid-expression", E, "argument arithmetic that cannot be evaluated")
INVALID_INPUT = _code("E014", "invalid-input", E, "an input declaration with an unusable shape")
INVALID_SETTING = _code("E015", "invalid-setting", E, "an unknown file-level setting or value")
INCLUDE_ERROR = _code("E016", "include-error", E, "an included file cannot be used")
MISSING_OUTPUT = _code("E017", "missing-block-output", E, "a block body never assigns `out`")
WRONG_INPUT_COUNT = _code("E018", "wrong-input-count", E, "a layer receives the wrong number of tensors")
LIMIT_EXCEEDED = _code("E019", "limit-exceeded", E, "the network exceeds a resource limit")
NO_INPUT = _code("E020", "no-input", E, "the network declares no input")
MISPLACED_STATEMENT = _code("E021", "misplaced-statement", E, "a statement where it is not allowed")

# Shapes (E1xx).
NON_INTEGER_DIVISION = _code(
    "E101", "non-integer-division", E, "an output size is rounded and real input rows are dropped"
)
INEXACT_DIVISION = _code("E102", "inexact-division", E, "an output size is rounded (only with --strict)")
CHANNEL_MISMATCH = _code(
    "E103", "channel-mismatch", E, "a layer's declared input channels differ from what it receives"
)
GROUPS_MISMATCH = _code("E104", "groups-mismatch", E, "groups do not divide the channels")
NON_POSITIVE_SIZE = _code("E105", "non-positive-size", E, "an output size is zero or negative")
KERNEL_TOO_LARGE = _code("E106", "kernel-too-large", E, "a kernel is larger than its padded input")
MERGE_MISMATCH = _code("E107", "merge-mismatch", E, "tensors merged by add, mul or concat have incompatible shapes")
LINEAR_MISMATCH = _code("E108", "linear-mismatch", E, "a linear layer receives the wrong number of features")
POOL_PADDING = _code("E109", "pool-padding-too-large", E, "pooling padding larger than half the kernel")
OUTPUT_PADDING = _code("E110", "output-padding-too-large", E, "output_padding not smaller than the stride or dilation")
RANK_MISMATCH = _code("E111", "rank-mismatch", E, "a layer receives a tensor of the wrong rank")
INVALID_RESHAPE = _code("E112", "invalid-reshape", E, "a reshape, split or crop that does not fit its input")
SINGLE_VALUE_NORM = _code(
    "E114", "single-value-norm", E, "a normalisation over one value per group: its output is a constant"
)
OUTPUT_SHAPE = _code("E115", "output-shape-mismatch", E, "an output's shape differs from the shape it declares")
REUSE_MISMATCH = _code(
    "E116", "reuse-mismatch", E, "a reused layer receives an input that would give it other parameters"
)
NO_VALID_SIZE = _code("E113", "no-valid-size", E, "no value of a symbolic input size passes through the network")

# Notes (N).
SIZE_CONSTRAINT = _code("N001", "size-constraint", Severity.NOTE, "the sizes a symbolic input dimension may take")
SYMBOLIC_UNKNOWN = _code(
    "N002", "symbolic-unknown", Severity.NOTE, "a layer's output size cannot be written in the input's symbols"
)

# Export (E3xx): found by `convdsl export` and `convdsl verify`, not by `check`.
EXPORT_UNSUPPORTED = _code("E301", "export-unsupported", E, "a layer PyTorch cannot compute the way convdsl does")

# Importing other tools' files (E4xx): found while translating an ultralytics YAML, a Darknet .cfg or a
# Caffe .prototxt, at the line and column in that file.
FOREIGN_SYNTAX = _code("E401", "foreign-syntax", E, "a foreign file (YAML, .cfg, .prototxt) that cannot be parsed")
FOREIGN_UNSUPPORTED = _code(
    "E402", "foreign-unsupported", E, "a module or layer type of a foreign file that convdsl cannot translate"
)
FOREIGN_REFERENCE = _code(
    "E403", "foreign-reference", E, "a foreign file refers to a layer that does not exist (a `from` index, a route)"
)
FOREIGN_VALUE = _code("E404", "foreign-value", E, "a value in a foreign file of the wrong type or out of range")

# Import (E43x): found by `convdsl import` of a PyTorch model or an ONNX file.
TORCH_UNSUPPORTED = _code(
    "E430", "torch-unsupported", E, "a PyTorch module or function with no convdsl layer kind (or not with its options)"
)
TORCH_LOAD_FAILED = _code("E431", "torch-load-failed", E, "a PyTorch model cannot be built, run or traced")
ONNX_UNSUPPORTED = _code(
    "E432", "onnx-unsupported", E, "an ONNX operator with no convdsl layer kind (or not with its attributes)"
)
ONNX_INVALID = _code("E433", "onnx-invalid", E, "an ONNX file that is malformed, inconsistent or beyond the limits")
IMPORT_RENAMED = _code("W430", "import-renamed", W, "an imported parameter gets another state_dict key in convdsl")
IMPORT_UNCALLED = _code(
    "W431", "import-uncalled", W, "a PyTorch module with parameters that forward never calls is not in the translation"
)

# Warnings (W).
UNUSED_TENSOR = _code("W001", "unused-tensor", W, "a tensor is computed but never used")
REDUNDANT_BIAS = _code("W101", "redundant-bias", W, "a convolution's bias is cancelled by the batch norm after it")
STRIDE_OVER_KERNEL = _code("W102", "stride-over-kernel", W, "a stride larger than the kernel skips input")
EVEN_KERNEL_SAME = _code("W103", "even-kernel-same", W, "'same' padding with an even kernel pads asymmetrically")
LINEAR_ON_SPATIAL = _code("W104", "linear-on-spatial", W, "a linear layer applied to an unflattened tensor")
PYTORCH_ORDER = _code(
    "W105",
    "pytorch-argument-order",
    W,
    "arguments that look like PyTorch's order, which starts with the input size convdsl infers",
)
IMPLICIT_AXES = _code(
    "W106",
    "implicit-normalized-axes",
    W,
    "a layer norm over every axis but the batch, by default, on a tensor with spatial axes",
)


def registry() -> tuple[Code, ...]:
    """Every code, in code order."""
    return tuple(sorted(_REGISTRY.values(), key=lambda c: c.code))


def lookup(code_or_name: str) -> Code:
    for entry in _REGISTRY.values():
        if code_or_name in (entry.code, entry.name):
            return entry
    raise KeyError(code_or_name)


@frozen
class Diagnostic:
    """One finding: what, where, why, and how to fix it."""

    code: Code
    span: Span | None
    message: str
    label: str = ""
    help: str | None = None
    notes: tuple[str, ...] = ()
    severity: Severity | None = None  # overrides the code's default (e.g. --strict)
    fixes: tuple = ()  # fixes.Fix, each checked by fixcheck.py before it is offered

    @property
    def help_text(self) -> str | None:
        """The help as a user reads it: the fixes in words, then the diagnostic's own advice."""
        if not self.fixes:
            return self.help
        from .fixes import help_text

        return help_text(self)

    @property
    def level(self) -> Severity:
        return self.severity or self.code.severity

    @property
    def is_error(self) -> bool:
        return self.level is Severity.ERROR

    def sort_key(self) -> tuple:
        span = self.span
        if span is None:
            return ("", 0, 0, self.code.code, self.message)
        return (span.path, span.line, span.column, self.code.code, self.message)


def did_you_mean(name: str, candidates) -> str | None:
    """A help line naming the closest candidate, if one is close enough."""
    import difflib

    if len(name) > 100:  # nothing that long is a typo of a name; difflib would index all of it (400 MB for 10 MB)
        return None

    matches = difflib.get_close_matches(name, sorted(set(candidates)), n=3, cutoff=0.6)
    if not matches:
        lowered = {c.lower(): c for c in candidates}
        if name.lower() in lowered:
            matches = [lowered[name.lower()]]
    if not matches:
        return None
    if len(matches) == 1:
        return f"did you mean `{matches[0]}`?"
    return "did you mean " + ", ".join(f"`{m}`" for m in matches[:-1]) + f" or `{matches[-1]}`?"
