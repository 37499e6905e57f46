#!/usr/bin/env python3
"""checksrc.py - the house style of tokenguard's C sources, checked.

The rules are the ones every file already follows (README, "Code style");
.clang-format describes the same style for editors, but the tree is not
run through clang-format, whose idea of continuation lines and tables is
not ours.  Each rule has a name, printed with the file and line:

    shim/h1.c:12:5: SPACEAFTERKEYWORD: a space after `if` before `(`

and `--rules` lists them.  A line that must break a rule for a reason says
so on that line: /* checksrc: LONGLINE */ (the rule names, space
separated), which the reader sees next to the exception.

Usage: checksrc.py [--rules] FILE...    exit 1 when anything is found.
Python 3 standard library only.
"""
import os
import re
import sys

TAB = 8
MAX_COLUMNS = 120

RULES = {
    "CRLF": "a line ends in CR LF",
    "TRAILINGSPACE": "trailing blanks",
    "TABAFTERCODE": "a tab after the indentation (tabs indent, spaces align)",
    "SPACEBEFORETAB": "a space before a tab in the indentation",
    "SPACEINDENT": "a statement indented with spaces (tabs indent, spaces only align continuations)",
    "LONGLINE": "longer than %d columns (tabs at %d) with no string literal on it" % (MAX_COLUMNS, TAB),
    "HEADER": "the file does not open with its header comment /* NAME - what it owns",
    "CPPCOMMENT": "a // comment (comments are /* ... */)",
    "COMMENTSTAR": "a line inside a block comment that does not start with ` *`",
    "SPACEAFTERKEYWORD": "no space between a keyword (if, for, while, switch, return) and `(`",
    "SPACEBEFOREPAREN": "a space between a function's name and `(`",
    "SPACEINPARENS": "a space after `(` or before `)`",
    "COMMASPACE": "no space after a comma (but between two numbers: 0,0,1)",
    "SPACEBEFORECOMMA": "a space before a comma",
    "SPACESEMICOLON": "a space before a semicolon",
    "OPENBRACE": "`){` with no space, or a control statement's `{` on a line of its own",
    "FUNCBRACE": "a function definition's `{` not on a line of its own",
    "BRACEELSE": "`else` not on the line of the `}` that ends the if's block",
    "ASTERISK": "`*` of a pointer declaration not attached to the name (`char *p`, `(char *)`)",
    "EMPTYLINES": "two blank lines in a row, or a blank line at the end of the file",
    "NOEOL": "the last line has no newline",
}

KEYWORDS = ("if", "for", "while", "switch", "return")
# Names that may be followed by a space and `(`: operators and keywords
# that are not calls, and the declarators of function pointers.
NOT_CALLS = {"if", "for", "while", "switch", "return", "sizeof", "case", "else", "do",
             "defined", "__attribute__", "__typeof__", "typeof", "_Alignof", "alignof",
             "_Static_assert", "static_assert", "goto", "__asm__", "asm", "volatile",
             "_Generic", "and", "or", "not"}
TYPE_WORDS = {"void", "char", "short", "int", "long", "float", "double", "signed",
              "unsigned", "const", "struct", "union", "enum", "static", "inline",
              "extern", "_Bool", "bool", "size_t", "ssize_t", "uint8_t", "uint16_t",
              "uint32_t", "uint64_t", "int8_t", "int16_t", "int32_t", "int64_t",
              "off_t", "pid_t", "uid_t", "gid_t", "time_t", "FILE", "uintptr_t"}


def columns(text):
    col = 0
    for ch in text:
        col = (col // TAB + 1) * TAB if ch == "\t" else col + 1
    return col


class Blanker:
    """Turns C source lines into code alone: the insides of comments,
    string and character literals become spaces (a string keeps its
    quotes), so that the code rules never look at prose or data."""

    def __init__(self):
        self.in_comment = False
        self.comment_alone = False      # the open comment began its line
        self.depth = 0                  # ( and [ open at the end of the last line

    def line(self, text):
        out = []
        i, n = 0, len(text)
        quote = None
        while i < n:
            ch = text[i]
            if self.in_comment:
                if text.startswith("*/", i):
                    self.in_comment = False
                    out.append("  ")
                    i += 2
                    continue
                out.append(" ")
            elif quote:
                if ch == "\\" and i + 1 < n:
                    out.append("  ")
                    i += 2
                    continue
                if ch == quote:
                    quote = None
                    out.append(ch)
                else:
                    out.append(" ")
            elif text.startswith("/*", i):
                self.in_comment = True
                self.comment_alone = text[:i].strip() == ""
                out.append("  ")
                i += 2
                continue
            elif text.startswith("//", i):
                out.append("//" + " " * (n - i - 2))
                break
            elif ch in "\"'":
                quote = ch
                out.append(ch)
            else:
                out.append(ch)
                if ch in "([":
                    self.depth += 1
                elif ch in ")]" and self.depth > 0:
                    self.depth -= 1
            i += 1
        return "".join(out)


def allowed(raw):
    m = re.search(r"/\* checksrc: ([A-Z ]+) \*/", raw)
    return set(m.group(1).split()) if m else set()


class Checker:
    def __init__(self, path):
        self.path = path
        self.problems = []

    def report(self, lineno, col, rule, allow=()):
        if rule in allow:
            return
        self.problems.append((lineno, col, rule))

    def check(self):
        with open(self.path, "rb") as f:
            data = f.read()
        text = data.decode("utf-8", errors="replace")
        if data and not data.endswith(b"\n"):
            self.report(text.count("\n") + 1, 1, "NOEOL")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        self.check_header(lines)
        blank = Blanker()
        code_lines = []
        starts = []             # (in a comment, that comment began its line, open parens)
        for raw in lines:
            starts.append((blank.in_comment, blank.comment_alone, blank.depth))
            code_lines.append(blank.line(raw.rstrip("\r")))
        prev_code = ""          # the last line with code on it, blanked
        prev_blank = False
        for idx, raw in enumerate(lines):
            lineno = idx + 1
            allow = allowed(raw)
            if raw.endswith("\r"):
                self.report(lineno, len(raw), "CRLF", allow)
                raw = raw[:-1]
            code = code_lines[idx]
            in_comment, comment_alone, depth = starts[idx]
            self.check_whitespace(lineno, raw, allow)
            if raw.strip() == "":
                if prev_blank:
                    self.report(lineno, 1, "EMPTYLINES", allow)
                prev_blank = True
                continue
            prev_blank = False
            if columns(raw) > MAX_COLUMNS and '"' not in code and " * seed: " not in raw and \
                    not (lineno == 1 and raw.startswith("/* sources: ")):
                self.report(lineno, MAX_COLUMNS + 1, "LONGLINE", allow)
            if in_comment and comment_alone:
                self.check_comment_line(lineno, raw, allow)
            if not in_comment and depth == 0:
                self.check_indent(lineno, raw, prev_code, allow)
            self.check_code(lineno, code, allow)
            self.check_braces(lineno, code, code_lines, idx, allow)
            if code.strip():
                prev_code = code
        if lines and lines[-1].strip() == "":
            self.report(len(lines), 1, "EMPTYLINES")
        return self.problems

    def check_header(self, lines):
        """Line 1 opens the header comment: /* NAME - ...  A fuzz target's
        line 1 is the list of sources tests/fuzz/run.sh reads, its header
        follows on line 2."""
        name = os.path.basename(self.path)
        first = 1 if lines and lines[0].startswith("/* sources: ") else 0
        if len(lines) <= first or not lines[first].startswith("/* %s - " % name):
            self.report(first + 1, 1, "HEADER", allowed(lines[first]) if len(lines) > first else ())

    def check_whitespace(self, lineno, raw, allow):
        if raw != raw.rstrip(" \t"):
            self.report(lineno, len(raw.rstrip(" \t")) + 1, "TRAILINGSPACE", allow)
        indent = len(raw) - len(raw.lstrip(" \t"))
        lead, rest = raw[:indent], raw[indent:]
        if " \t" in lead:
            self.report(lineno, lead.index(" \t") + 1, "SPACEBEFORETAB", allow)
        if "\t" in rest.rstrip(" \t"):
            self.report(lineno, indent + rest.index("\t") + 1, "TABAFTERCODE", allow)

    def check_comment_line(self, lineno, raw, allow):
        body = raw.lstrip("\t")
        if not body.startswith(" *") and not body.lstrip(" ").startswith("*/"):
            self.report(lineno, 1, "COMMENTSTAR", allow)

    def check_indent(self, lineno, raw, prev_code, allow):
        """A line that starts a statement (the code before it ended one)
        is indented with tabs alone; spaces after the tabs only align a
        continuation with the line above."""
        if raw.startswith("#"):
            return
        lead = raw[:len(raw) - len(raw.lstrip(" \t"))]
        if not lead.lstrip("\t").startswith(" "):
            return
        if raw.lstrip(" \t").startswith("*"):
            return                       # a block comment's continuation
        prev = prev_code.rstrip()
        if prev.endswith("\\"):
            return                       # inside a macro
        if prev.endswith((";", "{", "}")) or prev == "" or prev.lstrip().startswith("#"):
            self.report(lineno, 1, "SPACEINDENT", allow)

    def check_code(self, lineno, code, allow):
        if code.lstrip().startswith("#include"):
            return
        cpp = code.find("//")
        if cpp >= 0:
            self.report(lineno, cpp + 1, "CPPCOMMENT", allow)
        for m in re.finditer(r"\b(%s)\(" % "|".join(KEYWORDS), code):
            self.report(lineno, m.start() + 1, "SPACEAFTERKEYWORD", allow)
        directive = code.lstrip().startswith("#")
        for m in re.finditer(r"\b([A-Za-z_][A-Za-z0-9_]*) \((?!\*)", code):
            word = m.group(1)
            if word in NOT_CALLS or word in TYPE_WORDS:
                continue
            if directive and re.match(r"\s*#\s*define\s+%s " % re.escape(word), code):
                continue                 # an object-like macro's value
            if re.match(r"\s*#\s*(if|elif)\b", code):
                continue
            self.report(lineno, m.start() + len(word) + 1, "SPACEBEFOREPAREN", allow)
        for m in re.finditer(r"\( (?=\S)", code):
            self.report(lineno, m.start() + 1, "SPACEINPARENS", allow)
        for m in re.finditer(r"(?<=\S) \)", code):
            if not code[:m.start()].rstrip().endswith((",", ";")):
                self.report(lineno, m.start() + 1, "SPACEINPARENS", allow)
        # Between two numbers a comma may go bare: the bytes of one wire
        # field in a table of frames (0,0,1 for a 24-bit length).
        for m in re.finditer(r"(?<![0-9A-Fa-fxX]),(?=[^\s])|,(?=[^\s0-9])", code):
            self.report(lineno, m.start() + 1, "COMMASPACE", allow)
        for m in re.finditer(r"(?<=\S) ,", code):
            self.report(lineno, m.start() + 1, "SPACEBEFORECOMMA", allow)
        for m in re.finditer(r"(?<=[^\s;(]) ;", code):
            self.report(lineno, m.start() + 1, "SPACESEMICOLON", allow)
        # A declarator's `*` goes with the name: `char* p` and `(char*)`
        # are wrong; `a * b` is a product either way.
        for m in re.finditer(r"\b([A-Za-z_][A-Za-z0-9_]*)(\*+)(?:[ \t]+[A-Za-z_(]|\))", code):
            word = m.group(1)
            if word in TYPE_WORDS or re.match(r"[A-Z_a-z][a-z0-9_]*_t$", word) or \
                    re.search(r"\b(struct|union|enum|const)\s+%s\*" % re.escape(word), code):
                self.report(lineno, m.end(1) + 1, "ASTERISK", allow)

    def check_braces(self, lineno, code, code_lines, idx, allow):
        stripped = code.strip()
        if re.search(r"\)\{\s*$", code) and not re.search(r"\((struct|union) \w+\)\{\s*$", code):
            self.report(lineno, code.rindex("{") + 1, "OPENBRACE", allow)
        if stripped == "{" and idx > 0:
            prev = code_lines[idx - 1].strip()
            if re.match(r"(if|for|while|switch|else|do)\b", prev) or prev.startswith("} else"):
                self.report(lineno, 1, "OPENBRACE", allow)
        # A definition at file level: the name at column 0 or after the
        # type, parameters, then `{` on the same line.
        if re.match(r"[A-Za-z_][A-Za-z0-9_ \t*]*\b[A-Za-z_][A-Za-z0-9_]*\(.*\)\s*\{\s*$", code) and \
                not re.match(r"(struct|union|enum|typedef)\b", code) and "=" not in code:
            self.report(lineno, code.rindex("{") + 1, "FUNCBRACE", allow)
        if re.search(r"\}else\b|\belse\{", code):
            self.report(lineno, 1, "BRACEELSE", allow)
        if stripped.startswith("else") and idx > 0 and code_lines[idx - 1].strip() == "}":
            self.report(lineno, 1, "BRACEELSE", allow)


def main(argv):
    if argv[1:2] == ["--rules"]:
        for name, what in RULES.items():
            print("%-18s %s" % (name, what))
        return 0
    if len(argv) < 2:
        sys.stderr.write("usage: checksrc.py [--rules] FILE...\n")
        return 2
    found = 0
    for path in argv[1:]:
        for lineno, col, rule in Checker(path).check():
            print("%s:%d:%d: %s: %s" % (path, lineno, col, rule, RULES[rule]))
            found += 1
    if found:
        print("checksrc: %d problem%s in %d file%s" % (found, "" if found == 1 else "s",
                                                        len(argv) - 1, "" if len(argv) == 2 else "s"))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
