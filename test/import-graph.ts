// What a source file imports, read the way the package and architecture tests need it.
import { readFileSync } from 'node:fs';

const IMPORT = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

export interface ImportEdge {
  specifier: string;
  /** `import type` / `export type`: erased by TypeScript, never loaded at run time. */
  typeOnly: boolean;
  /** `import('x')`: loaded when that code runs, not when the file loads. */
  dynamic: boolean;
}

/** Every static and dynamic import of `file`, type-only ones marked. */
export function importsOf(file: string): ImportEdge[] {
  const text = readFileSync(file, 'utf8');
  const edges = [...text.matchAll(IMPORT)].map((m) => ({ specifier: m[3]!, typeOnly: m[2] !== undefined, dynamic: false }));
  edges.push(...[...text.matchAll(DYNAMIC)].map((m) => ({ specifier: m[1]!, typeOnly: false, dynamic: true })));
  return edges;
}
