#!/usr/bin/env bash
# The Debian package test: builds the .deb from an already-built tree with CPack (no second build), unpacks it into
# a scratch root with `dpkg -x`, and runs the installed programs from there with none of the build tree's
# environment, so they must find their resources, the SentencePiece module and the man page in the installed
# layout. Also checks the package's Depends and validates the desktop entry and the AppStream metadata.
# Usage: package_deb.sh BUILD_DIR WORK_DIR HAVE_GUI(0|1)
set -euo pipefail
build=$1
work=$2
gui=$3

fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work/out" "$work/home" "$work/runtime"
chmod 700 "$work/runtime"

echo "== cpack"
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; fail "cpack failed"; }
debs=("$work"/out/*.deb)
[[ -f "${debs[0]}" && ${#debs[@]} -eq 1 ]] || fail "expected one .deb in $work/out, found: ${debs[*]}"
deb=${debs[0]}
echo "$(basename "$deb"): $(stat -c %s "$deb") bytes"

echo "== control"
dpkg-deb -f "$deb" Package Version Architecture Depends Section
name=$(dpkg-deb -f "$deb" Package)
depends=$(dpkg-deb -f "$deb" Depends)
dpkg-deb -c "$deb" >"$work/contents.txt"
need=(libc6 libstdc++6)
[[ "$name" == ponet-studio ]] && need+=(libtorch1.13 libopenblas0-openmp)
[[ "$gui" == 1 ]] && need+=(libqt6core6 libqt6gui6 libqt6widgets6 libqcustomplot2.1-qt6)
if grep -q 'libponet_spm\.so' "$work/contents.txt"; then need+=(libsentencepiece0); fi
depends_names=$(tr ',|' '\n\n' <<<"$depends" | awk 'NF {print $1}')
for p in "${need[@]}"; do
  grep -qxF "$p" <<<"$depends_names" || fail "Depends lacks $p: $depends"
done

echo "== contents"
expect=(./usr/bin/ponet ./usr/share/man/man1/ponet.1.gz ./usr/share/ponet-studio/presets/tiny.json
        ./usr/share/ponet-studio/models/ponet-tiny/config.json ./usr/share/ponet-studio/golden/
        "./usr/share/doc/$name/copyright")
if [[ "$gui" == 1 ]]; then
  expect+=(./usr/bin/ponet-studio ./usr/share/applications/ponet-studio.desktop ./usr/share/metainfo/
           ./usr/share/icons/hicolor/scalable/apps/ponet-studio.svg ./usr/share/icons/hicolor/48x48/apps/ponet-studio.png
           ./usr/share/icons/hicolor/256x256/apps/ponet-studio.png ./usr/share/man/man1/ponet-studio.1.gz)
fi
for f in "${expect[@]}"; do
  grep -q " $f" "$work/contents.txt" || fail "the package lacks $f"
done
grep -q '/\.\(git\|cache\)' "$work/contents.txt" && fail "the package carries VCS or cache files"

echo "== dpkg -x"
root=$work/root
dpkg -x "$deb" "$root"
# Nothing from the build: no resources override, no module path, an empty home; system libraries only.
run() { env -i PATH=/usr/bin:/bin HOME="$work/home" XDG_RUNTIME_DIR="$work/runtime" LANG=C.UTF-8 "$@"; }

version=$(run "$root/usr/bin/ponet" --version)
echo "$version"
[[ "$version" == "ponet $(dpkg-deb -f "$deb" Version | sed 's/-.*//')"* ]] || fail "unexpected --version: $version"
help=$(run "$root/usr/bin/ponet" --help)
grep -q '^usage: ponet COMMAND' <<<"$help" || fail "--help has no usage line"

# The man page was generated from the same table as --help: every command of one is in the other.
man=$(gzip -dc "$root/usr/share/man/man1/ponet.1.gz")
grep -q '^\.TH PONET 1' <<<"$man" || fail "ponet.1 has no .TH header"
for section in NAME SYNOPSIS COMMANDS "EXIT STATUS" ENVIRONMENT FILES; do
  grep -qx "\.SH $section" <<<"$man" || fail "ponet.1 has no $section section"
done
commands=$(sed -n '/^commands:/,/^$/p' <<<"$help" | awk 'NF>1 {print $1}')
[[ -n "$commands" ]] || fail "no commands listed by --help"
for c in $commands; do
  grep -q "^\.SS ponet $c\b" <<<"$man" || fail "the man page lacks the command '$c' that --help lists"
done
echo "man page: $(grep -c '^\.SS' <<<"$man") commands, matching --help"

# The installed resources (built-in shapes) and the installed SentencePiece module work from the scratch root.
run "$root/usr/bin/ponet" info --model ponet-tiny >"$work/info.txt" || { cat "$work/info.txt"; fail "ponet info"; }
grep -qi 'parameters' "$work/info.txt" || fail "ponet info printed no parameter count"
if [[ -f $(ls "$root"/usr/lib/*/libponet_spm.so "$root"/usr/lib/ponet-studio/libponet_spm.so 2>/dev/null | head -1) ]]; then
  for i in $(seq 1 60); do echo "the quick brown fox $i jumps over the lazy dog number $i"; done >"$work/corpus.txt"
  # LD_DEBUG=files names every library the loader opens: the module must be the package's copy, not the build's.
  run LD_DEBUG=files "$root/usr/bin/ponet" tokenize --train-spm "$work/corpus.txt" --vocab-size 60 \
    --out "$work/spm" >"$work/spm.txt" 2>&1 || { cat "$work/spm.txt"; fail "SentencePiece from the installed module"; }
  [[ -s "$work/spm/spm.model" ]] || fail "no spm.model written"
  loaded=$(grep -o 'file=[^ ]*libponet_spm\.so' "$work/spm.txt" | sort -u)
  [[ "$loaded" == "file=$root/usr/bin/../lib/"*"/libponet_spm.so" || "$loaded" == "file=$root/usr/lib/"* ]] ||
    fail "the SentencePiece module came from elsewhere: $loaded"
  echo "SentencePiece: trained through the installed module (${loaded#file=})"
fi

if [[ "$gui" == 1 ]]; then
  echo "== desktop entry and AppStream metadata"
  desktop-file-validate "$root/usr/share/applications/ponet-studio.desktop"
  appstreamcli validate --no-net --explain "$root"/usr/share/metainfo/*.metainfo.xml
  studio=$(run QT_QPA_PLATFORM=offscreen "$root/usr/bin/ponet-studio" --version)
  echo "$studio"
  grep -q "$(dpkg-deb -f "$deb" Version | sed 's/-.*//')" <<<"$studio" || fail "ponet-studio --version: $studio"
  pages=$(run QT_QPA_PLATFORM=offscreen "$root/usr/bin/ponet-studio" --list-pages)
  grep -qx model <<<"$pages" || fail "ponet-studio --list-pages: $pages"
fi
echo "PASS: $(basename "$deb") installs and runs from a scratch root"
