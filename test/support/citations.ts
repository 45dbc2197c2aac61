/**
 * The rules for what comments may cite (test/citations.test.ts): only what is in the repository, and
 * upstream behaviour only through a source pinned to a commit.
 */

/** A GitHub permalink: a file at a full commit id, with the lines it rests on. */
const PERMALINK = /^https:\/\/github\.com\/[\w.-]+\/[\w.-]+\/blob\/[0-9a-f]{40}\/[^#\s]+#L\d+(?:-L\d+)?$/;
const GITHUB_URL = /https:\/\/github\.com\/[^\s)>\]`'"]+/g;
/** An upstream source file a comment names: Python (Calibre-Web, CWA, werkzeug) or Lua (KOReader). */
const UPSTREAM_FILE = /\b[\w-]+\.(?:py|lua)\b/g;

/** Where a comment points outside the repository: the shared working folder and its notes. */
const OUTSIDE = [
  { pattern: /(?<!docs\/)\bPROTOCOL\.md/, what: 'PROTOCOL.md outside docs/' },
  { pattern: /\bnotes\/[\w-]+\.md/, what: 'a research note outside the repository (notes/)' },
  { pattern: /(?:\.\.\/|\/work\/)shared\b/, what: 'the shared working folder (../shared)' },
];

/** A markdown document: its headings' GitHub anchors and section numbers, and the text under each anchor. */
export interface Doc {
  anchors: Map<string, string>;
  sections: Set<string>;
}

/** GitHub's anchor of a heading: lower case, punctuation other than `-` and `_` dropped, spaces as `-`. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

export function parseDoc(text: string): Doc {
  const anchors = new Map<string, string>();
  const sections = new Set<string>();
  let current: string | undefined;
  for (const line of text.split('\n')) {
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      current = anchorOf(heading[2]!);
      anchors.set(current, '');
      const number = /^(\d+(?:\.\d+)*)\.?\s/.exec(heading[2]!);
      if (number) sections.add(number[1]!);
    } else if (current !== undefined) {
      anchors.set(current, `${anchors.get(current)}${line}\n`);
    }
  }
  return { anchors, sections };
}

/** The comment blocks of a source file: runs of lines that are comments, with the line each starts on. */
function commentBlocks(source: string): { line: number; text: string }[] {
  const blocks: { line: number; text: string }[] = [];
  let open: { line: number; lines: string[] } | undefined;
  source.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    const comment = line.startsWith('//') || line.startsWith('/*') || line.startsWith('*');
    const trailing = !comment && /\s\/\/\s/.test(raw) ? raw.slice(raw.indexOf(' // ')) : undefined;
    if (comment) {
      open ??= { line: i + 1, lines: [] };
      open.lines.push(line);
      return;
    }
    if (open) blocks.push({ line: open.line, text: open.lines.join('\n') });
    open = undefined;
    if (trailing) blocks.push({ line: i + 1, text: trailing });
  });
  if (open) blocks.push({ line: open.line, text: open.lines.join('\n') });
  return blocks;
}

/** Every problem with what `source` (a file of src/) cites, given the documents of docs/. */
export function citationProblems(file: string, source: string, docs: ReadonlyMap<string, Doc>): string[] {
  const problems: string[] = [];
  const at = (line: number, problem: string) => problems.push(`${file}:${line}: ${problem}`);
  source.split('\n').forEach((text, i) => {
    for (const { pattern, what } of OUTSIDE) if (pattern.test(text)) at(i + 1, `cites ${what}`);
    for (const url of text.match(GITHUB_URL) ?? []) {
      if (!PERMALINK.test(url)) at(i + 1, `${url} is not a permalink pinned to a commit with its lines`);
    }
  });
  for (const block of commentBlocks(source)) {
    for (const [, name, anchor] of block.text.matchAll(/docs\/([\w-]+\.md)(?:#([\w-]+))?/g)) {
      const doc = docs.get(name!);
      if (!doc) at(block.line, `cites docs/${name}, which does not exist`);
      else if (anchor !== undefined && !doc.anchors.has(anchor)) at(block.line, `cites docs/${name}#${anchor}, which has no such section`);
    }
    for (const [, refs] of block.text.matchAll(/docs\/PROTOCOL\.md((?:\s*(?:,|and)?\s*§\d+(?:\.\d+)?(?:–\d+(?:\.\d+)?)?)+)/g)) {
      for (const number of refs!.match(/\d+(?:\.\d+)?/g) ?? []) {
        if (!docs.get('PROTOCOL.md')?.sections.has(number)) at(block.line, `cites docs/PROTOCOL.md §${number}, which has no such section`);
      }
    }
    const pinned = [...(block.text.match(GITHUB_URL) ?? [])];
    for (const [, name, anchor] of block.text.matchAll(/docs\/([\w-]+\.md)#([\w-]+)/g)) {
      pinned.push(...(docs.get(name!)?.anchors.get(anchor!)?.match(GITHUB_URL) ?? []));
    }
    for (const upstream of new Set(block.text.match(UPSTREAM_FILE) ?? [])) {
      if (!pinned.some((url) => PERMALINK.test(url) && url.split('#')[0]!.endsWith(`/${upstream}`))) {
        at(block.line, `names ${upstream} without a pinned permalink to it, here or in the docs/ section it cites`);
      }
    }
  }
  return problems;
}

/**
 * Problems with a document's links into docs/ and, for a document of docs/ (`sources`), with the
 * upstream sources it gives: every GitHub link must be a permalink.
 */
export function docProblems(file: string, text: string, docs: ReadonlyMap<string, Doc>, sources: boolean): string[] {
  const problems: string[] = [];
  text.split('\n').forEach((line, i) => {
    for (const url of sources ? (line.match(GITHUB_URL) ?? []) : []) {
      if (!PERMALINK.test(url)) problems.push(`${file}:${i + 1}: ${url} is not a permalink pinned to a commit with its lines`);
    }
    for (const [, name, anchor] of line.matchAll(/\]\((?:docs\/)?([\w-]+\.md)(?:#([\w-]+))?\)/g)) {
      const doc = docs.get(name!);
      if (!doc) continue; // README.md, BENCHMARKS.md and the like are outside docs/
      if (anchor !== undefined && !doc.anchors.has(anchor))
        problems.push(`${file}:${i + 1}: links to ${name}#${anchor}, which has no such section`);
    }
  });
  return problems;
}
