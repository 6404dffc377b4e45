// Drives a KVSlim server with the official openai npm package: node test.mjs BASE_URL (e.g. http://127.0.0.1:8080/v1).
// The server serves "stories" (stories260K with a chat template). Prints one line per check, then "N passed, 0 failed";
// exits 1 at the first failed check.
import OpenAI from "openai";

const baseURL = process.argv[2];
if (!baseURL) {
  console.error("usage: node test.mjs BASE_URL");
  process.exit(2);
}
const client = new OpenAI({ baseURL, apiKey: "unused", maxRetries: 0, timeout: 60_000 });
const model = "stories";
let passed = 0;

function check(name, ok, detail) {
  if (!ok) {
    console.log(`FAIL ${name}: ${detail ?? ""}`);
    console.log(`${passed} passed, 1 failed`);
    process.exit(1);
  }
  passed++;
  console.log(`ok ${name}`);
}

async function streamedText(stream, field) {
  let text = "", finish = null, chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    for (const c of chunk.choices) {
      text += field(c) ?? "";
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  return { text, finish, chunks };
}

const models = await client.models.list();
check("models.list names the model", models.data.some((m) => m.id === model), JSON.stringify(models.data));

const prompt = "Once upon a time";
const completion = await client.completions.create({ model, prompt, max_tokens: 40, temperature: 0 });
const text = completion.choices[0].text;
check("completion has text", text.length > 0, JSON.stringify(completion));
check("completion has usage", completion.usage.prompt_tokens > 0 && completion.usage.completion_tokens > 0,
  JSON.stringify(completion.usage));

const streamed = await streamedText(
  await client.completions.create({ model, prompt, max_tokens: 40, temperature: 0, stream: true }), (c) => c.text);
check("streamed completion equals the whole one", streamed.text === text, `${JSON.stringify(streamed.text)} vs ${JSON.stringify(text)}`);
check("streamed completion came in chunks with a finish reason", streamed.chunks > 1 && streamed.finish !== null,
  JSON.stringify(streamed));

// stop strings: stop at a word from the middle of the greedy text; the answer is the text before it
const words = text.trim().split(/\s+/);
const stop = " " + words[Math.floor(words.length / 2)];
const stopped = await client.completions.create({ model, prompt, max_tokens: 40, temperature: 0, stop: [stop] });
check("stop string ends the text before it", stopped.choices[0].text === text.slice(0, text.indexOf(stop)),
  `${JSON.stringify(stopped.choices[0].text)} stop ${JSON.stringify(stop)} in ${JSON.stringify(text)}`);
check("stop string finish reason", stopped.choices[0].finish_reason === "stop", stopped.choices[0].finish_reason);

const messages = [{ role: "user", content: "Once upon a time there was a little cat." }];
const chat = await client.chat.completions.create({ model, messages, max_tokens: 30, temperature: 0 });
const reply = chat.choices[0].message;
check("chat reply from the assistant", reply.role === "assistant" && reply.content.length > 0, JSON.stringify(chat));
const chatStream = await streamedText(
  await client.chat.completions.create({ model, messages, max_tokens: 30, temperature: 0, stream: true,
    stream_options: { include_usage: true } }), (c) => c.delta?.content);
check("streamed chat equals the whole one", chatStream.text === reply.content,
  `${JSON.stringify(chatStream.text)} vs ${JSON.stringify(reply.content)}`);

const many = await client.chat.completions.create({ model, messages, max_tokens: 20, temperature: 1, seed: 7, n: 3 });
check("n = 3 gives three choices", many.choices.length === 3 && many.choices.map((c) => c.index).sort().join() === "0,1,2",
  JSON.stringify(many.choices));
check("n = 3 choices are sampled apart", new Set(many.choices.map((c) => c.message.content)).size > 1,
  JSON.stringify(many.choices.map((c) => c.message.content)));

try {
  await client.completions.create({ model, prompt, max_tokens: 100000 });
  check("max_tokens beyond the context is refused", false, "no error");
} catch (e) {
  check("max_tokens beyond the context is a 400 BadRequestError", e instanceof OpenAI.BadRequestError && e.status === 400,
    `${e.constructor.name} ${e.status} ${e.message}`);
}
try {
  await client.chat.completions.create({ model: "no-such-model", messages });
  check("unknown model is refused", false, "no error");
} catch (e) {
  check("unknown model is a 404 NotFoundError", e instanceof OpenAI.NotFoundError && e.status === 404,
    `${e.constructor.name} ${e.status} ${e.message}`);
}
// structured output through the client's own helper: parse() sends the schema and parses the answer into .parsed
const person = {
  type: "object",
  properties: {
    name: { type: "string", maxLength: 10 },
    age: { type: "integer", minimum: 0, maximum: 120 },
    mood: { enum: ["happy", "sad"] },
  },
  required: ["name", "age", "mood"],
  additionalProperties: false,
};
for (const seed of [1, 2, 3]) {
  const parsed = await client.chat.completions.parse({
    model, messages: [{ role: "user", content: "Lily was" }], max_tokens: 120, seed,
    response_format: { type: "json_schema", json_schema: { name: "person", strict: true, schema: person } },
  });
  const p = parsed.choices[0].message.parsed;
  check(`parse() under a JSON schema gives an object of that shape (seed ${seed})`,
    p && typeof p.name === "string" && p.name.length <= 10 && Number.isInteger(p.age) && p.age >= 0 && p.age <= 120
      && ["happy", "sad"].includes(p.mood) && Object.keys(p).length === 3,
    JSON.stringify(parsed.choices[0].message));
}
const objectStream = await streamedText(
  await client.chat.completions.create({ model, messages, max_tokens: 100, seed: 5, stream: true,
    response_format: { type: "json_schema", json_schema: { name: "person", schema: person } } }),
  (c) => c.delta?.content);
let streamedPerson = null;
try { streamedPerson = JSON.parse(objectStream.text); } catch (e) { /* reported below */ }
check("streamed answer under a JSON schema parses", streamedPerson !== null && objectStream.finish === "stop",
  JSON.stringify(objectStream));
try {
  await client.chat.completions.create({ model, messages, max_tokens: 10,
    response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "string", format: "email" } } } });
  check("an unsupported schema keyword is refused", false, "no error");
} catch (e) {
  check("an unsupported schema keyword is a 400 naming it", e instanceof OpenAI.BadRequestError && /'format'/.test(e.message),
    `${e.constructor.name} ${e.status} ${e.message}`);
}
// tool calls: a named tool_choice and "required" are decoded under the tools' schemas, so the arguments always parse
const tools = [
  { type: "function", function: { name: "get_weather", description: "Weather in a city", parameters: {
    type: "object", properties: { city: { type: "string", enum: ["Paris", "Rome"] } }, required: ["city"],
    additionalProperties: false } } },
  { type: "function", function: { name: "add", parameters: {
    type: "object", properties: { a: { type: "integer", minimum: 0, maximum: 9 }, b: { type: "integer", minimum: 0, maximum: 9 } },
    required: ["a", "b"], additionalProperties: false } } },
];
const named = await client.chat.completions.create({ model, messages, max_tokens: 100, seed: 1, tools,
  tool_choice: { type: "function", function: { name: "get_weather" } } });
const namedCall = named.choices[0].message.tool_calls?.[0];
check("a named tool_choice gives that call with arguments that parse",
  namedCall?.function.name === "get_weather" && ["Paris", "Rome"].includes(JSON.parse(namedCall.function.arguments).city)
    && named.choices[0].finish_reason === "tool_calls", JSON.stringify(named.choices[0]));
const required = await client.chat.completions.create({ model, messages, max_tokens: 150, seed: 2, tools,
  tool_choice: "required", parallel_tool_calls: false });
const call = required.choices[0].message.tool_calls?.[0];
check("tool_choice required gives one call of a given tool", required.choices[0].message.tool_calls?.length === 1
  && ["get_weather", "add"].includes(call.function.name) && typeof JSON.parse(call.function.arguments) === "object",
  JSON.stringify(required.choices[0]));
// the tool's result goes back as a tool message and the conversation goes on
const followUp = await client.chat.completions.create({ model, max_tokens: 10, tools, messages: [...messages,
  named.choices[0].message, { role: "tool", tool_call_id: namedCall.id, content: "sunny" }] });
check("a tool result message is taken", followUp.choices[0].message.role === "assistant", JSON.stringify(followUp));
console.log(`${passed} passed, 0 failed`);
