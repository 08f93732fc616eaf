"""The parser for files without errors: Lark's LALR table and per-state lexers, run without Lark.

Lark's parser builds a Tree per rule, copies positions onto it, and the tree is
then walked again to make the syntax tree; for a file of a few hundred tokens
most of the time is that bookkeeping. This module drives the same LALR table
with the same per-state lexers (so it reads exactly what Lark reads), works out
each rule's span as propagate_positions does (from the first to the last piece
of text its children cover, filtered punctuation included), and calls
ToSyntax's functions as each rule is reduced.

The table and the lexers' patterns are taken from a Lark parser once
(`parse_tables`) and kept in the user's cache as plain data (frontend.py): a
process that checks a valid file then never imports Lark, which alone costs
about a third of a cold `convdsl check`.

It only handles the usual case, a file without errors. At anything else (a
syntax error, parentheses nested too deep, a number too long) it gives up, and
Lark parses the file (grammar.py), so errors and their messages come from one
place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .cancel import checkpoint
from .source import Span
from .syntax import Program, ToSyntax, builder_functions

FORMAT = 1  # of Tables.to_data: a cache written in another format is not read
LINES_PER_CHECK = 256  # lines parsed between two cancellation checkpoints (a few milliseconds)


class GiveUp(Exception):
    """Not the usual case (or tables this module cannot use): let Lark parse the file.

    offset: where a syntax error is (the start of the token that does not fit, or of the character no
    terminal matches), for error recovery (recover.py); None when the parse stopped for another reason.
    """

    def __init__(self, *args, offset: int | None = None):
        super().__init__(*args)
        self.offset = offset


class Token(str):
    """A terminal the syntax tree keeps: its text, with the attributes of Lark's Token that ToSyntax reads.

    type, line, column, end_line, end_column (a str subclass cannot have __slots__).
    """


# Kinds of rule.
_UNIT = 0  # `?a: b`: the one child is handed up unchanged, with its position
_INLINE = 1  # `_a: ...`: its children are spliced into the parent
_BUILD = 2  # a node: ToSyntax's function for it is called
_GIVE_UP = 3  # a rule this module does not know how to reduce


@dataclass(frozen=True)
class Tables:
    """What the parser needs of a Lark parser (LALR, contextual lexer, positions, placeholders), as plain data.

    table: per state, symbol -> next state (>= 0) or ~rule number.
    rules: per rule, (kind, size, origin, plan, trailing Nones, expand single child,
        ToSyntax function name or None, direct) -- see _rule.
    kept: terminals some rule keeps (they become Tokens; the others are punctuation).
    lexer_of: per state, the index of its lexer in lexers (states share lexers).
    lexers: per lexer, (patterns, ignored terminals, terminals that may hold line breaks,
        keywords). patterns: ((regex, flags), ...), tried in order, as Lark splits
        terminals over several patterns past Python's limit on groups; keywords:
        terminal -> the patterns that retype a match of it (`block` is a NAME's text).
    """

    start_state: int
    end_state: int
    table: tuple
    rules: tuple
    kept: frozenset
    lexer_of: tuple
    lexers: tuple

    def to_data(self) -> tuple:
        return (FORMAT, self.start_state, self.end_state, self.table, self.rules, self.kept, self.lexer_of, self.lexers)

    @classmethod
    def from_data(cls, data) -> Tables:
        """The tables from to_data's tuple; ValueError if it is not one (a damaged or foreign cache file)."""
        if type(data) is not tuple or len(data) != 8 or data[0] != FORMAT:
            raise ValueError("not convdsl parse tables of this format")
        _, start, end, table, rules, kept, lexer_of, lexers = data
        ok = (
            type(start) is int
            and type(end) is int
            and type(table) is tuple
            and type(rules) is tuple
            and type(kept) is frozenset
            and type(lexer_of) is tuple
            and type(lexers) is tuple
            and len(lexer_of) == len(table)
            and all(type(row) is dict for row in table)
            and all(type(rule) is tuple and len(rule) == 8 for rule in rules)
            and all(type(i) is int and 0 <= i < len(lexers) for i in lexer_of)
            and all(type(lexer) is tuple and len(lexer) == 4 for lexer in lexers)
            and 0 <= start < len(table)
            and 0 <= end < len(table)
        )
        if not ok:
            raise ValueError("damaged parse tables")
        return cls(start, end, table, rules, kept, lexer_of, lexers)


def parse_tables(lark) -> Tables:
    """The tables of a Lark parser; GiveUp where it is not set up as this module expects."""
    try:
        return _tables(lark)
    except (AttributeError, KeyError, TypeError) as error:  # another Lark, laid out differently
        raise GiveUp(str(error)) from error


def _tables(lark) -> Tables:
    frontend = lark.parser
    parse_table = frontend.parser.parser.parse_table
    lexer = frontend.lexer.lexer  # PostLexConnector -> ContextualLexer
    if (
        type(lexer).__name__ != "ContextualLexer"
        or not lark.options.maybe_placeholders
        or not lark.options.propagate_positions
        or type(frontend.lexer.postlexer).__name__ != "_ParenLines"
    ):
        raise GiveUp("not the parser this module reads")
    states = parse_table.states
    if sorted(states) != list(range(len(states))):
        raise GiveUp("states are not numbered 0..n-1")
    rule_numbers: dict = {}
    rules: list[tuple] = []
    kept: set[str] = set()
    table = []
    for state in range(len(states)):
        row = {}
        for symbol, (action, arg) in states[state].items():
            if action.name == "Shift":
                row[str(symbol)] = arg  # plain str: a Lark that built its grammar just now gives Tokens
            else:
                number = rule_numbers.get(id(arg))
                if number is None:
                    number = rule_numbers[id(arg)] = len(rules)
                    rules.append(_rule(arg, kept))
                row[str(symbol)] = ~number
        table.append(row)
    lexer_numbers: dict = {}
    lexers: list[tuple] = []
    lexer_of = []
    for state in range(len(states)):
        basic = lexer.lexers[state]
        number = lexer_numbers.get(id(basic))
        if number is None:
            number = lexer_numbers[id(basic)] = len(lexers)
            lexers.append(_lexer(basic))
        lexer_of.append(number)
    return Tables(
        int(parse_table.start_states["start"]),
        int(parse_table.end_states["start"]),
        tuple(table),
        tuple(rules),
        frozenset(kept),
        tuple(lexer_of),
        tuple(lexers),
    )


def _patterns(scanner) -> tuple:
    if scanner.re_ is not re or scanner.use_bytes:
        raise GiveUp("a lexer that is not Python's re on text")
    return tuple((str(pattern.pattern), int(pattern.flags)) for pattern in scanner._mres)


def _lexer(basic) -> tuple:
    """One of Lark's per-state lexers as data (its scanner is compiled here, as Lark would on first use)."""
    patterns = _patterns(basic.scanner)  # first: making the scanner makes its callbacks
    keywords = {}
    for terminal, callback in basic.callback.items():
        if type(callback).__name__ != "UnlessCallback":
            raise GiveUp("a lexer callback this module does not know")
        keywords[str(terminal)] = _patterns(callback.scanner)
    return (
        patterns,
        tuple(sorted(map(str, basic.ignore_types))),
        tuple(sorted(map(str, basic.newline_types))),
        keywords,
    )


def _rule(rule, kept: set) -> tuple:
    """(kind, size, origin, plan, trailing Nones, expand single child, ToSyntax function name, direct) for one rule."""
    options = rule.options
    expansion = rule.expansion
    if options.keep_all_tokens or options.template_source:
        return (_GIVE_UP, len(expansion), str(rule.origin.name), (), 0, False, None, None)
    # Which children stay, which are spliced (`_rule`), and the Nones of `[...]` before each: as Lark's ChildFilter.
    empty = list(options.empty_indices or ())
    if empty:
        text = "".join(str(int(b)) for b in empty)
        nones = [len(ones) for ones in text.split("0")]
    else:
        nones = [0] * (len(expansion) + 1)
    plan = []
    pending = 0
    for i, symbol in enumerate(expansion):
        pending += nones[i]
        if not (symbol.is_term and symbol.filter_out):
            plan.append((i, not symbol.is_term and symbol.name.startswith("_"), pending))
            pending = 0
            if symbol.is_term:
                kept.add(str(symbol.name))
    trailing = pending + nones[len(expansion)]
    expand1 = bool(options.expand1) and not rule.alias
    origin = str(rule.origin.name)
    plan = tuple(plan)
    if expand1 and len(expansion) == 1 and plan == ((0, False, 0),) and not trailing:
        return (_UNIT, 1, origin, plan, 0, True, None, None)
    # Without splices or Nones the kept children are picked by index: all of them (True), or some.
    direct = None
    if not trailing and not any(splice or nones for _, splice, nones in plan):
        direct = tuple(index for index, _, _ in plan)
        if direct == tuple(range(len(expansion))):
            direct = True
    if origin.startswith("_"):
        kind = _GIVE_UP if expand1 else _INLINE
        return (kind, len(expansion), origin, plan, trailing, expand1, None, direct)
    return (_BUILD, len(expansion), origin, plan, trailing, expand1, str(rule.alias or origin), direct)


def _keyword(patterns):
    """Lark's Scanner.fullmatch: the terminal a whole text is, by the first pattern that matches it, or None."""
    compiled = [re.compile(source, flags).fullmatch for source, flags in patterns]

    def retype(text):
        for fullmatch in compiled:
            found = fullmatch(text)
            if found:
                return found.lastgroup
        return None

    return retype


class FastParser:
    """Parses text with Tables taken from a Lark parser."""

    def __init__(self, tables: Tables, max_nesting: int):
        self.max_nesting = max_nesting
        self.start_state = tables.start_state
        self.end_state = tables.end_state
        self.table: list[dict] = list(tables.table)
        functions = builder_functions()
        # a rule with a name ToSyntax has no function for keeps None: the parse gives up when it meets one
        self.rules = [rule[:6] + (functions.get(rule[6]) if rule[6] else None, rule[7]) for rule in tables.rules]
        self.kept = tables.kept
        self.lexer_of = tables.lexer_of
        self.lexer_data = tables.lexers
        self.compiled: list = [None] * len(tables.lexers)  # compiled on first use, as Lark does
        self.lexers: list = [None] * len(self.table)  # parser state -> its compiled lexer
        self.units: dict = {}  # (state below, state, token) -> the state after a run of `?a: b` reductions

    def _lexer(self, state: int) -> tuple:
        """The patterns of the lexer Lark uses in this parser state, and what it does with a match."""
        index = self.lexer_of[state]
        made = self.compiled[index]
        if made is None:
            patterns, ignored, multiline, keywords = self.lexer_data[index]
            matchers = tuple(re.compile(source, flags).match for source, flags in patterns)
            if len(matchers) == 1:
                match = matchers[0]
            else:  # Python's limit on groups split the terminals over several patterns: the first that matches

                def match(text, pos):
                    for one in matchers:
                        found = one(text, pos)
                        if found:
                            return found
                    return None

            made = self.compiled[index] = (
                match,
                frozenset(ignored),
                frozenset(multiline),
                {terminal: _keyword(p) for terminal, p in keywords.items()},
            )
        self.lexers[state] = made
        return made

    def parse(self, text: str, path: str) -> Program:
        """The syntax tree of `text`; raises GiveUp where Lark's parse would not simply succeed."""
        transformer = _Syntax(path)
        table, rules, kept, lexers, units = self.table, self.rules, self.kept, self.lexers, self.units
        max_nesting = self.max_nesting
        state_stack = [self.start_state]
        values: list = []
        places: list = []  # per symbol on the stack, (line, column, end line, end column) of its text, or None
        state = self.start_state
        pos, line, line_start, size = 0, 1, 0, len(text)
        depth = 0
        at_end = False
        next_check = LINES_PER_CHECK
        while True:
            # The next token, as Lark's contextual lexer and the post-lexer (grammar._ParenLines) give it:
            # inside parentheses a line break is not a token, and they nest at most max_nesting deep.
            if pos < size:
                match, ignored, multiline, keywords = lexers[state] or self._lexer(state)
                found = match(text, pos)
                if found is None:
                    raise GiveUp(offset=pos)  # an unexpected character
                value = found.group(0)
                kind = found.lastgroup
                start_line, column = line, pos - line_start + 1
                if kind in multiline:
                    newlines = value.count("\n")
                    if newlines:
                        line += newlines
                        line_start = pos + value.rindex("\n") + 1
                        if line >= next_check:  # an editor's stale parse of a long file stops here (cancel.py)
                            next_check = line + LINES_PER_CHECK
                            checkpoint()
                pos += len(value)
                if kind in ignored:
                    continue
                if kind in keywords:  # a name that may be a keyword here
                    kind = keywords[kind](value) or kind
                if kind == "LPAR":
                    depth += 1
                    if depth > max_nesting:
                        raise GiveUp
                elif kind == "RPAR":
                    if depth:
                        depth -= 1
                elif depth and kind == "_NL":
                    continue
                end_column = pos - line_start + 1
                where = (start_line, column, line, end_column)
                if kind in kept:
                    token = Token(value)
                    token.__dict__.update(
                        type=kind, line=start_line, column=column, end_line=line, end_column=end_column
                    )
                else:
                    token = None
            elif at_end:
                raise GiveUp
            else:
                at_end = True
                kind = "$END"
            # Feed it: reduce as the table says, then shift it.
            while True:
                try:
                    action = table[state][kind]
                except KeyError:
                    raise GiveUp(offset=size if at_end else pos - len(value)) from None  # a syntax error
                if action >= 0:
                    if at_end:
                        raise GiveUp
                    state_stack.append(action)
                    values.append(token)
                    places.append(where)
                    state = action
                    break
                rule_kind, count, origin, plan, trailing, expand1, function, direct = rules[~action]
                if rule_kind == _UNIT:
                    # `?a: b` reductions come in runs (expr -> disjunction -> ... -> atom): where a run
                    # ends depends only on the state below, this one and the token, so it is found once.
                    key = (state_stack[-2], state, kind)
                    state = units.get(key)
                    if state is None:
                        state = units[key] = self._units(*key)
                    state_stack[-1] = state
                    continue
                if rule_kind == _GIVE_UP:
                    raise GiveUp
                if count:
                    children = values[-count:]
                    spans = places[-count:]
                    del state_stack[-count:], values[-count:], places[-count:]
                    # Where the rule's text is: from its first child with a position to its last.
                    first, last = spans[0], spans[-1]
                    if first is None or last is None:
                        spans = [place for place in spans if place is not None]
                        first, last = (spans[0], spans[-1]) if spans else (None, None)
                    place = (first[0], first[1], last[2], last[3]) if first is not None else None
                else:
                    children, place = [], None
                # The children that stay, as Lark's ChildFilter keeps them.
                if direct is not None:
                    kept_children = children if direct is True else [children[index] for index in direct]
                else:
                    kept_children = []
                    for index, splice, nones in plan:
                        if nones:
                            kept_children += [None] * nones
                        if splice:
                            if kept_children:
                                kept_children += children[index]
                            else:  # `_a: _a "," b` grows its own list, as Lark's ChildFilterLALR does: not quadratic
                                kept_children = children[index]
                        else:
                            kept_children.append(children[index])
                    if trailing:
                        kept_children += [None] * trailing
                if rule_kind == _INLINE:
                    result = kept_children
                elif expand1 and len(kept_children) == 1:
                    result = kept_children[0]
                    # A node handed up spans the rule's text; a token (or a None) keeps its own position.
                    if result is None:
                        place = None
                    elif type(result) is Token:
                        place = (result.line, result.column, result.end_line, result.end_column)
                elif function is None or place is None:
                    raise GiveUp  # a node ToSyntax has no function for, or one that spans no text
                else:
                    result = function(transformer, place, *kept_children)
                state = table[state_stack[-1]][origin]
                state_stack.append(state)
                values.append(result)
                places.append(place)
                if at_end and state == self.end_state:
                    return result

    def _units(self, below: int, state: int, kind: str) -> int:
        """The state after the run of `?a: b` reductions that `kind` makes in `state`, over `below`."""
        table, rules = self.table, self.rules
        while True:
            action = table[state].get(kind)
            if action is None or action >= 0 or rules[~action][0] != _UNIT:
                return state
            state = table[below][rules[~action][2]]


class _Syntax(ToSyntax):
    """ToSyntax, with the positions this parser keeps: (line, column, end line, end column) tuples."""

    def _span(self, meta) -> Span:
        return Span(self.path, meta[0], meta[1], meta[2], meta[3])
