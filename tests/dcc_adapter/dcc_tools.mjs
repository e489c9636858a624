// DCC's own DUIS tools, loaded from the folder .ci/duis-tools.sh installs them in
// ($RIG_DUIS_TOOLS/node_modules): @smartdcc/duis-sign-wrap (DCC Boxed's XML signing tool, a Java
// jar) and @smartdcc/duis-parser. Nothing here signs, verifies or parses DUIS by itself.
//
// As a command, it runs the tool over files for the tool-chain test (tests/dcc_adapter):
//   node dcc_tools.mjs sign OUT_DIR FILE...   sign each FILE (counter kept) into OUT_DIR
//   node dcc_tools.mjs validate FILE...       validate each FILE's schema and signature
// and prints one JSON object: {"FILE": {"ok": true} | {"ok": false, "error": "..."}}.

import { createRequire } from 'node:module';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const TOOLS = process.env.RIG_DUIS_TOOLS;
const load = createRequire(join(resolve(TOOLS ?? '.'), 'package.json'));
function required(name) {
  try {
    return load(name);
  } catch {
    process.stderr.write(`${name} not found in ${TOOLS ? `${TOOLS}/node_modules` : '$RIG_DUIS_TOOLS (unset)'}: `
      + 'install DCC\'s tools (docs/adapter-test.md)\n');
    process.exit(2);
  }
}

/** @smartdcc/duis-sign-wrap: signDuis / validateDuis, each one run of DCC's Java tool. */
export const signWrap = required('@smartdcc/duis-sign-wrap');
/** @smartdcc/duis-parser: constructDuis / parseDuis. */
export const parser = required('@smartdcc/duis-parser');

/** Installed versions of DCC's packages, for the summary. */
export function versions() {
  const out = {};
  for (const name of ['@smartdcc/duis-sign-wrap', '@smartdcc/duis-parser']) {
    out[name] = load(`${name}/package.json`).version;
  }
  return out;
}

/** Sign ``xml`` with DCC's tool (key chosen by the RequestID's originator). */
export function sign(xml, { preserveCounter = true } = {}) {
  return signWrap.signDuis({ xml, preserveCounter });
}

/** Check ``xml``'s schema and signature with DCC's tool: its XML without the signature. */
export function validate(xml) {
  return signWrap.validateDuis({ xml });
}

/** Run ``job`` over ``items`` with at most ``limit`` at once (each job starts a JVM). */
export async function pool(items, limit, job) {
  const results = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const index = next++;
      results[index] = await job(items[index]);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The tool's error on one line, without the JVM's note about JAVA_TOOL_OPTIONS. */
export function oneLine(error) {
  return String(error?.message ?? error)
    .split('\n')
    .filter((line) => line.trim() && !line.startsWith('Picked up JAVA_TOOL_OPTIONS'))
    .join(' | ');
}

async function main(argv) {
  const [mode, ...rest] = argv;
  const limit = Number(process.env.RIG_DUIS_TOOLS_JOBS ?? 2);
  let files;
  let job;
  if (mode === 'sign' && rest.length >= 1) {
    const outDir = rest[0];
    files = rest.slice(1);
    await mkdir(outDir, { recursive: true });
    job = async (file) => {
      await writeFile(join(outDir, basename(file)), await sign(await readFile(file)));
    };
  } else if (mode === 'validate') {
    files = rest;
    job = async (file) => {
      await validate(await readFile(file));
    };
  } else {
    process.stderr.write('usage: dcc_tools.mjs sign OUT_DIR FILE... | validate FILE...\n');
    return 2;
  }
  const results = await pool(files, limit, async (file) => {
    try {
      await job(file);
      return { ok: true };
    } catch (error) {
      return { ok: false, error: oneLine(error) };
    }
  });
  const summary = Object.fromEntries(files.map((file, i) => [file, results[i]]));
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
