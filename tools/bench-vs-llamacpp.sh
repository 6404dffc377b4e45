#!/usr/bin/env bash
# KVSlim and llama.cpp (node-llama-cpp 3.21.1, pinned in tools/llamacpp) on the same GGUF files, one engine right
# after the other, same thread count: prefill of the same number of prompt tokens, then greedy decoding. Prints one
# JSON line per engine and file (to stderr as they come) and a Markdown table with the ratios.
#   tools/bench-vs-llamacpp.sh [--threads N] [--decode N] [--runs N] MODEL.gguf...
# Speed on these shared machines drifts between runs: only the ratios measured here, side by side, mean anything.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
threads=2 decode=128 runs=2
while [ $# -gt 0 ]; do
    case "$1" in
        --threads) threads="$2"; shift 2 ;;
        --decode) decode="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        -*) echo "bench-vs-llamacpp: unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || { echo "usage: tools/bench-vs-llamacpp.sh [--threads N] [--decode N] [--runs N] MODEL.gguf..." >&2; exit 2; }
command -v node >/dev/null || { echo "bench-vs-llamacpp: needs Node.js 20 and npm" >&2; exit 1; }
js="$root/tools/llamacpp"
if [ ! -d "$js/node_modules/node-llama-cpp" ]; then
    (cd "$js" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi
prompt="$(mktemp)"
trap 'rm -f "$prompt"' EXIT
# about 500 tokens of plain English for every vocabulary
for i in $(seq 1 45); do
    printf 'Once upon a time, a little girl named Lily found a big red ball in the park and played with it all day. '
done > "$prompt"

rows=()
for model in "$@"; do
    [ -f "$model" ] || { echo "bench-vs-llamacpp: no such file: $model" >&2; exit 1; }
    ref=$(node "$js/bench.mjs" "$model" "$prompt" "$decode" "$threads" "$runs")
    echo "$ref" >&2
    n=$(echo "$ref" | python3 -c 'import json,sys; print(json.load(sys.stdin)["prompt_tokens"])')
    ours=$("$root/kvslim" bench --model "$model" --threads "$threads" --prompt-tokens "$n" --decode-tokens "$decode" \
        --repeats "$runs" --json 2>/dev/null)
    echo "$ours" >&2
    rows+=("$(python3 - "$model" "$ref" "$ours" <<'PY'
import json, os, sys
model, ref, ours = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
def r(a, b): return f"{a / b:.2f}x"
print(f"| {os.path.basename(model)} | {ours['type']} | {ref['prompt_tokens']} "
      f"| {ref['prefill_tokens_per_s']:.1f} | {ours['prefill_best_tokens_per_s']:.1f} | {r(ours['prefill_best_tokens_per_s'], ref['prefill_tokens_per_s'])} "
      f"| {ref['decode_tokens_per_s']:.2f} | {ours['decode_best_tokens_per_s']:.2f} | {r(ours['decode_best_tokens_per_s'], ref['decode_tokens_per_s'])} "
      f"| {ref['rss_bytes'] / 2**20:.0f} | {ours['rss_bytes'] / 2**20:.0f} |")
PY
)")
done
echo
echo "$threads threads, $decode greedy tokens, best of $runs runs each; $(date -u +%Y-%m-%d)"
echo
echo "| file | KVSlim types | prompt | llama.cpp prefill t/s | KVSlim prefill | ratio | llama.cpp decode t/s | KVSlim decode | ratio | llama.cpp RSS MiB | KVSlim RSS MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
