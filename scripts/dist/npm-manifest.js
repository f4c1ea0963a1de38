#!/usr/bin/env node
// Writes the package.json of a release npm package on stdout (used by scripts/dist.sh):
//
//   npm-manifest.js platform linux-x64-gnu 0.1.0          the prebuilt addon's package
//   npm-manifest.js main 0.1.0 linux-x64-gnu … <package.json   the JS package, from the repository's
//
// The napi-rs layout: `failsoft` carries JS and types and lists one `failsoft-<platform>` package
// per prebuilt addon in optionalDependencies; npm installs only the one whose os/cpu/libc match.
'use strict';

const fs = require('node:fs');

function fail(message) {
  console.error(`npm-manifest: ${message}`);
  process.exit(2);
}

/** `linux-x64-gnu` → os, cpu and libc fields; the names napi-rs uses. */
function platformFields(platform) {
  const [os, cpu, abi] = platform.split('-');
  if (!os || !cpu) fail(`a platform is os-cpu[-abi], got ${JSON.stringify(platform)}`);
  const fields = { os: [os], cpu: [cpu] };
  if (os === 'linux') {
    if (abi !== 'gnu' && abi !== 'musl') fail(`a linux platform ends in -gnu or -musl, got ${platform}`);
    fields.libc = [abi === 'gnu' ? 'glibc' : 'musl'];
  }
  return fields;
}

const COMMON = {
  license: 'Apache-2.0',
  repository: 'https://example.invalid/failsoft',
  engines: { node: '>=18' },
};

const [kind, ...rest] = process.argv.slice(2);
let manifest;
if (kind === 'platform') {
  const [platform, version] = rest;
  if (!version) fail('usage: npm-manifest.js platform PLATFORM VERSION');
  const addon = `failsoft.${platform}.node`;
  manifest = {
    name: `failsoft-${platform}`,
    version,
    description: `The prebuilt native addon of failsoft for ${platform}`,
    ...platformFields(platform),
    main: addon,
    files: [addon],
    ...COMMON,
  };
} else if (kind === 'main') {
  const [version, ...platforms] = rest;
  if (!version || platforms.length === 0) fail('usage: npm-manifest.js main VERSION PLATFORM... <package.json');
  const source = JSON.parse(fs.readFileSync(0, 'utf8'));
  // No install script and no build tools: the release package runs nothing when installed.
  const { scripts: _scripts, devDependencies: _dev, napi: _napi, ...kept } = source;
  manifest = {
    ...kept,
    version,
    files: ['index.js', 'index.mjs', 'index.d.ts', 'binding.d.ts', 'lib/'],
    optionalDependencies: Object.fromEntries(platforms.map((p) => [`failsoft-${p}`, version])),
    ...COMMON,
  };
} else {
  fail('usage: npm-manifest.js platform|main …');
}
process.stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
