#!/usr/bin/env bash
# KVSlim and llama.cpp (node-llama-cpp 3.21.1, pinned in tools/llamacpp) on the same GGUF files, one engine right
# after the other, same thread count: prefill of the same number of prompt tokens, then greedy decoding. Each file is
# measured in --rounds rounds (default 2), the engines taking turns to go first, --runs runs each per round; the
# best run of each engine counts. Prints one JSON line per engine and round (to stderr as they come) and a Markdown
# table with the ratios.
#   tools/bench-vs-llamacpp.sh [--threads N] [--decode N] [--runs N] [--rounds N] MODEL.gguf...
# Speed on these shared machines drifts between runs (and a process right after another sometimes runs at half
# speed): only ratios measured here, side by side and in turns, mean anything.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
threads=2 decode=128 runs=2 rounds=2
while [ $# -gt 0 ]; do
    case "$1" in
        --threads) threads="$2"; shift 2 ;;
        --decode) decode="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        -*) echo "bench-vs-llamacpp: unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || { echo "usage: tools/bench-vs-llamacpp.sh [--threads N] [--decode N] [--runs N] [--rounds N] MODEL.gguf..." >&2; exit 2; }
command -v node >/dev/null || { echo "bench-vs-llamacpp: needs Node.js 20 and npm" >&2; exit 1; }
js="$root/tools/llamacpp"
if [ ! -d "$js/node_modules/node-llama-cpp" ]; then
    (cd "$js" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi
prompt="$(mktemp)"
trap 'rm -f "$prompt"' EXIT
# about 500 tokens of plain English in a Llama vocabulary
for i in $(seq 1 19); do
    printf 'Once upon a time, a little girl named Lily found a big red ball in the park and played with it all day. '
done > "$prompt"

llamacpp() {
    node "$js/bench.mjs" "$1" "$prompt" "$decode" "$threads" "$runs"
}
kvslim() {
    "$root/kvslim" bench --model "$1" --threads "$threads" --prompt-tokens "$2" --decode-tokens "$decode" \
        --repeats "$runs" --json 2>/dev/null
}

rows=()
for model in "$@"; do
    [ -f "$model" ] || { echo "bench-vs-llamacpp: no such file: $model" >&2; exit 1; }
    refs=() ours=()
    for round in $(seq 1 "$rounds"); do
        if [ $((round % 2)) = 1 ]; then
            refs+=("$(llamacpp "$model")"); echo "${refs[-1]}" >&2
            n=$(echo "${refs[-1]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["prompt_tokens"])')
            ours+=("$(kvslim "$model" "$n")"); echo "${ours[-1]}" >&2
        else
            ours+=("$(kvslim "$model" "$n")"); echo "${ours[-1]}" >&2
            refs+=("$(llamacpp "$model")"); echo "${refs[-1]}" >&2
        fi
    done
    rows+=("$(python3 - "$model" "$(printf '%s\n' "${refs[@]}")" "$(printf '%s\n' "${ours[@]}")" <<'PY'
import json, os, sys
model = sys.argv[1]
refs = [json.loads(l) for l in sys.argv[2].splitlines() if l.strip()]
ours = [json.loads(l) for l in sys.argv[3].splitlines() if l.strip()]
best = lambda runs, key: max(r[key] for r in runs)
rp, rd = best(refs, "prefill_tokens_per_s"), best(refs, "decode_tokens_per_s")
op, od = best(ours, "prefill_best_tokens_per_s"), best(ours, "decode_best_tokens_per_s")
print(f"| {os.path.basename(model)} | {ours[0]['type']} | {refs[0]['prompt_tokens']} | {rp:.1f} | {op:.1f} | {op / rp:.2f}x "
      f"| {rd:.2f} | {od:.2f} | {od / rd:.2f}x | {best(refs, 'rss_bytes') / 2**20:.0f} | {best(ours, 'rss_bytes') / 2**20:.0f} |")
PY
)")
done
echo
echo "$threads threads, $decode greedy tokens, best of $rounds rounds x $runs runs each; $(date -u +%Y-%m-%d)"
echo
echo "| file | KVSlim types | prompt | llama.cpp prefill t/s | KVSlim prefill | ratio | llama.cpp decode t/s | KVSlim decode | ratio | llama.cpp RSS MiB | KVSlim RSS MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
