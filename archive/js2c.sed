# js2c.sed - turns report.js into the body of a C string literal, one source
# line per input line (backslashes and quotes escaped, "??" split so no
# trigraph forms). The Makefile rule wraps it in a declaration.
s/\\/\\\\/g
s/"/\\"/g
s/??/?\\?/g
s/^/    "/
s/$/\\n"/
