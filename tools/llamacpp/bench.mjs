// llama.cpp on one GGUF file, CPU only, through node-llama-cpp's prebuilt library (it carries every x86 CPU variant
// and picks one at run time): prefill of a prompt file, then greedy decoding; the best of `runs` runs, as one JSON line.
// usage: node bench.mjs MODEL.gguf PROMPT.txt DECODE_TOKENS THREADS [RUNS]
import {getLlama} from "node-llama-cpp";
import fs from "node:fs";

const [modelPath, promptPath, decodeArg, threadsArg, runsArg] = process.argv.slice(2);
const decode = Number(decodeArg), threads = Number(threadsArg), runs = Number(runsArg ?? 2);
const llama = await getLlama({gpu: false, build: "never"});
const model = await llama.loadModel({modelPath});
const prompt = model.tokenize(fs.readFileSync(promptPath, "utf8"));
let prefill = 0, generate = 0, rss = 0;
for (let run = 0; run < runs; run++) {
    const context = await model.createContext({contextSize: prompt.length + decode + 16, batchSize: 512, threads});
    const sequence = context.getSequence();
    const start = performance.now();
    let firstToken = 0, tokens = 0;
    for await (const token of sequence.evaluate(prompt, {temperature: 0})) {
        if (tokens === 0) {
            firstToken = performance.now();
        }
        if (++tokens > decode) {
            break;
        }
    }
    const end = performance.now();
    prefill = Math.max(prefill, prompt.length / ((firstToken - start) / 1000));
    generate = Math.max(generate, (tokens - 1) / ((end - firstToken) / 1000));
    rss = Math.max(rss, process.memoryUsage().rss);
    await context.dispose();
}
console.log(JSON.stringify({engine: "llama.cpp", prompt_tokens: prompt.length, prefill_tokens_per_s: prefill,
    decode_tokens_per_s: generate, rss_bytes: rss, threads, variant: llama.buildType ?? null}));
process.exit(0);
