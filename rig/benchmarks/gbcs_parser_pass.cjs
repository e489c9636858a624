// Whole-RTDS pass through SmartDCC's gbcs-parser, for `rig benchmark codec --rtds`
// (rig/benchmarks/rtds_pass.py). Usage:
//   node gbcs_parser_pass.cjs INSTALL_DIR VECTORS_DIR KEYSTORE_DIR SECONDS
// INSTALL_DIR holds node_modules/@smartdcc/gbcs-parser (npm install --prefix INSTALL_DIR).
// Every <use case>/*.HEX under VECTORS_DIR, sorted as the rig sorts them, is parsed with a
// keystore callback over KEYSTORE_DIR's files (<eui>[-pp]-<ka|ds>.<pem|key>), all preloaded so
// file reads are not timed. One untimed pass, then passes until SECONDS of wall time; prints
// one JSON line: frames, best frames_per_s, and how many frames threw.
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')

const [installDir, vectorsDir, keysDir, secondsArg] = process.argv.slice(2)
const { parseGbcsMessage } = require(
  path.join(path.resolve(installDir), 'node_modules', '@smartdcc', 'gbcs-parser'),
)

const files = fs
  .readdirSync(vectorsDir)
  .sort()
  .flatMap((dir) => {
    const full = path.join(vectorsDir, dir)
    if (!fs.statSync(full).isDirectory()) return []
    return fs
      .readdirSync(full)
      .filter((name) => name.endsWith('.HEX'))
      .sort()
      .map((name) => path.join(full, name))
  })
const messages = files.map((file) => fs.readFileSync(file, 'utf-8').trim())

const keys = new Map()
for (const name of fs.readdirSync(keysDir)) {
  const text = fs.readFileSync(path.join(keysDir, name), 'utf-8')
  try {
    keys.set(name, name.endsWith('.key') ? crypto.createPrivateKey(text) : crypto.createPublicKey(text))
  } catch (err) {
    // a file that is not a key is not offered to the parser
  }
}

async function keyStore(eui, type, options) {
  const opts = typeof options === 'object' && options !== null ? options : { privateKey: options }
  const hex = typeof eui === 'string' ? eui.replace(/[^0-9a-fA-F]/g, '') : Buffer.from(eui).toString('hex')
  const name = `${hex.toLowerCase()}${opts.prePayment ? '-pp' : ''}-${type.toLowerCase()}.${
    opts.privateKey ? 'key' : 'pem'
  }`
  const key = keys.get(name)
  if (key === undefined) throw new Error(`no key file ${name}`)
  return key
}

async function pass() {
  let errors = 0
  for (const message of messages) {
    try {
      await parseGbcsMessage(message, keyStore)
    } catch (err) {
      errors += 1
    }
  }
  return errors
}

async function main() {
  const errors = await pass()
  const budget = Number(secondsArg) * 1000
  const start = performance.now()
  let best = Infinity
  do {
    const begin = performance.now()
    await pass()
    best = Math.min(best, performance.now() - begin)
  } while (performance.now() - start < budget)
  const rate = best > 0 ? (messages.length * 1000) / best : 0
  console.log(JSON.stringify({ frames: messages.length, frames_per_s: rate, errors }))
}

main().catch((err) => {
  console.error(String(err && err.stack ? err.stack : err))
  process.exit(1)
})
