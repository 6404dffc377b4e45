#!/usr/bin/env bash
# Goldens for core's QuantizerAgainstLlamaCppTest: stories260K (the shared GGUF conversion) quantised by KVSlim's own
# `quantize` to each type it writes, then read and run by llama.cpp (node-llama-cpp 3.21.1, CPU, 1 thread): the ten
# most probable next tokens at every position of a fixed text. The SHA-256 of each quantised file goes in its golden,
# so the test knows it runs the very bytes llama.cpp read. Needs Node.js 20 and npm; CI only reads the output.
#   tools/llamacpp/make-quantizer-goldens.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
js="$root/tools/llamacpp"
src="$root/../shared/fixtures/stories260K/derived/stories260K.gguf"
out="$root/core/src/test/resources/llamacpp-quantized"
text="Once upon a time, there was a little girl named Lily. She loved to play outside with her big red ball."
[ -d "$js/node_modules/node-llama-cpp" ] || (cd "$js" && npm ci --no-audit --no-fund --loglevel=error)
mkdir -p "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for type in q8_0 q4_0 q4_1 q5_0 q5_1; do
    file="$tmp/stories260K-$type.gguf"
    "$root/kvslim" quantize --model "$src" --type "$type" --out "$file" 2>/dev/null
    sha=$(sha256sum "$file" | cut -d' ' -f1)
    node "$js/probabilities.mjs" "$file" "$text" 10 | python3 -c '
import json, sys
d = json.load(sys.stdin)
d = {"type": sys.argv[1], "sha256": sys.argv[2], "text": sys.argv[3], **d}
json.dump(d, open(sys.argv[4], "w"), separators=(",", ":"))
' "${type^^}" "$sha" "$text" "$out/stories260K-${type^^}.json"
    echo "wrote $out/stories260K-${type^^}.json ($sha)"
done
