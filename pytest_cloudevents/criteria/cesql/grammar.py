"""The grammar of CloudEvents SQL 1.0 for lark (LALR), written from the spec's EBNF and
text (`cesql/spec.md`) and its lexer (`cesql/CESQLLexer.g4`).

Precedence, tightest first, as the spec's ANTLR grammar orders its alternatives (which is
how Knative's filters, through the Go SDK, read an expression): function invocations and
atoms; `NOT` and unary `-`; `LIKE`; `EXISTS`; `IN`; `*` `/` `%`; `+` `-`; the comparisons;
`AND` `OR` `XOR` at one level, grouping to the right. Keywords and function names are
case-insensitive; value identifiers are letters and digits, as the lexer takes them.
"""

from __future__ import annotations

from typing import Final

__all__ = ["GRAMMAR"]

GRAMMAR: Final[str] = r"""
?start: expr

?expr: comparison
     | comparison LOGIC expr                   -> logic

?comparison: additive
           | comparison COMPARE additive       -> compare

?additive: multiplicative
         | additive ADD multiplicative          -> arithmetic
         | additive MINUS multiplicative        -> arithmetic

?multiplicative: postfix
               | multiplicative MULTIPLY postfix -> arithmetic

?postfix: unary
        | postfix LIKE STRING                   -> like
        | postfix NOT LIKE STRING               -> not_like
        | postfix IN "(" expr ("," expr)* ")"   -> in_set
        | postfix NOT IN "(" expr ("," expr)* ")" -> not_in_set

?unary: primary
      | NOT unary                               -> negation
      | MINUS unary                             -> minus

?primary: INTEGER                               -> integer
        | STRING                                -> string
        | TRUE                                  -> true
        | FALSE                                 -> false
        | EXISTS IDENTIFIER                     -> exists
        | IDENTIFIER "(" [expr ("," expr)*] ")" -> call
        | IDENTIFIER                            -> attribute
        | "(" expr ")"

LOGIC.2: /(AND|OR|XOR)(?![A-Za-z0-9_])/i
NOT.2: /NOT(?![A-Za-z0-9_])/i
LIKE.2: /LIKE(?![A-Za-z0-9_])/i
IN.2: /IN(?![A-Za-z0-9_])/i
EXISTS.2: /EXISTS(?![A-Za-z0-9_])/i
TRUE.2: /TRUE(?![A-Za-z0-9_])/i
FALSE.2: /FALSE(?![A-Za-z0-9_])/i
IDENTIFIER: /[0-9]*[A-Za-z_][A-Za-z0-9_]*/
INTEGER: /[0-9]+/
STRING: /'(\\.|''|[^'\\])*'/s | /"(\\.|""|[^"\\])*"/s
COMPARE: "<=" | ">=" | "<>" | "!=" | "=" | "<" | ">"
ADD: "+"
MINUS: "-"
MULTIPLY: "*" | "/" | "%"

%ignore /[ \t\r\n]+/
"""
