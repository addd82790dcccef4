#!/bin/sh
# build.sh - builds the libFuzzer targets (make fuzz runs it): every library
# source compiled by clang with coverage and ASan+UBSan into OUT/obj, then
# one binary per tests/fuzz/fuzz_*.c in OUT. Objects are rebuilt when their
# source, or any header, is newer. Called from the build folder as
#   build.sh SRCDIR OUT
# with FUZZ_SOURCES (the library's sources), FUZZ_DEPCFLAGS and FUZZ_LIBS (the
# dependencies' flags) in the environment; FUZZ_CC picks the compiler (clang).
set -eu
srcdir=$1
out=$2
cc=${FUZZ_CC:-clang}
command -v "$cc" >/dev/null 2>&1 || {
    echo "make fuzz: $cc not found (Debian: apt-get install clang)" >&2
    exit 1
}
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
flags="-g -O1 $san -Wall -Wextra -DHAVE_CONFIG_H -I. -I$srcdir -I$srcdir/src \
-DQD_SRCDATADIR=\"$(cd "$srcdir" && pwd)/data\" ${FUZZ_DEPCFLAGS:-}"
mkdir -p "$out/obj"
# any header newer than the last build rebuilds every object
stamp="$out/obj/.stamp"
if [ -f "$stamp" ] && [ -n "$(find "$srcdir" -name '*.h' -newer "$stamp" -not -path '*/_*' | head -1)" ]; then
    rm -f "$out"/obj/*.o
fi
objs=""
todo=""
for s in $FUZZ_SOURCES; do
    case $s in *.c) ;; *) continue ;; esac
    o="$out/obj/$(echo "$s" | tr / _ | sed 's/\.c$/.o/')"
    objs="$objs $o"
    if [ ! -f "$o" ] || [ "$srcdir/$s" -nt "$o" ]; then
        todo="$todo $s:$o"
    fi
done
for pair in $todo; do echo "$pair"; done | FLAGS="$flags" CC="$cc" SRC="$srcdir" \
    xargs -r -P 2 -n 1 sh -c 'src=${0%%:*}; obj=${0#*:}; echo "  FUZZCC   $src";
        $CC $FLAGS -fsanitize=fuzzer-no-link -c "$SRC/$src" -o "$obj"'
touch "$stamp"
for t in "$srcdir"/tests/fuzz/fuzz_*.c; do
    name=$(basename "$t" .c)
    echo "  FUZZLD   $out/$name"
    $cc $flags -fsanitize=fuzzer "$t" $objs ${FUZZ_LIBS:-} -o "$out/$name"
done
