'use strict';
// The package as users load it: require() and import give the same API, and index.d.ts
// declares exactly what the package exports at run time.

const assert = require('node:assert/strict');
const path = require('node:path');
const { test, describe } = require('node:test');

const PKG = path.resolve(__dirname, '..');
const cjs = require('failsoft'); // the package's own name resolves to itself through `exports`

function typescript() {
  try {
    return require('typescript');
  } catch {
    return null;
  }
}

describe('package', () => {
  test('require_and_import_give_the_same_api', async () => {
    assert.equal(cjs, require('..'));
    const esm = await import('failsoft');
    for (const name of Object.keys(cjs)) assert.equal(esm[name], cjs[name], name);
    assert.deepEqual(Object.keys(esm).filter((k) => k !== 'default').sort(), Object.keys(cjs).sort());
    assert.equal(esm.default, cjs);
  });

  test('index_d_ts_declares_every_runtime_export', { skip: typescript() ? false : 'typescript is not installed' }, () => {
    const ts = typescript();
    const file = path.join(PKG, 'index.d.ts');
    const program = ts.createProgram([file], { strict: true, types: [] });
    const checker = program.getTypeChecker();
    const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(file));
    const declared = new Map();
    for (const s of checker.getExportsOfModule(moduleSymbol)) {
      const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
      if (target.flags & ts.SymbolFlags.Value) declared.set(s.name, target);
    }
    assert.deepEqual([...declared.keys()].sort(), Object.keys(cjs).sort());
    // Each class declares the public methods and accessors its prototype has.
    for (const [name, symbol] of declared) {
      if (!(symbol.flags & ts.SymbolFlags.Class)) continue;
      const members = [];
      for (const [member, m] of symbol.members) {
        const isPrivate = (m.valueDeclaration?.modifiers ?? []).some((x) => x.kind === ts.SyntaxKind.PrivateKeyword);
        if (member === '__constructor' || member.startsWith('__#') || isPrivate) continue;
        if (m.flags & (ts.SymbolFlags.Method | ts.SymbolFlags.GetAccessor)) members.push(member);
      }
      const proto = Object.getOwnPropertyNames(cjs[name].prototype).filter((p) => p !== 'constructor' && p !== 'name');
      assert.deepEqual(members.sort(), proto.sort(), `${name}'s methods`);
    }
  });
});
