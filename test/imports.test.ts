import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importProblems, importsOf, mayImport, topLevelRules } from './support/import-rules.js';
import { projectFiles, readProjectFile } from './support/source-files.js';

const sources = projectFiles('src').filter((file) => file.endsWith('.ts'));
const readmes = projectFiles('src').filter((file) => file.endsWith('/README.md'));
const topLevel = topLevelRules(readProjectFile('src/README.md'));
const folderRules = new Map(readmes.map((file) => [dirname(file).replace(/^src\/?/, ''), mayImport(readProjectFile(file))]));
const rulesFor = (owner: string) => (owner.endsWith('.ts') ? topLevel.get(owner) : folderRules.get(owner));

describe('imports between the parts of src/', () => {
  it('every folder of src/ has a README that says what it may import', () => {
    const folders = [...new Set(sources.map((file) => dirname(file)))].filter((folder) => folder !== 'src').sort();
    expect(folders.filter((folder) => !folderRules.get(folder.replace(/^src\//, '')))).toEqual([]);
    expect(sources.filter((file) => dirname(file) === 'src').filter((file) => !topLevel.has(file.slice(4)))).toEqual([]);
  });

  it('no file imports from a part of src/ its folder README (or src/README.md for the top) does not allow', () => {
    const problems = sources.flatMap((file) => importProblems(file.slice(4), readProjectFile(file), rulesFor));
    expect(problems).toEqual([]);
  });

  it('catches an import the rules forbid, static, type-only, re-exported or dynamic', () => {
    const rules = (owner: string) => ({ repos: ['db/'], 'clock.ts': [] })[owner];
    expect(importsOf("import type { A } from '../auth/a.js';\nexport { b } from './b.js';\nconst c = await import('../c.js');")).toEqual([
      '../auth/a.js',
      './b.js',
      '../c.js',
    ]);
    expect(importProblems('repos/users.ts', "import { x } from '../db/query.js';\nimport { y } from './progress.js';", rules)).toEqual([]);
    expect(importProblems('repos/users.ts', "import type { Authenticator } from '../auth/authenticator.js';", rules)).toEqual([
      "src/repos/users.ts imports src/auth/authenticator.ts, which repos's rules do not allow",
    ]);
    expect(importProblems('clock.ts', "import { z } from 'zod';\nimport { config } from './config.js';", rules)).toEqual([
      "src/clock.ts imports src/config.ts, which clock.ts's rules do not allow",
    ]);
    expect(importProblems('sync/x.ts', '', rules)).toEqual([
      'src/sync/x.ts: no import rules for src/sync/ (a README\'s "May import:" line)',
    ]);
  });
});
