#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# sparse for C=1 builds: make C=1 CHECK=scripts/sparse.sh.
#
# Debian's sparse (0.6.4 in Debian 12 and 13 alike) predates two things the
# headers of 7.x kernels ask of a checker: __typeof_unqual__ (which they use
# under __CHECKER__ whatever the compiler) and folding __builtin_strlen() of
# a string literal into a constant (the static_assert of MODULE_INFO).  A
# kernel's own Makefile then turns C=1 off, and the build checks nothing.
# For a sparse that fails on __typeof_unqual__, both are given as macros:
# typeof, which keeps the qualifiers typeof_unqual drops (stricter, never
# laxer), and a literal's size less its NUL, which is what MODULE_INFO
# asserts.  Everything else is sparse's own.

probe=$(mktemp)
trap 'rm -f "$probe"' EXIT
printf 'static int u(const int *q)\n{\n\t__typeof_unqual__(*q) v = *q;\n\treturn v;\n}\n' > "$probe"
if sparse "$probe" 2>&1 | grep -q error; then
	sparse -D__typeof_unqual__=__typeof__ '-D__builtin_strlen(s)=(sizeof(s) - 1)' "$@"
else
	sparse "$@"
fi
