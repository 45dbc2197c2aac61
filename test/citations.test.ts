import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { citationProblems, type Doc, docProblems, parseDoc } from './support/citations.js';
import { projectFiles, readProjectFile } from './support/source-files.js';

const docFiles = projectFiles('docs').filter((file) => file.endsWith('.md'));
const docs = new Map<string, Doc>(docFiles.map((file) => [basename(file), parseDoc(readProjectFile(file))]));

describe('citations', () => {
  it('every comment in src/ cites only what is in the repository, and upstream code only at a pinned commit', () => {
    const problems = projectFiles('src')
      .filter((file) => file.endsWith('.ts'))
      .flatMap((file) => citationProblems(file, readProjectFile(file), docs));
    expect(problems).toEqual([]);
  });

  it("every link of docs/ and README's links into it resolve, and every source it gives is a permalink", () => {
    const problems = [
      ...docFiles.flatMap((file) => docProblems(file, readProjectFile(file), docs, true)),
      ...docProblems('README.md', readProjectFile('README.md'), docs, false),
    ];
    expect(problems).toEqual([]);
  });

  it('catches each way a comment can point outside the repository or at unpinned upstream code', () => {
    const cite = (comment: string) => citationProblems('src/x.ts', `${comment}\nconst x = 1;\n`, docs);
    expect(cite('/** As PROTOCOL.md §2 says. */')).toEqual(['src/x.ts:1: cites PROTOCOL.md outside docs/']);
    expect(cite('/** See notes/cwa.md §1.2. */')).toEqual(['src/x.ts:1: cites a research note outside the repository (notes/)']);
    expect(cite('// The oracle in ../shared/oracle.')).toEqual(['src/x.ts:1: cites the shared working folder (../shared)']);
    expect(cite('/** docs/PROTOCOL.md §9.9 */')).toEqual(['src/x.ts:1: cites docs/PROTOCOL.md §9.9, which has no such section']);
    expect(cite('/** docs/UPSTREAM.md#no-such-fact */')).toEqual([
      'src/x.ts:1: cites docs/UPSTREAM.md#no-such-fact, which has no such section',
    ]);
    expect(cite('/** As CWA kosync.py does. */')).toEqual([
      'src/x.ts:1: names kosync.py without a pinned permalink to it, here or in the docs/ section it cites',
    ]);
    // A section that pins another file does not pin this one.
    expect(cite('/** helper.py (docs/UPSTREAM.md#koreader-keys-and-document-ids) */')).toHaveLength(1);
    const unpinned = 'https://github.com/janeczku/calibre-web/blob/master/cps/helper.py#L243';
    expect(cite(`/**\n * helper.py:\n * ${unpinned}\n */`)).toEqual([
      `src/x.ts:3: ${unpinned} is not a permalink pinned to a commit with its lines`,
      'src/x.ts:1: names helper.py without a pinned permalink to it, here or in the docs/ section it cites',
    ]);
    expect(cite('/** CWA kosync.py authenticate_user (docs/UPSTREAM.md#cwa-the-original-kosyncpy). */')).toEqual([]);
    const pinned = 'https://github.com/janeczku/calibre-web/blob/c3756a903e7d91b2ab7e12c1b5ff818a61cc1e16/cps/helper.py#L243-L263';
    expect(cite(`/**\n * helper.py get_valid_filename:\n * ${pinned}\n */`)).toEqual([]);
  });
});
