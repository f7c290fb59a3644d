#!/usr/bin/env node
// README.md's code blocks are files of the repository, and the samples layer of scripts/test runs
// or type-checks those files (tests/samples/). A block shows its file's exact text; the line before
// its opening fence names the file:
//
//   <!-- sample: examples/node-backend/server.mjs -->
//   ```js
//   …the file's text…
//   ```
//
//   node scripts/readme.mjs           # check: exit 1 naming each block that differs from its file
//   node scripts/readme.mjs --write   # copy every named file into its block (edit the file, then run)
//
// A block without a sample line is allowed only for shell commands (```sh) of this repository or
// of npm, and each command is checked here: `./scripts/<name>` exists and is executable, its
// arguments are ones the script takes, `npm install <name>` names this package.
import { accessSync, constants, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MARKER = /^<!-- sample: (\S+) -->$/;
const FENCE = /^(`{3,})(.*)$/;

/**
 * The fenced code blocks of a Markdown text: { line (1-based, of the opening fence), info, body,
 * file (the sample file named on the line before, or null), start, end (offsets of the body) }.
 */
export function codeBlocks(markdown) {
  const lines = markdown.split('\n');
  const blocks = [];
  let offset = 0;
  const offsets = lines.map((l) => { const o = offset; offset += l.length + 1; return o; });
  for (let i = 0; i < lines.length; i += 1) {
    const open = lines[i].match(FENCE);
    if (!open) continue;
    let j = i + 1;
    while (j < lines.length && lines[j] !== open[1]) j += 1;
    if (j === lines.length) throw new Error(`line ${i + 1}: a code block is never closed`);
    const file = i > 0 ? (lines[i - 1].match(MARKER)?.[1] ?? null) : null;
    const start = offsets[i + 1];
    const end = offsets[j];
    blocks.push({ line: i + 1, info: open[2].trim(), body: markdown.slice(start, end), file, start, end });
    i = j;
  }
  return blocks;
}

/** The problems of one command line of a ```sh block, as messages (empty when it is fine). */
export function checkCommand(line) {
  const command = line.replace(/\s+#.*$/, '').trim();
  if (command === '' || command.startsWith('#')) return [];
  const words = command.split(/\s+/);
  const script = words[0].match(/^\.\/(scripts\/[\w.-]+)$/)?.[1];
  if (script) {
    const path = join(ROOT, script);
    try { accessSync(path, constants.X_OK); } catch { return [`${words[0]} is not an executable file of the repository`]; }
    const text = readFileSync(path, 'utf8');
    const problems = [];
    for (const arg of words.slice(1)) {
      // scripts/test takes layer names (its LAYERS list); the others take --flags they handle.
      const known = script === 'scripts/test'
        ? new RegExp(`LAYERS=\\([^)]*\\b${arg}\\b`).test(text)
        : arg.startsWith('--') && text.includes(`${arg})`);
      if (!known) problems.push(`${words[0]} does not take "${arg}"`);
    }
    return problems;
  }
  if (words[0] === 'npm' && words[1] === 'install') {
    const name = JSON.parse(readFileSync(join(ROOT, 'pkg-template', 'package.json'), 'utf8')).name;
    return words.slice(2).every((w) => w === name) && words.length > 2 ? [] : [`"${command}" does not install ${name}`];
  }
  return [`"${command}" is neither a script of this repository nor npm install of the package`];
}

/** Every problem of a Markdown file's code blocks: blocks that differ from their file, unchecked blocks. */
export function check(markdownPath = join(ROOT, 'README.md')) {
  const markdown = readFileSync(markdownPath, 'utf8');
  const problems = [];
  for (const block of codeBlocks(markdown)) {
    const where = `${markdownPath.slice(ROOT.length + 1)}:${block.line}`;
    if (block.file) {
      let text;
      try { text = readFileSync(join(ROOT, block.file), 'utf8'); } catch { problems.push(`${where}: ${block.file} does not exist`); continue; }
      if (text !== block.body) problems.push(`${where}: the block differs from ${block.file} (run node scripts/readme.mjs --write)`);
    } else if (block.info === 'sh') {
      for (const line of block.body.split('\n')) for (const p of checkCommand(line)) problems.push(`${where}: ${p}`);
    } else {
      problems.push(`${where}: a \`\`\`${block.info} block without "<!-- sample: <file> -->" on the line before`);
    }
  }
  return problems;
}

/** Copies each named file into its block; returns how many blocks changed. */
export function write(markdownPath = join(ROOT, 'README.md')) {
  let markdown = readFileSync(markdownPath, 'utf8');
  let changed = 0;
  for (const block of codeBlocks(markdown).reverse()) {
    if (!block.file) continue;
    const text = readFileSync(join(ROOT, block.file), 'utf8');
    if (!text.endsWith('\n')) throw new Error(`${block.file} must end with a newline`);
    if (text.split('\n').some((l) => /^`{3,}/.test(l))) throw new Error(`${block.file} has a line that would close the block`);
    if (text === block.body) continue;
    markdown = markdown.slice(0, block.start) + text + markdown.slice(block.end);
    changed += 1;
  }
  writeFileSync(markdownPath, markdown);
  return changed;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = [join(ROOT, 'README.md'), join(ROOT, 'www', 'README.md')];
  if (process.argv.includes('--write')) {
    for (const f of files) console.log(`${f.slice(ROOT.length + 1)}: ${write(f)} block(s) updated`);
  } else {
    const problems = files.flatMap((f) => check(f));
    for (const p of problems) console.error(p);
    if (problems.length) process.exit(1);
    console.log('README code blocks: every block is its file');
  }
}
