// The official `openai` npm package against the mount (baseURL = the mount's /v1, apiKey = the
// session JWT). The calls that need a scripted answer come first, in the order the test queued
// them: a tool round trip, then structured output; then models, chat, and the Responses API.
// Prints one JSON line for tests/clients/test_node_openai.py.
import OpenAI from "openai";

const client = new OpenAI({
  baseURL: process.env.AUTHAI_BASE_URL,
  apiKey: process.env.AUTHAI_JWT,
  maxRetries: 0,
  timeout: 30_000,
});
const model = process.env.AUTHAI_MODEL;
const prompt = process.env.AUTHAI_PROMPT;
const out = {};

const tools = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "The weather in a city.",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
  },
];
const messages = [{ role: "user", content: "Weather in Paris?" }];
const asked = await client.chat.completions.create({ model, messages, tools });
const call = asked.choices[0].message.tool_calls[0];
messages.push(asked.choices[0].message);
messages.push({ role: "tool", tool_call_id: call.id, content: process.env.AUTHAI_TOOL_RESULT });
const answered = await client.chat.completions.create({ model, messages, tools });
out.tool = {
  finish: asked.choices[0].finish_reason,
  args: JSON.parse(call.function.arguments),
  answer: answered.choices[0].message.content,
};

const schema = {
  type: "object",
  properties: { city: { type: "string" }, population: { type: "integer" } },
  required: ["city", "population"],
  additionalProperties: false,
};
const structured = await client.chat.completions.create({
  model,
  messages: [{ role: "user", content: prompt }],
  response_format: { type: "json_schema", json_schema: { name: "city", schema, strict: true } },
});
out.structured = JSON.parse(structured.choices[0].message.content);

out.models = [];
for await (const m of client.models.list()) out.models.push(m.id);

const plain = await client.chat.completions.create({
  model,
  messages: [{ role: "user", content: prompt }],
});
out.chat = { text: plain.choices[0].message.content, usage: plain.usage.total_tokens };

const stream = await client.chat.completions.create({
  model,
  messages: [{ role: "user", content: prompt }],
  stream: true,
  stream_options: { include_usage: true },
});
let streamed = "";
let streamUsage = 0;
for await (const chunk of stream) {
  streamed += chunk.choices[0]?.delta?.content ?? "";
  if (chunk.usage) streamUsage = chunk.usage.total_tokens;
}
out.stream = { text: streamed, usage: streamUsage };

out.responses = {};
for (const [shape, input] of [
  ["string", prompt],
  ["list", [{ role: "user", content: prompt }]],
]) {
  const response = await client.responses.create({ model, input });
  const events = await client.responses.create({ model, input, stream: true });
  let text = "";
  let final = null;
  for await (const event of events) {
    if (event.type === "response.output_text.delta") text += event.delta;
    if (event.type === "response.completed") final = event.response;
  }
  out.responses[shape] = {
    text: response.output_text,
    usage: response.usage.total_tokens,
    streamed: text,
    streamedUsage: final.usage.total_tokens,
  };
}

console.log(JSON.stringify(out));
