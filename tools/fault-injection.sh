#!/usr/bin/env bash
# Re-runs the fault-injection list of issue 19 end to end against ./kvslim, one line per check:
#   PASS|FAIL  item  what was done  ->  what came back
# Needs the stories260K fixture in ../shared/fixtures, curl and python3 (for the bigger request bodies). Takes a few
# minutes on 2 cores (each check starts a JVM). Exit status: the number of failed checks.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
stories="$root/../shared/fixtures/stories260K/stories260K.bin"
tok="$root/../shared/fixtures/stories260K/tok512.bin"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
failed=0

check() { # item, description, condition (exit 0 = pass), evidence
    if [ "$3" = 0 ]; then echo "PASS  $1  $2  ->  $4"; else echo "FAIL  $1  $2  ->  $4"; failed=$((failed + 1)); fi
}
oneline() { grep -v '^WARNING: Using incubator' | tr '\n' ' ' | cut -c1-160; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

./kvslim --version >/dev/null 2>&1 # build once before the timed checks

# 1. a busy port: serve exits 1 with one line naming the port
port=$(free_port)
python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1 &
busy=$!
sleep 1
out=$(timeout 60 ./kvslim serve --model "$stories" --tokenizer "$tok" --port "$port" 2>&1); status=$?
kill $busy 2>/dev/null
check 1 "serve on a busy port" $([ $status = 1 ] && echo "$out" | grep -q "$port" && echo 0 || echo 1) \
    "exit $status: $(echo "$out" | grep 'kvslim:' | oneline)"

# a server with keys for the HTTP checks
port=$(free_port)
KVSLIM_API_KEYS="ops=sk-test" ./kvslim serve --model "$stories" --tokenizer "$tok" --port "$port" \
    >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 60); do grep -q "listening on" "$work/serve.log" && break; sleep 1; done
base="http://127.0.0.1:$port"
auth=(-H "Authorization: Bearer sk-test")
json=(-H "Content-Type: application/json")

# 3. many stop strings are refused at once, not matched for a minute
python3 -c 'import json; print(json.dumps({"prompt": "One day", "max_tokens": 5, "stop": ["x%d" % i for i in range(370000)]}))' \
    >"$work/stops.json"
code=$(curl -s -o "$work/r" -w '%{http_code}' "${auth[@]}" "${json[@]}" --data-binary "@$work/stops.json" \
    "$base/v1/completions")
check 3 "370,000 stop strings" $([ "$code" = 400 ] || [ "$code" = 413 ] && echo 0 || echo 1) "HTTP $code: $(oneline <"$work/r")"

# 4. with keys on, /metrics and the dashboard's data need one; /health stays open
m=$(curl -s -o /dev/null -w '%{http_code}' "$base/metrics")
d=$(curl -s -o /dev/null -w '%{http_code}' "$base/dashboard/data")
h=$(curl -s -o /dev/null -w '%{http_code}' "$base/health")
check 4 "/metrics, /dashboard/data, /health without a key" \
    $([ "$m" = 401 ] && [ "$d" = 401 ] && [ "$h" = 200 ] && echo 0 || echo 1) "HTTP $m, $d, $h"
out=$(KVSLIM_API_KEYS="," timeout 60 ./kvslim serve --model "$stories" --tokenizer "$tok" --port 0 2>&1); status=$?
check 4 "KVSLIM_API_KEYS=','" $([ $status = 1 ] && echo 0 || echo 1) "exit $status: $(echo "$out" | grep 'kvslim:' | oneline)"

# 5. HTTP edges
t=$(curl -s -o "$work/r" -w '%{http_code}' "${auth[@]}" -H "Content-Type: text/plain" \
    --data '{"prompt": "x", "max_tokens": 2}' "$base/v1/completions")
check 5 "POST with Content-Type text/plain" $([ "$t" = 415 ] && echo 0 || echo 1) "HTTP $t: $(oneline <"$work/r")"
g=$(curl -s -D "$work/h" -o /dev/null -w '%{http_code}' "${auth[@]}" "$base/v1/completions")
check 5 "GET /v1/completions" $([ "$g" = 405 ] && grep -qi '^allow: POST' "$work/h" && echo 0 || echo 1) \
    "HTTP $g, $(grep -i '^allow' "$work/h" | tr -d '\r')"
hd=$(curl -s -I -o /dev/null -w '%{http_code}' "$base/health")
check 5 "HEAD /health" $([ "$hd" = 200 ] && echo 0 || echo 1) "HTTP $hd"
printf '{"prompt": "One day", "max_tokens": 3}' | gzip >"$work/body.gz"
gz=$(curl -s -o "$work/gz" -w '%{http_code}' "${auth[@]}" "${json[@]}" -H 'Content-Encoding: gzip' \
    --data-binary @"$work/body.gz" "$base/v1/completions")
check 5 "a gzip body" $([ "$gz" = 200 ] && echo 0 || echo 1) "HTTP $gz: $(oneline <"$work/gz")"
bad=$(curl -s -o "$work/gzbad" -w '%{http_code}' "${auth[@]}" "${json[@]}" -H 'Content-Encoding: gzip' \
    --data '{"prompt": "x"}' "$base/v1/completions")
check 5 "a body that says gzip and is not" $([ "$bad" = 400 ] && grep -q 'could not be read' "$work/gzbad" && echo 0 || echo 1) \
    "HTTP $bad: $(oneline <"$work/gzbad")"
# HTTP/1.0 is refused with 505 by Helidon 4 (HTTP/1.1 only, by design): balancers must check over HTTP/1.1
v10=$(curl -s -0 -o /dev/null -w '%{http_code}' "$base/health")
check 5 "HTTP/1.0 GET /health" $([ "$v10" = 505 ] && echo 0 || echo 1) "HTTP $v10 (Helidon 4 serves HTTP/1.1 only)"

# 7. API details
c=$(curl -s "${auth[@]}" "${json[@]}" --data '{"prompt": "One day", "temperature": 0, "ignore_eos": true}' \
    "$base/v1/completions" | python3 -c 'import json,sys; print(json.load(sys.stdin)["usage"]["completion_tokens"])')
check 7 "completion without max_tokens" $([ "$c" = 16 ] && echo 0 || echo 1) "$c tokens"
e=$(curl -s -o "$work/r" -w '%{http_code}' "${auth[@]}" "${json[@]}" \
    --data '{"prompt": "x", "max_tokens": 2, "presence_penalty": 1}' "$base/v1/completions")
check 7 "presence_penalty 1" $([ "$e" = 400 ] && grep -q presence_penalty "$work/r" && echo 0 || echo 1) "HTTP $e: $(oneline <"$work/r")"
root_field=$(curl -s "${auth[@]}" "$base/v1/models" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["root"])')
check 7 "/v1/models root" $([ "$root_field" = stories260K.bin ] && echo 0 || echo 1) "$root_field"
# 2. a non-streaming client that goes away after 1 s: its 64 sequences are cancelled, not run to the end
curl -s -o /dev/null --max-time 1 "${auth[@]}" "${json[@]}" \
    --data '{"prompt": "Once upon a time", "max_tokens": 480, "n": 64, "ignore_eos": true}' "$base/v1/completions"
sleep 4
aborted=$(curl -s "${auth[@]}" "$base/metrics" | grep '^kvslim:request_success_total{finished_reason="abort"' \
    | awk '{s += $2} END {print s + 0}')
generated=$(curl -s "${auth[@]}" "$base/metrics" | grep '^kvslim:generation_tokens_total' | awk '{s += $2} END {print s + 0}')
check 2 "non-streaming client gone after 1 s (n 64, max_tokens 480)" \
    $(python3 -c "print(0 if float('$aborted') >= 64 and float('$generated') < 64 * 480 else 1)") \
    "$aborted sequences aborted, $generated tokens generated in all"
kill -TERM $server
wait $server; status=$?
check 7 "SIGTERM drain" $([ $status = 0 ] && echo 0 || echo 1) "exit $status"

# 6. a KV budget too small for one sequence
out=$(timeout 60 ./kvslim serve --model "$stories" --tokenizer "$tok" --port 0 --kv-budget 200000 2>&1); status=$?
check 6 "serve --kv-budget 200000" $([ $status = 1 ] && echo "$out" | grep -q "needs at least" && echo 0 || echo 1) \
    "exit $status: $(echo "$out" | grep 'kvslim:' | oneline)"

# 8. a huge layer count, in config.json and in GGUF
mkdir -p "$work/huge"
cat >"$work/huge/config.json" <<'JSON'
{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
 "num_hidden_layers": 2147483647, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 32,
 "max_position_embeddings": 64, "rms_norm_eps": 1e-5}
JSON
out=$(./kvslim inspect "$work/huge" 2>&1); status=$?
check 8 "config.json num_hidden_layers 2^31-1" $([ $status = 1 ] && ! echo "$out" | grep -q OutOfMemory && echo 0 || echo 1) \
    "exit $status: $(echo "$out" | grep 'kvslim:' | oneline)"
tail -c +2 core/src/test/resources/dev/kvslim/core/format/ModelHeaderFuzzTestInputs/modelFiles/gguf-huge-block-count.bin \
    >"$work/huge.gguf"
out=$(./kvslim inspect "$work/huge.gguf" 2>&1); status=$?
check 8 "GGUF llama.block_count 2^31-1" $([ $status = 1 ] && ! echo "$out" | grep -q OutOfMemory && echo 0 || echo 1) \
    "exit $status: $(echo "$out" | grep 'kvslim:' | oneline)"

# 9 and 10. a retrofit checkpoint: flipped bytes, a bad step, a changed seed on resume, a rerun without --resume
./kvslim convert --model ../shared/fixtures/stories260K/derived/stories260K.gguf --to safetensors --out "$work/teacher" \
    >/dev/null 2>&1
retro=(retrofit --teacher "$work/teacher" --out "$work/dms" --target-cr 2 --steps-per-cr 4 --seq 48 --window 4
    --batch 2 --teacher-tokens 1024)
./kvslim "${retro[@]}" --steps 4 >/dev/null 2>&1
cp "$work/dms/checkpoint/train_state.safetensors" "$work/state.bak"
python3 - "$work/dms/checkpoint/train_state.safetensors" <<'PY'
import random, sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); r = random.Random(3)
for _ in range(2000):
    i = len(b) // 2 + r.randrange(len(b) // 2); b[i] ^= 1 + r.randrange(255)
open(p, 'wb').write(b)
PY
out=$(./kvslim "${retro[@]}" --steps 6 --resume 2>&1); status=$?
check 9 "resume after 2,000 flipped bytes" $([ $status = 1 ] && echo "$out" | grep -q "SHA-256" && echo 0 || echo 1) \
    "exit $status: $(echo "$out" | grep 'kvslim:' | oneline)"
cp "$work/state.bak" "$work/dms/checkpoint/train_state.safetensors"
cp "$work/dms/checkpoint/state.json" "$work/state.json.bak"
sed -i 's/"step" : [0-9]*/"step" : -5/' "$work/dms/checkpoint/state.json"
out=$(./kvslim "${retro[@]}" --steps 6 --resume 2>&1); status=$?
check 9 "state.json step -5" $([ $status = 1 ] && echo "$out" | grep -q "state.json's step" && echo 0 || echo 1) \
    "exit $status: $(echo "$out" | grep 'kvslim:' | oneline)"
cp "$work/state.json.bak" "$work/dms/checkpoint/state.json"
before=$(sha256sum "$work/dms/teacher_samples.bin")
start=$(date +%s)
out=$(./kvslim "${retro[@]}" --steps 6 --resume --seed 7 2>&1); status=$?
took=$(($(date +%s) - start))
check 10 "resume with another --seed" \
    $([ $status = 1 ] && [ "$before" = "$(sha256sum "$work/dms/teacher_samples.bin")" ] && echo 0 || echo 1) \
    "exit $status in ${took}s, samples unchanged: $(echo "$out" | grep 'kvslim:' | oneline)"
out=$(./kvslim "${retro[@]}" --steps 4 2>&1); status=$?
check 10 "rerun without --resume" $([ $status = 1 ] && echo "$out" | grep -q -- "--overwrite" && echo 0 || echo 1) \
    "exit $status: $(echo "$out" | grep 'kvslim:' | oneline)"

# 11. quantize into a missing folder
out=$(./kvslim quantize --model ../shared/fixtures/stories260K/derived/stories260K.gguf --type q8_0 \
    --out /nonexistent/dir/x.gguf 2>&1); status=$?
check 11 "quantize --out /nonexistent/dir/x.gguf" $([ $status = 1 ] && [ ! -e /nonexistent ] && echo 0 || echo 1) \
    "exit $status: $(echo "$out" | grep 'kvslim:' | oneline)"

# 12. eval on an empty text, and past the trained context
: >"$work/empty.txt"
out=$(./kvslim eval --model "$stories" --tokenizer "$tok" --text "$work/empty.txt" --kv-policy tova --kv-ratio 2 2>&1)
status=$?
check 12 "eval --text on an empty file" $([ $status = 1 ] && echo 0 || echo 1) "exit $status: $(echo "$out" | grep 'kvslim:' | oneline)"
out=$(./kvslim eval --model models/kvslim-demo --task needle --context 99999 2>&1); status=$?
check 12 "eval --context 99999" $([ $status = 1 ] && echo "$out" | grep -q "trained context" && echo 0 || echo 1) \
    "exit $status: $(echo "$out" | grep 'kvslim:' | oneline)"

# 15. inspect without a tokenizer, usage errors, policy names in any case
cp "$stories" "$work/lone.bin"
out=$(./kvslim inspect "$work/lone.bin" 2>&1); status=$?
check 15 "inspect a llama2.c checkpoint without tokenizer" $([ $status = 0 ] && echo 0 || echo 1) \
    "exit $status: $(echo "$out" | grep vocabulary | oneline)"
out=$(./kvslim generate --model "$stories" --bogus 2>&1); status=$?
check 15 "an unknown option" $([ $status = 2 ] && echo "$out" | grep -q "^kvslim: error: Unknown option" && echo 0 || echo 1) \
    "exit $status: $(echo "$out" | oneline)"
out=$(./kvslim generate --model "$stories" --tokenizer "$tok" --prompt "One day" --max-tokens 8 --kv-policy H2O \
    --kv-ratio 2 2>&1 >/dev/null); status=$?
check 15 "--kv-policy H2O" $([ $status = 0 ] && echo 0 || echo 1) "exit $status: $(echo "$out" | grep 'kv cache' | oneline)"

echo "$failed failed"
exit "$failed"
