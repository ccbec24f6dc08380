import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as tessera from '../src/index.js';

const INDEX = resolve(dirname(fileURLToPath(import.meta.url)), '../src/index.ts');

/** Every name `src/index.ts` exports, values and types, as the TypeScript compiler sees them. */
function exportedNames(): string[] {
  const program = ts.createProgram([INDEX], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(INDEX);
  const module = source && checker.getSymbolAtLocation(source);
  if (!module) throw new Error(`cannot read the module ${INDEX}`);
  return checker
    .getExportsOfModule(module)
    .map((symbol) => symbol.getName())
    .sort();
}

describe('the public API of the tessera package', () => {
  it('exports exactly these runtime values', () => {
    expect(Object.keys(tessera).sort()).toEqual([
      'AUTH_FAILURES',
      'Authenticator',
      'ERROR_CODES',
      'TesseraError',
      'createHttpServer',
      'isTesseraError',
      'openTessera',
      'resolveConfig',
    ]);
  });

  it('exports exactly these names, types included', () => {
    expect(exportedNames()).toEqual([
      'AUTH_FAILURES',
      'AuthFailureCode',
      'AuthInput',
      'AuthResult',
      'Authenticator',
      'ConfigOverrides',
      'ERROR_CODES',
      'ErrorCode',
      'HttpServerOptions',
      'OpenOptions',
      'Principal',
      'Tessera',
      'TesseraConfig',
      'TesseraError',
      'TesseraServer',
      'User',
      'createHttpServer',
      'isTesseraError',
      'openTessera',
      'resolveConfig',
    ]);
  });
});
