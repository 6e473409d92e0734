// OpenAI client test: the official `openai` npm package against a running worker-orcd.
// Usage: WORKER_URL=http://127.0.0.1:PORT node openai_client.mjs   (run by openai_client.sh)
// Checks a completion, a chat completion and streamed ones parse into the client's types,
// that streamed and non-streamed greedy output agree, and that a 400 surfaces as
// BadRequestError.
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const client = new OpenAI({
  baseURL: `${process.env.WORKER_URL}/v1`,
  apiKey: 'unused',          // worker-orcd does not authenticate
  timeout: 30000,
  maxRetries: 0,
});
const words = ['the', 'cat', 'Lily', 'Tom', 'park', 'ball', 'happy', 'tree', 'sun', 'dog'];
const randomText = (n) =>
  Array.from({ length: n }, () => words[Math.floor(Math.random() * words.length)]).join(' ');
const maxTokens = 5 + Math.floor(Math.random() * 10);

const models = await client.models.list();
assert.ok(models.data.length === 1 && typeof models.data[0].id === 'string');
const model = models.data[0].id;

const prompt = `Once upon a time ${randomText(2)}`;
const completion = await client.completions.create({
  model, prompt, max_tokens: maxTokens, temperature: 0,
});
assert.equal(completion.object, 'text_completion');
assert.equal(typeof completion.choices[0].text, 'string');
assert.ok(['stop', 'length'].includes(completion.choices[0].finish_reason));
assert.ok(completion.usage.completion_tokens <= maxTokens);
assert.equal(completion.usage.total_tokens,
  completion.usage.prompt_tokens + completion.usage.completion_tokens);

let streamedText = '';
const cstream = await client.completions.create({
  model, prompt, max_tokens: maxTokens, temperature: 0, stream: true,
});
for await (const chunk of cstream) streamedText += chunk.choices[0]?.text ?? '';
assert.equal(streamedText, completion.choices[0].text);

const messages = [
  { role: 'system', content: 'You tell short stories.' },
  { role: 'user', content: randomText(4) },
];
const chat = await client.chat.completions.create({
  model, messages, max_tokens: maxTokens, temperature: 0,
});
assert.equal(chat.object, 'chat.completion');
assert.equal(chat.choices[0].message.role, 'assistant');
assert.equal(typeof chat.choices[0].message.content, 'string');

let chatStreamed = '';
let sawRole = false;
const stream = await client.chat.completions.create({
  model, messages, max_tokens: maxTokens, temperature: 0, stream: true,
});
for await (const chunk of stream) {
  const delta = chunk.choices[0]?.delta ?? {};
  if (delta.role === 'assistant') sawRole = true;
  chatStreamed += delta.content ?? '';
}
assert.ok(sawRole, 'no assistant role chunk');
assert.equal(chatStreamed, chat.choices[0].message.content);

await assert.rejects(
  client.chat.completions.create({ model, messages, temperature: 5 }),
  (err) => err instanceof OpenAI.BadRequestError && err.status === 400,
);
console.log(`openai client test passed (model ${model}, ${maxTokens} tokens)`);
