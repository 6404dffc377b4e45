// llama.cpp's next-token probabilities at every position of a text, for golden files: BOS plus the text's tokens are
// fed in one controlled evaluation, and at each position the `top` most probable next tokens are written with their
// probabilities (softmax of the logits: temperature 1, no top-k/top-p/min-p cut).
// usage: node probabilities.mjs MODEL.gguf "TEXT" TOP  -> one JSON object on stdout
import {getLlama} from "node-llama-cpp";

const [modelPath, text, topArg] = process.argv.slice(2);
const top = Number(topArg ?? 10);
const llama = await getLlama({gpu: false, build: "never"});
const model = await llama.loadModel({modelPath});
const tokens = [model.tokens.bos, ...model.tokenize(text)];
const context = await model.createContext({contextSize: tokens.length + 8, threads: 1});
const sequence = context.getSequence();
const options = {temperature: 1, topK: 0, topP: 1, minP: 0};
const input = tokens.map(t => [t, {generateNext: {probabilities: true, options}}]);
const output = await sequence.controlledEvaluate(input);
const positions = output.map(o => [...o.next.probabilities.entries()].slice(0, top).map(([id, p]) => [id, p]));
console.log(JSON.stringify({tokens, top, positions}));
process.exit(0);
