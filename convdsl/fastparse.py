"""A faster run of the same parse: Lark's own tables and patterns, the syntax tree built as rules are reduced.

Lark's parser builds a Tree per rule, copies positions onto it, and ToSyntax
then walks that tree again; for a file of a few hundred tokens most of the
time is that bookkeeping. This module drives the same LALR table with the same
per-state lexers (so it reads exactly what Lark reads), works out each rule's
span as propagate_positions does (from the first to the last piece of text its
children cover, filtered punctuation included), and calls ToSyntax's own
functions as each rule is reduced.

It only handles the usual case, a file without errors. At anything else (a
syntax error, parentheses nested too deep, a number too long, a grammar or a
Lark it does not know) it gives up, and grammar.parse runs Lark as before, so
errors and their messages come from one place.
"""
from __future__ import annotations

from lark.lexer import Token

from .source import Span
from .syntax import Program, ToSyntax, _callbacks


class _GiveUp(Exception):
    """Not the usual case: let Lark parse the file."""


# Kinds of rule.
_UNIT = 0  # `?a: b`: the one child is handed up unchanged, with its position
_INLINE = 1  # `_a: ...`: its children are spliced into the parent
_BUILD = 2  # a node: ToSyntax's function for it is called
_GIVE_UP = 3  # a rule this module does not know how to reduce


class FastParser:
    """Parses text with the tables of one Lark instance (LALR, contextual lexer, positions, placeholders)."""

    def __init__(self, lark, max_nesting: int):
        frontend = lark.parser
        table = frontend.parser.parser.parse_table
        lexer = frontend.lexer.lexer  # PostLexConnector -> ContextualLexer
        if (type(lexer).__name__ != "ContextualLexer" or not lark.options.maybe_placeholders
                or type(frontend.lexer.postlexer).__name__ != "_ParenLines"):
            raise _GiveUp
        self.max_nesting = max_nesting
        self.new_token = Token._future_new  # Token(...) without its keyword handling
        self.start_state = table.start_states["start"]
        self.end_state = table.end_states["start"]
        self.basic_lexers = lexer.lexers  # parser state -> BasicLexer
        # parser state -> what the loop needs of its lexer, made on first use (as Lark compiles them)
        self.lexers: list = [None] * len(table.states)
        self.units: dict = {}  # (state below, state, token) -> the state after a run of `?a: b` reductions
        callbacks = _callbacks()
        if callbacks is None:
            raise _GiveUp
        self.callbacks = callbacks
        rule_numbers: dict = {}
        self.rules: list[tuple] = []
        self.kept: set[str] = set()  # terminals some rule keeps: these become Lark tokens
        if sorted(table.states) != list(range(len(table.states))):
            raise _GiveUp  # states are not numbered 0..n-1
        self.table: list[dict[str, int]] = [{} for _ in table.states]  # state -> symbol -> state, or ~rule
        for state, actions in table.states.items():
            row = self.table[state]
            for symbol, (action, arg) in actions.items():
                if action.name == "Shift":
                    row[symbol] = arg
                else:
                    number = rule_numbers.get(id(arg))
                    if number is None:
                        number = rule_numbers[id(arg)] = len(self.rules)
                        self.rules.append(self._rule(arg))
                    row[symbol] = ~number

    def _rule(self, rule) -> tuple:
        """(kind, size, origin, plan, trailing Nones, expand single child, ToSyntax function, direct) for one rule."""
        options = rule.options
        expansion = rule.expansion
        if options.keep_all_tokens or options.template_source:
            return (_GIVE_UP, len(expansion), rule.origin.name, (), 0, False, None, None)
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
                    self.kept.add(symbol.name)
        trailing = pending + nones[len(expansion)]
        expand1 = bool(options.expand1) and not rule.alias
        origin = rule.origin.name
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
        function = self.callbacks.get(rule.alias or origin)
        return (_BUILD, len(expansion), origin, plan, trailing, expand1, function, direct)

    def _lexer(self, state: int) -> tuple:
        """The patterns of the lexer Lark uses in this parser state, and what it does with a match."""
        basic = self.basic_lexers[state]
        scanner = basic.scanner  # compiled on first use, and kept, as Lark does
        keywords = {}
        for terminal, callback in basic.callback.items():
            if type(callback).__name__ != "UnlessCallback":
                raise _GiveUp
            keywords[terminal] = callback.scanner.fullmatch
        matchers = tuple(pattern.match for pattern in scanner._mres)
        if len(matchers) == 1:
            match = matchers[0]
        else:  # Python's limit on groups split the terminals over several patterns: the first that matches
            def match(text, pos):
                for one in matchers:
                    found = one(text, pos)
                    if found:
                        return found
                return None
        made = (match, basic.ignore_types, basic.newline_types, keywords)
        self.lexers[state] = made
        return made

    def parse(self, text: str, path: str) -> Program:
        """The syntax tree of `text`; raises _GiveUp where Lark's parse would not simply succeed."""
        transformer = _Syntax(path)
        table, rules, kept, lexers, units = self.table, self.rules, self.kept, self.lexers, self.units
        max_nesting = self.max_nesting
        new_token = self.new_token
        state_stack = [self.start_state]
        values: list = []
        places: list = []  # per symbol on the stack, (line, column, end line, end column) of its text, or None
        state = self.start_state
        pos, line, line_start, size = 0, 1, 0, len(text)
        depth = 0
        at_end = False
        while True:
            # The next token, as Lark's contextual lexer and the post-lexer (grammar._ParenLines) give it:
            # inside parentheses a line break is not a token, and they nest at most max_nesting deep.
            if pos < size:
                match, ignored, multiline, keywords = lexers[state] or self._lexer(state)
                found = match(text, pos)
                if found is None:
                    raise _GiveUp  # an unexpected character
                value = found.group(0)
                kind = found.lastgroup
                start, start_line, column = pos, line, pos - line_start + 1
                if kind in multiline:
                    newlines = value.count("\n")
                    if newlines:
                        line += newlines
                        line_start = pos + value.rindex("\n") + 1
                pos += len(value)
                if kind in ignored:
                    continue
                if kind in keywords:  # a name that may be a keyword here
                    kind = keywords[kind](value) or kind
                if kind == "LPAR":
                    depth += 1
                    if depth > max_nesting:
                        raise _GiveUp
                elif kind == "RPAR":
                    if depth:
                        depth -= 1
                elif depth and kind == "_NL":
                    continue
                end_column = pos - line_start + 1
                where = (start_line, column, line, end_column)
                token = new_token(kind, value, start, start_line, column, line, end_column, pos) \
                    if kind in kept else None
            elif at_end:
                raise _GiveUp
            else:
                at_end = True
                kind = "$END"
            # Feed it: reduce as the table says, then shift it.
            while True:
                try:
                    action = table[state][kind]
                except KeyError:
                    raise _GiveUp from None  # a syntax error
                if action >= 0:
                    if at_end:
                        raise _GiveUp
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
                    raise _GiveUp
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
                    raise _GiveUp  # a node ToSyntax has no function for, or one that spans no text
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


def fast_parser(lark, max_nesting: int) -> FastParser | None:
    """A FastParser for this Lark instance, or None where it does not know how to read its tables."""
    try:
        return FastParser(lark, max_nesting)
    except (_GiveUp, AttributeError, KeyError, TypeError):
        return None
