// The package from an ES module (`import`), type-checked with usage.ts.
import failsoft, { Client, http } from 'failsoft';

const client = new Client({ source: http('http://localhost:8080/{key}') });
const value = client.getSync('greeting', { fallback: 'hi' });
console.log(value.value, failsoft.compile('{{a}}', { a: 1 }));
await client.close();
