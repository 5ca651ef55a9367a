// The reference relay's client path: the official `openai` package with the relay as `baseURL`
// and the session JWT as `apiKey`. Prints one JSON line with what a plain and a streamed chat
// completion returned, for tests/standalone/test_serve_node_client.py to check.
import OpenAI from "openai";

const client = new OpenAI({
  baseURL: process.env.AUTHAI_BASE_URL,
  apiKey: process.env.AUTHAI_JWT,
  maxRetries: 0,
  timeout: 30_000,
});
const messages = [{ role: "user", content: process.env.AUTHAI_PROMPT ?? "hello" }];

const plain = await client.chat.completions.create({ model: "gpt-5.4", messages });

const stream = await client.chat.completions.create({ model: "gpt-5.4", messages, stream: true });
let streamed = "";
let chunks = 0;
let finish = null;
for await (const chunk of stream) {
  chunks += 1;
  const choice = chunk.choices[0];
  if (choice?.delta?.content) streamed += choice.delta.content;
  if (choice?.finish_reason) finish = choice.finish_reason;
}

let unauthorized = null;
try {
  await new OpenAI({ baseURL: process.env.AUTHAI_BASE_URL, apiKey: "not-a-jwt", maxRetries: 0 })
    .chat.completions.create({ model: "gpt-5.4", messages });
} catch (err) {
  unauthorized = { name: err.constructor.name, status: err.status };
}

console.log(
  JSON.stringify({
    plain: { content: plain.choices[0].message.content, finish: plain.choices[0].finish_reason },
    streamed: { content: streamed, chunks, finish },
    unauthorized,
  }),
);
