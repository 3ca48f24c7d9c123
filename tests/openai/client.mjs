// Drives `moslora serve` with the official OpenAI JavaScript client (the `openai` package pinned in
// package.json). Usage: node client.mjs JOB.json — the job gives the server's base URL, API key and
// the cases; the results go to standard output as one JSON object for openai_test.go to check.
import OpenAI from 'openai';
import { readFileSync } from 'node:fs';

const job = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const client = new OpenAI({ baseURL: job.baseURL, apiKey: job.apiKey, maxRetries: 0 });
const out = { models: [], cases: [], errors: {} };

for await (const m of client.models.list()) {
  out.models.push({ id: m.id, parent: m.parent ?? null });
}

for (const c of job.cases) {
  const params = { model: c.model, max_tokens: c.maxTokens, temperature: 0 };
  const r = { model: c.model, prompt: c.prompt };

  const comp = await client.completions.create({ ...params, prompt: c.prompt });
  r.completion = comp.choices[0].text;
  r.completionFinish = comp.choices[0].finish_reason;
  r.completionUsage = comp.usage;

  let text = '';
  for await (const chunk of await client.completions.create({ ...params, prompt: c.prompt, stream: true })) {
    text += chunk.choices[0]?.text ?? '';
  }
  r.completionStreamed = text;

  const messages = [{ role: 'user', content: c.prompt }];
  const chat = await client.chat.completions.create({ ...params, messages });
  r.chat = chat.choices[0].message.content;
  r.chatRole = chat.choices[0].message.role;

  text = '';
  for await (const chunk of await client.chat.completions.create({ ...params, messages, stream: true })) {
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  r.chatStreamed = text;
  out.cases.push(r);
}

try {
  await client.completions.create({ model: 'no-such-model', prompt: 'x', max_tokens: 1 });
} catch (e) {
  out.errors.unknownModel = { status: e.status, message: e.message };
}
try {
  const bad = new OpenAI({ baseURL: job.baseURL, apiKey: 'wrong-key', maxRetries: 0 });
  await bad.models.list();
} catch (e) {
  out.errors.wrongKey = { status: e.status, message: e.message };
}

process.stdout.write(JSON.stringify(out));
