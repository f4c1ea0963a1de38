// The package from an ES module (`import`), type-checked with usage.ts.
import failsoft, { Client, http, OpenAI, OpenAICompatibleClient } from 'failsoft';

const client = new Client({ source: http('http://localhost:8080/{key}') });
const value = client.getSync('greeting', { fallback: 'hi' });
console.log(value.value, failsoft.compile('{{a}}', { a: 1 }));
await client.close();

const llm = new OpenAI({ baseURL: 'http://localhost:8000/v1', fallbackClient: new OpenAICompatibleClient({ baseURL: 'http://localhost:8001/v1' }) });
console.log(llm.baseURL, typeof llm.chat.completions.create);
