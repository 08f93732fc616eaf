"""Everything that is not dataflow: settings, constants and block definitions, from the file and the files it includes."""

from __future__ import annotations

from pathlib import Path

from .. import diagnostics as codes
from ..diagnostics import Diagnostic, did_you_mean
from ..evaluate import FAILED, EvalError
from ..layers import KINDS
from ..model import LAYOUTS, ROUNDINGS, Settings
from ..syntax import BlockDef, Constant, Include, NetworkStmt, Program, Setting
from .state import _Abort, _Block


class Includes:
    """Lowering's definitions, as a mixin: it reports through Lowering.error."""

    def _definitions(self, program: Program, env: dict, include_chain: tuple, top: bool, origin) -> None:
        """Settings, constants, includes and blocks: everything that is not dataflow.

        `origin` is the include statement of the checked file through which an
        included file was reached: problems with includes are reported there.
        """
        for stmt in program.statements:
            if isinstance(stmt, Include):
                self._include(stmt, env, include_chain, origin or stmt)
            elif isinstance(stmt, Constant):
                if stmt.name.id in env:
                    self.error(
                        codes.DUPLICATE_DEFINITION,
                        stmt.name.span,
                        f"constant `{stmt.name.id}` is defined twice",
                        "defined again here",
                    )
                    continue
                try:
                    env[stmt.name.id] = self._value(stmt.value, env)
                except EvalError as err:
                    self.from_eval(err)
                    env[stmt.name.id] = FAILED  # its uses say nothing more: this error is their cause
            elif isinstance(stmt, BlockDef):
                name = stmt.name.id
                if name in self.blocks:
                    first = self.blocks[name].definition.name.span
                    self.error(
                        codes.DUPLICATE_DEFINITION,
                        stmt.name.span,
                        f"block `{name}` is defined twice",
                        "defined again here",
                        notes=(f"first defined at {first.path}:{first.line}",),
                    )
                    continue
                if name in KINDS or name == "reuse":
                    self.error(
                        codes.DUPLICATE_DEFINITION,
                        stmt.name.span,
                        f"block `{name}` has the name of a built-in layer kind"
                        if name != "reuse"
                        else "a block cannot be named `reuse`: `reuse(LABEL)` calls a labelled layer again",
                        "hides a layer kind" if name != "reuse" else "a word of the language",
                        f"rename the block, e.g. `my_{name}`",
                    )
                    continue
                seen_params = set()
                for param in stmt.params:
                    if param.name.id in ("in", "out"):
                        self.error(
                            codes.DUPLICATE_DEFINITION,
                            param.name.span,
                            f"a block parameter cannot be named `{param.name.id}`",
                            f"`{param.name.id}` is the block's {param.name.id}put tensor",
                            "rename the parameter",
                        )
                    elif param.name.id in seen_params:
                        self.error(
                            codes.DUPLICATE_DEFINITION,
                            param.name.span,
                            f"parameter `{param.name.id}` is defined twice",
                            "defined again here",
                            "give each parameter its own name",
                        )
                    seen_params.add(param.name.id)
                self.blocks[name] = _Block(stmt, env)
            elif not top:
                self.error(
                    codes.MISPLACED_STATEMENT,
                    stmt.span,
                    "an included file may only define blocks and constants, and include others",
                    "not allowed in an included file",
                    "move this statement to the main file",
                )
            elif isinstance(stmt, Setting):
                self._setting(stmt)
            elif isinstance(stmt, NetworkStmt):
                if self.network_name is not None:
                    self.error(
                        codes.DUPLICATE_DEFINITION,
                        stmt.span,
                        "the network is named twice",
                        "second `network` statement",
                    )
                self.network_name = stmt.name.id

    def _include(self, stmt: Include, env: dict, include_chain: tuple, origin: Include) -> None:
        if self.includes is None:
            from ..include_policy import IncludePolicy

            self.includes = IncludePolicy(include_chain[0], self.limits.include_path)
        path = self.includes.locate(stmt.path, include_chain[-1])
        resolved = _real_path(path) if _exists(path) else path
        where = () if origin is stmt else (f"at {stmt.path_span.path}:{stmt.path_span.line}",)
        if resolved in {_real_path(p) for p in include_chain}:
            self.error(
                codes.INCLUDE_ERROR,
                origin.path_span,
                f"`{origin.path}` leads to an include cycle",
                "include cycle",
                "a file cannot include itself, directly or through others",
                notes=(" -> ".join(Path(p).name for p in (*include_chain, path)), *where),
            )
            return
        if len(include_chain) > self.limits.max_include_depth:
            self.error(
                codes.LIMIT_EXCEEDED,
                origin.path_span,
                f"includes are nested more than {self.limits.max_include_depth} deep",
                "too deep",
                "flatten the include structure, or raise the limit with --max-include-depth",
                notes=where,
            )
            return
        outside = self.includes.outside(path)
        if outside is not None:
            self.error(
                codes.INCLUDE_ERROR,
                origin.path_span,
                f"cannot include `{stmt.path}`: {outside}",
                "outside the project",
                "includes stay inside the project (the folder holding .git or "
                "pyproject.toml, else the checked file's folder); allow another folder with "
                "--include-path DIR",
                notes=where,
            )
            return
        if self.includes.already(path):
            return  # its blocks and constants are defined already: a file is read once however often included
        loaded = self.read(path)
        if not isinstance(loaded, Diagnostic):
            over = self.includes.admit(path, len(loaded.text))
            if over is not None:
                self.error(
                    codes.LIMIT_EXCEEDED,
                    origin.path_span,
                    f"cannot include `{stmt.path}`: {over}",
                    "include budget exceeded",
                    "include fewer or smaller files; the limit is fixed",
                    notes=where,
                )
                raise _Abort
        if isinstance(loaded, Diagnostic):
            self.error(
                codes.INCLUDE_ERROR,
                origin.path_span,
                f"cannot include `{stmt.path}`: {loaded.message}",
                "included here",
                loaded.help,
                notes=where,
            )
            return
        self.sources[loaded.path] = loaded
        if self.parse is None:
            from ..frontend import parse
        else:
            parse = self.parse
        program, found = parse(loaded)
        if found:
            self.diagnostics.extend(found)
            self.error(
                codes.INCLUDE_ERROR, origin.path_span, f"`{stmt.path}` has syntax errors", "included here", notes=where
            )
            return
        self._definitions(program, env, (*include_chain, loaded.path), top=False, origin=origin)

    def _setting(self, stmt: Setting) -> None:
        name, value = stmt.name.id, stmt.value.id.strip("\"'")
        if name == "rounding":
            if value.lower() not in ROUNDINGS:
                self.error(
                    codes.INVALID_SETTING,
                    stmt.value.span,
                    f"unknown rounding `{value}`",
                    "not a rounding",
                    "use one of: " + ", ".join(ROUNDINGS),
                )
                return
            self.settings = Settings(value.lower(), self.settings.layout)
        elif name == "layout":
            if value.upper() not in LAYOUTS:
                self.error(
                    codes.INVALID_SETTING,
                    stmt.value.span,
                    f"unknown layout `{value}`",
                    "not a layout",
                    "use NCHW or NHWC",
                )
                return
            self.settings = Settings(self.settings.rounding, value.upper())
        else:
            self.error(
                codes.INVALID_SETTING,
                stmt.name.span,
                f"unknown setting `{name}`",
                "not a setting",
                did_you_mean(name, ("rounding", "layout")) or "the settings are `rounding` and `layout`",
            )


def _exists(path: str) -> bool:
    try:
        return Path(path).exists()
    except (OSError, ValueError):  # a name too long for the system, or with a NUL byte: reading it says why
        return False


def _real_path(path: str) -> str:
    """The path resolved, to know a file however it is named; as written if the system cannot resolve it."""
    try:
        return str(Path(path).resolve())
    except (OSError, ValueError):
        return path
