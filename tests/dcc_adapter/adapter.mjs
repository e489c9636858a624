// A supplier's DUIS adapter made of DCC's own tools, pointed at `rig serve` as it would be at
// DCC Boxed (docs/adapter-test.md, docs/dcc-boxed.md). It builds each request with
// @smartdcc/duis-parser, signs it with DCC Boxed's signing tool (@smartdcc/duis-sign-wrap),
// POSTs it, validates the synchronous answer with DCC's tool, receives the device's response
// and alerts at its own HTTP endpoint and validates those with DCC's tool too. It prints one
// JSON summary line (times, codes, verdicts) and exits 0 when every check passed, 1 if not.
//
//   node adapter.mjs --server http://127.0.0.1:8079 --listen 127.0.0.1:9000 --device-keys RUN/keys
//     [--supplier 90-B3-D5-1F-30-01-00-00] [--esme 00-DB-12-34-56-78-90-A0]
//     [--supplier-keys rig/keys/rtds] [--counter-start 4294967296] [--timeout 60]
//
// RUN/keys is `rig serve --out RUN`'s folder of the emulated meters' keys (the ESME's KA
// certificate makes the UTRN); --supplier-keys holds the User's GBCS keys (<eui>-ds.key signs the
// pre-command, <eui>-pp-ka.key makes the UTRN), by default the RTDS keys the rig ships.
//
// --server - : print {"listening": URL} first, then read the server's URL from standard input
// (so a test can start the adapter before the rig whose bench names the adapter's endpoint).

import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { oneLine, parser, pool, sign, validate, versions } from './dcc_tools.mjs';
import { makeUtrn, signPreCommand } from './gbcs_user.mjs';

const STEP = 1n << 32n; // a top-up's counter has its low 32 bits zero (reference/gbcs.md §2)
const OPTIONS = {
    server: { type: 'string', default: '-' },
    listen: { type: 'string', default: '127.0.0.1:0' },
    supplier: { type: 'string', default: '90-B3-D5-1F-30-01-00-00' },
    esme: { type: 'string', default: '00-DB-12-34-56-78-90-A0' },
    'supplier-keys': { type: 'string', default: fileURLToPath(new URL('../../rig/keys/rtds', import.meta.url)) },
    'device-keys': { type: 'string' },
    'counter-start': { type: 'string', default: String(STEP) },
    timeout: { type: 'string', default: '60' },
};
let opt;
try {
  opt = parseArgs({ options: OPTIONS }).values;
  if (opt.server !== '-' && !/^https?:\/\//.test(opt.server)) throw new Error(`--server ${opt.server}: not an http(s) URL`);
  if (!opt['device-keys']) throw new Error('--device-keys: the emulated meters\' keys folder (RUN/keys) is required');
} catch (error) {
  process.stderr.write(`adapter.mjs: ${error.message} (usage at the top of the file)\n`);
  process.exit(2);
}
const t0 = performance.now();
const now = () => Number(((performance.now() - t0) / 1000).toFixed(4));
const keyFile = (dir, eui, suffix) => readFileSync(join(dir, `${eui.replace(/-/g, '').toLowerCase()}-${suffix}`));
const summary = { versions: versions(), endpoint: null, server: null, steps: [], alerts: [], refusals: [], errors: [] };

// --- the adapter's endpoint: every POST is taken (200 at once), kept, and checked later ----------
const inbox = [];
const waiters = [];
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    res.writeHead(200).end();
    const xml = Buffer.concat(chunks).toString('utf-8');
    const duis = safeParse(xml); // only to route it: DCC's tool checks it later
    inbox.push({
      at: now(), path: req.url, contentType: req.headers['content-type'], xml, duis,
      alert: Boolean(duis?.body?.DeviceAlertMessage),
    });
    for (const waiter of waiters.splice(0)) waiter();
  });
});
async function waitFor(match, what) {
  const deadline = performance.now() + Number(opt.timeout) * 1000;
  for (;;) {
    const found = inbox.find(match);
    if (found) return found;
    const left = deadline - performance.now();
    if (left <= 0) throw new Error(`no ${what} at the endpoint within ${opt.timeout} s`);
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, left);
      waiters.push(() => { clearTimeout(timer); resolve(); });
    });
  }
}

// --- DUIS with DCC's tools ------------------------------------------------------------------------
function requestXml(srv, cv, counter, body) {
  const header = {
    type: 'request',
    requestId: { originatorId: opt.supplier, targetId: opt.esme, counter },
    commandVariant: cv,
    serviceReference: srv,
    serviceReferenceVariant: srv,
  };
  return parser.constructDuis('simplified', { header, body }, '5.4');
}

/** DCC's tool validates ``xml`` (schema and DSP signature); duis-parser reads what it returns. */
async function check(xml) {
  try {
    return { signature: 'valid', duis: parser.parseDuis('simplified', await validate(xml)) };
  } catch (error) {
    return { signature: `refused: ${oneLine(error)}`, duis: safeParse(xml) };
  }
}
function safeParse(xml) {
  try {
    return parser.parseDuis('simplified', xml);
  } catch {
    return null;
  }
}
const idOf = (duis) => {
  const id = duis?.header?.requestId ?? duis?.header?.responseId;
  return id ? `${id.originatorId}:${id.targetId}:${id.counter}`.toUpperCase() : null;
};

async function post(service, xml) {
  const started = now();
  const res = await fetch(`${summary.server}/api/v1/${service}`, {
    method: 'POST', headers: { 'Content-Type': 'application/xml' }, body: xml,
  });
  const text = await res.text();
  return { started, answered: now(), status: res.status, contentType: res.headers.get('content-type'), text };
}

const sent = new Map(); // step -> the signed XML last POSTed for it

/** One request: sign with DCC's tool, POST, check the synchronous answer; the step record. */
async function send(step, service, xml, expected) {
  const signStart = now();
  const signed = await sign(xml);
  sent.set(step, signed);
  step.times.signed_s = Number((now() - signStart).toFixed(4));
  const reply = await post(service, signed);
  Object.assign(step, { service, http_status: reply.status });
  step.times.post_s = reply.started;
  step.times.sync_s = Number((reply.answered - reply.started).toFixed(4));
  if (reply.status !== 200) throw new Error(`${service} answered HTTP ${reply.status}: ${reply.text.trim()}`);
  const sync = await check(reply.text);
  step.sync_code = sync.duis?.header?.responseCode ?? null;
  step.sync_signature = sync.signature;
  if (step.sync_code !== expected) throw new Error(`${service} answered ${step.sync_code}, expected ${expected}`);
  return sync.duis;
}

/** The device's response to ``step`` from the endpoint, checked (later, several at a time). */
function awaitResponse(step) {
  const match = (m) => !m.alert && idOf(m.duis) === step.request_id;
  return waitFor(match, `response to ${step.request_id}`).then(async (message) => {
    step.times.response_s = Number((message.at - step.times.post_s).toFixed(4));
    step.response_content_type = message.contentType;
    const checked = await check(message.xml);
    step.response_signature = checked.signature;
    step.response_code = checked.duis?.header?.responseCode ?? null;
    step.response_has_gbcs = Boolean(checked.duis?.body?.ResponseMessage?.GBCSPayload);
  });
}

async function runStep(name, srv, counter, body) {
  const step = { name, srv, request_id: `${opt.supplier}:${opt.esme}:${counter}`.toUpperCase(), times: {} };
  summary.steps.push(step);
  try {
    await send(step, 'serviceS', requestXml(srv, 1, counter, body), 'I99');
  } catch (error) {
    step.error = oneLine(error);
  }
  return step;
}

/** Critical (SRV 7.1 Enable Supply): CV 4 to the Transform Service, sign the pre-command, CV 5. */
async function runCritical(counter) {
  const step = { name: '7.1 enable supply (critical)', srv: '7.1', request_id: `${opt.supplier}:${opt.esme}:${counter}`.toUpperCase(), times: {} };
  summary.steps.push(step);
  try {
    const pre = await send(step, 'serviceT', requestXml('7.1', 4, counter, { EnableSupply: '' }), 'I0');
    step.pre_command = { code: step.sync_code, signature: step.sync_signature, sync_s: step.times.sync_s };
    const payload = pre?.body?.ResponseMessage?.PreCommand?.GBCSPayload;
    if (!payload) throw new Error('the Transform Service answer has no PreCommand/GBCSPayload');
    const signedGbcs = signPreCommand(Buffer.from(payload, 'base64'), keyFile(opt['supplier-keys'], opt.supplier, 'ds.key'));
    const body = { SignedPreCommand: { GBCSPayload: signedGbcs.toString('base64') } };
    await send(step, 'serviceS', requestXml('7.1', 5, counter, body), 'I99');
  } catch (error) {
    step.error = oneLine(error);
  }
  return step;
}

/**
 * What a User gets for bad input, with no JVM needed: the top-up's signed XML again (a replay),
 * the read's signed XML with its counter changed (the signature no longer matches), and the
 * read unsigned. Each answer's HTTP status and first line go in ``summary.refusals``.
 */
async function runRefusals(topUp, read) {
  const changed = (sent.get(read) ?? '').replace(/:(\d+)<\/sr:RequestID>/, (_, n) => `:${BigInt(n) + 1000n}</sr:RequestID>`);
  const cases = [
    ['replayed', sent.get(topUp)],
    ['tampered', changed],
    ['unsigned', requestXml('7.4', 1, BigInt(read.request_id.split(':').pop()) + 2000n, { ReadSupplyStatus: '' })],
  ];
  for (const [name, xml] of cases) {
    if (!xml) continue;
    try {
      const reply = await post('serviceS', xml);
      summary.refusals.push({ name, http_status: reply.status, answer: reply.text.trim().split('\n')[0].slice(0, 200) });
    } catch (error) {
      summary.refusals.push({ name, error: oneLine(error) });
    }
  }
}

async function main() {
  const [host, port] = opt.listen.split(':');
  await new Promise((resolve) => server.listen(Number(port), host, resolve));
  summary.endpoint = `http://${host}:${server.address().port}/duis`;
  if (opt.server === '-') {
    process.stdout.write(`${JSON.stringify({ listening: summary.endpoint })}\n`);
    const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
    summary.server = (await lines.next()).value.trim();
  } else {
    summary.server = opt.server;
  }
  const base = (BigInt(opt['counter-start']) + STEP - 1n) / STEP * STEP;
  const utrn = (counter, forge) => makeUtrn({
    ppKaKey: keyFile(opt['supplier-keys'], opt.supplier, 'pp-ka.key'),
    deviceKaCert: keyFile(opt['device-keys'], opt.esme, 'ka.pem'),
    originator: opt.supplier, target: opt.esme, counter, pence: 1000, forge,
  });
  const topUp = await runStep('2.2 top-up', '2.2', base, { TopUpDevice: { UTRN: utrn(base, false) } });
  const read = await runStep('7.4 read supply status', '7.4', base + 1n, { ReadSupplyStatus: '' });
  const critical = await runCritical(base + 2n);
  // An alert: a top-up whose UTRN's MAC is wrong; the meter raises 0x8F64 "UTRN not for this Device".
  const refused = await runStep('2.2 forged UTRN (alert)', '2.2', base + STEP, { TopUpDevice: { UTRN: utrn(base + STEP, true) } });
  await runRefusals(topUp, read);
  const steps = [topUp, read, critical, refused].filter((s) => !s.error);
  await pool(steps, 2, (step) => awaitResponse(step).catch((error) => { step.error = oneLine(error); }));
  try {
    const message = await waitFor((m) => m.alert, 'device alert');
    const checked = await check(message.xml);
    const alert = checked.duis?.body?.DeviceAlertMessage ?? {};
    summary.alerts.push({
      response_id: idOf(checked.duis), code: checked.duis?.header?.responseCode ?? null,
      alert_code: alert.AlertCode ?? null, signature: checked.signature, content_type: message.contentType,
      after_request_s: Number((message.at - refused.times.post_s).toFixed(4)),
    });
  } catch (error) {
    summary.errors.push(oneLine(error));
  }
}

try {
  await main();
} catch (error) {
  summary.errors.push(oneLine(error));
}
server.close();
server.closeAllConnections();
const failed = summary.errors.length > 0 || summary.alerts.length === 0 || summary.steps.some((s) => s.error
  || s.sync_signature !== 'valid' || s.response_signature !== 'valid' || s.response_code !== 'I0');
summary.ok = !failed;
summary.total_s = now();
process.stdout.write(`${JSON.stringify(summary)}\n`);
process.exitCode = failed ? 1 : 0;
