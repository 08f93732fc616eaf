"""What a format module returns: the .cdsl text, where each of its lines came from, and the format's own findings.

A foreign file is loaded by translating it, loading the text through the normal loader, and mapping
every diagnostic's span back to the foreign file (`ImportedNetwork`), so the analysis never knows
about foreign formats.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..diagnostics import Diagnostic
from ..network import Network
from ..source import Source, Span


@dataclass(frozen=True)
class Translation:
    """A foreign file as .cdsl text.

    origins[i] is the span in the foreign file that line i + 1 of `text` was written for (a YAML row,
    a cfg section, a prototxt layer); diagnostics are the format's own (a `from` index out of range,
    a route to a missing layer), with spans in the foreign file.
    """

    format: str  # "ultralytics" | "darknet" | "caffe" | ...
    source: Source  # the foreign file
    text: str
    origins: tuple[Span | None, ...]
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    @property
    def cdsl_path(self) -> str:
        """The name the generated text goes by while it is checked (never written there)."""
        return self.source.path + ".cdsl"

    def origin(self, line: int) -> Span | None:
        """The foreign span behind a generated line (1-based)."""
        if 1 <= line <= len(self.origins):
            return self.origins[line - 1]
        return None


def map_span(translation: Translation, span: Span | None) -> Span | None:
    """A span of the generated text as the foreign span it was written for; other spans as they are."""
    if span is None or span.path != translation.cdsl_path:
        return span
    origin = translation.origin(span.line)
    if origin is None:
        return Span(translation.source.path, 1, 1, 1, 1)
    return origin


def map_diagnostic(translation: Translation, diag: Diagnostic) -> Diagnostic:
    """The diagnostic at the foreign file's line and column.

    Its fixes edit the generated text, which the user does not have: they become words in the help
    (each was checked on the generated text), and the note says which layer of the translation it is.
    """
    if diag.span is None or diag.span.path != translation.cdsl_path:
        return diag
    help_text = diag.help_text
    if diag.fixes:
        help_text = f"in the imported .cdsl (`convdsl import`): {help_text}"
    generated = translation.text.splitlines()[diag.span.line - 1 : diag.span.line]
    notes = diag.notes
    if generated and generated[0].strip():
        notes = (*notes, f"in the translation: {generated[0].strip()}")
    return dataclasses.replace(diag, span=map_span(translation, diag.span), help=help_text, fixes=(), notes=notes)


@dataclass
class ImportedNetwork(Network):
    """A network loaded from a foreign file: every diagnostic it reports points into that file."""

    translation: Translation | None = field(default=None, repr=False, compare=False)

    def analyze(self, *, strict: bool = False):
        analysis = super().analyze(strict=strict)
        if self.translation is not None:
            mapped = tuple(map_diagnostic(self.translation, d) for d in analysis.diagnostics)
            analysis.diagnostics = tuple(sorted(mapped, key=Diagnostic.sort_key))
        return analysis


def imported(network: Network, translation: Translation) -> ImportedNetwork:
    """The loaded translation as an ImportedNetwork: lowering's diagnostics mapped, the format's own added."""
    mapped = [map_diagnostic(translation, d) for d in network.diagnostics]
    diagnostics = tuple(sorted((*translation.diagnostics, *mapped), key=Diagnostic.sort_key))
    sources = dict(network.sources)
    sources[translation.source.path] = translation.source
    fields = {f.name: getattr(network, f.name) for f in dataclasses.fields(Network)}
    fields.update(diagnostics=diagnostics, sources=sources)
    result = ImportedNetwork(**fields, translation=translation)
    result.__dict__.update({k: v for k, v in network.__dict__.items() if k not in result.__dict__})
    return result
