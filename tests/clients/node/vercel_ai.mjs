// The Vercel AI SDK (`ai` with `@ai-sdk/openai`) against the mount: `openai.chat(model)` (Chat
// Completions) and `openai(model)` (the Responses API, the provider's default). For each: a tool
// the SDK runs and answers (two model calls), `generateObject`, then `generateText` with a
// string prompt and with a message list, and `streamText`, with usage. The scripted calls come
// first, in the order the test queued them. Prints one JSON line for test_vercel_ai.py.
import { createOpenAI } from "@ai-sdk/openai";
import { generateObject, generateText, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";

const openai = createOpenAI({ baseURL: process.env.AUTHAI_BASE_URL, apiKey: process.env.AUTHAI_JWT });
const modelId = process.env.AUTHAI_MODEL;
const prompt = process.env.AUTHAI_PROMPT;
const modes = { chat: () => openai.chat(modelId), responses: () => openai(modelId) };
const out = {};

for (const [mode, model] of Object.entries(modes)) {
  const withTool = await generateText({
    model: model(),
    prompt: "Weather in Paris?",
    maxRetries: 0,
    stopWhen: stepCountIs(3),
    tools: {
      get_weather: tool({
        description: "The weather in a city.",
        inputSchema: z.object({ city: z.string() }),
        execute: async ({ city }) => process.env.AUTHAI_TOOL_RESULT,
      }),
    },
  });
  const object = await generateObject({
    model: model(),
    prompt,
    maxRetries: 0,
    schema: z.object({ city: z.string(), population: z.number().int() }),
  });
  out[mode] = {
    tool: { answer: withTool.text, steps: withTool.steps.length, args: withTool.steps[0].toolCalls[0]?.input },
    object: object.object,
  };
}

for (const [mode, model] of Object.entries(modes)) {
  const plain = await generateText({ model: model(), prompt, maxRetries: 0 });
  const listed = await generateText({
    model: model(),
    messages: [{ role: "user", content: prompt }],
    maxRetries: 0,
  });
  const stream = streamText({ model: model(), prompt, maxRetries: 0 });
  let streamed = "";
  let parts = 0;
  for await (const delta of stream.textStream) {
    streamed += delta;
    parts += 1;
  }
  const usage = await stream.usage;
  Object.assign(out[mode], {
    text: plain.text,
    usage: plain.usage.totalTokens,
    list: listed.text,
    streamed,
    parts,
    streamedUsage: usage.totalTokens,
  });
}

console.log(JSON.stringify(out));
