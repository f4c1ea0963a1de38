// The package's types: lib/*.d.ts, generated from ts/ by `npm run build:ts` (checked by
// `npm run check:generated`).
export * from './lib/index';
