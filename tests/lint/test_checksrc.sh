#!/bin/sh
# test_checksrc.sh - checksrc.py finds what it is meant to find: for each
# rule a small file that breaks it and no other rule, which must fail with
# that rule's name and no other; then a file in the house style, with each
# exception the rules allow, which must pass.  Run by make lint.
set -u
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pass=0 failed=0

# bad RULE BODY: BODY (printf %b: \t, \r, \n) after a header naming the file.
bad() {
	rule=$1 f=$dir/bad.c
	printf '/* bad.c - breaks %s. */\n%b' "$rule" "$2" >"$f"
	check "$rule" "$f"
}

# check RULE FILE: checksrc fails on FILE, naming RULE and only RULE.
check() {
	out=$(python3 "$here/checksrc.py" "$2")
	rc=$?
	found=$(printf '%s\n' "$out" | sed -n 's/^[^:]*:[0-9]*:[0-9]*: \([A-Z]*\):.*/\1/p' | sort -u | tr '\n' ' ')
	if [ "$rc" -eq 1 ] && [ "$found" = "$1 " ]; then
		pass=$((pass + 1))
	else
		failed=$((failed + 1))
		echo "test_checksrc: $1: exit $rc, found: ${found:-nothing}"
		printf '%s\n' "$out"
	fi
}

bad CRLF 'int x;\r\n'
bad TRAILINGSPACE 'int x; \n'
bad TABAFTERCODE 'int x;\t/* aligned with a tab */\n'
bad SPACEBEFORETAB 'void f(void)\n{\n\tg(1,\n\t \t  2);\n}\n'
bad SPACEINDENT 'void f(void)\n{\n\tg();\n\t    h();\n}\n'
bad SPACEINDENT 'void f(void)\n{\n        g();\n}\n'
bad LONGLINE "int $(printf '%0130d' 0 | tr 0 x);\n"
bad CPPCOMMENT 'int x; // a comment\n'
bad COMMENTSTAR '/* two lines,\n   the second without its star */\nint x;\n'
bad SPACEAFTERKEYWORD 'void f(int a)\n{\n\tif(a)\n\t\tg();\n}\n'
bad SPACEAFTERKEYWORD 'void f(int a)\n{\n\twhile(a--)\n\t\tg();\n}\n'
bad SPACEBEFOREPAREN 'void f(void)\n{\n\tg ();\n}\n'
bad SPACEINPARENS 'void f(void)\n{\n\tg( 1);\n}\n'
bad SPACEINPARENS 'void f(void)\n{\n\tg(1 );\n}\n'
bad COMMASPACE 'void f(void)\n{\n\tg(a,b);\n}\n'
bad SPACEBEFORECOMMA 'void f(void)\n{\n\tg(a , b);\n}\n'
bad SPACESEMICOLON 'void f(void)\n{\n\tg() ;\n}\n'
bad OPENBRACE 'void f(int a)\n{\n\tif (a){\n\t\tg();\n\t}\n}\n'
bad OPENBRACE 'void f(int a)\n{\n\tif (a)\n\t{\n\t\tg();\n\t}\n}\n'
bad FUNCBRACE 'void f(void) {\n\tg();\n}\n'
bad BRACEELSE 'void f(int a)\n{\n\tif (a) {\n\t\tg();\n\t}\n\telse {\n\t\th();\n\t}\n}\n'
bad BRACEELSE 'void f(int a)\n{\n\tif (a) {\n\t\tg();\n\t}else {\n\t\th();\n\t}\n}\n'
bad ASTERISK 'char* p;\n'
bad ASTERISK 'void f(void *v)\n{\n\tg((char*)v);\n}\n'
bad EMPTYLINES 'int x;\n\n\nint y;\n'
bad EMPTYLINES 'int x;\n\n'
bad NOEOL 'int x;'

printf '/* other.c - named after another file. */\nint x;\n' >"$dir/header.c"
check HEADER "$dir/header.c"
printf 'int x;\n' >"$dir/none.c"
check HEADER "$dir/none.c"

# The house style, with what the rules allow.
good=$dir/good.c
printf '%b' '/* sources: shim/good.c */
/* good.c - what a file in the house style looks like.
 *
 * Its header says what it owns; comments are blocks like this one.
 */
#include "good.h"

#define TWICE(x) (2 * (x))
#define EMPTY ("")

struct pair {
	int a, b;   /* aligned with spaces */
};

static const unsigned char frame[] = { 0,0,1, 0x4, 0, 0,0,0,0 };

static int pick(const char *s, struct pair *p, int (*fn)(void *ctx, int n), void *ctx)
{
	char *end = (char *)s;
	int n = 0;

	if (s == NULL || *s == 0)
		return -1;
	for (;;) {
		if (*end == 0) {
			break;
		} else if (*end == 1) {
			n++;
		} else {
			n += fn(ctx, (int)sizeof *p);
		}
		end++;
	}
	switch (n) {
	case 0:
		return 0;
	default:
		break;
	}
	*p = (struct pair){ n, TWICE(n) };
	return call_with_a_long_name(p->a, p->b, "and a message that is longer than a line should be, which is kept whole so that grep finds it");
}

int tg_good(struct pair *p)
{
	return pick("", p, NULL, NULL) + n_of(p->a,
	                                      p->b) * 2;
}
'"int the_one_exception_$(printf '%0130d' 0 | tr 0 x); /* checksrc: LONGLINE */\n" >"$good"
if out=$(python3 "$here/checksrc.py" "$good"); then
	pass=$((pass + 1))
else
	failed=$((failed + 1))
	echo "test_checksrc: a file in the house style did not pass:"
	printf '%s\n' "$out"
fi

echo "test_checksrc: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
