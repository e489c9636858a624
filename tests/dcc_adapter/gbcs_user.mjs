// The supplier's own GBCS steps an adapter needs besides DUIS, in Node's crypto (not the rig's
// code): a UTRN for SRV 2.2 (reference/gbcs.md §2, GBCS §14) and the signature of a critical
// pre-command (§1.3, §1.4). DCC's npm packages in the CI (duis-sign-wrap, duis-parser) sign
// and parse DUIS XML only; a real supplier does these with its payment system and its HSM.

import { createCipheriv, createHash, createPrivateKey, createPublicKey, diffieHellman, sign } from 'node:crypto';

const PTUT_OFFSET = 7394156990786306048n;
const CRA_COMMAND = 0x01;
const MAC_AAD_PREFIX = Buffer.from('110000000000', 'hex');
// DLMS aes-gcm-128's AlgorithmID for the KDF's OtherInfo (§1.4).
const ALGORITHM_ID = Buffer.from('60857406080300', 'hex');
// GBCS tables 14.8a (P) and 14.8b (D), the inverse, and the first row of P used (§2).
const P = ['0123456789', '1576283094', '5803796142', '8916043527', '9453126870', '4286573901', '2793806415', '7046913258'];
const D = ['0123456789', '1234067895', '2340178956', '3401289567', '4012395678', '5987604321', '6598710432', '7659821043', '8765932104', '9876543210'];
const INVERSE = [1, 2, 6, 7, 5, 8, 3, 0, 9, 4];

/** An EUI-64 ("90-B3-D5-1F-30-01-00-00") as its 8 bytes. */
export function euiBytes(eui) {
  const hex = eui.replace(/-/g, '');
  if (!/^[0-9A-Fa-f]{16}$/.test(hex)) throw new Error(`not an EUI-64: ${eui}`);
  return Buffer.from(hex, 'hex');
}

function counterBytes(counter) {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(counter));
  return out;
}

/** The GBCS Verhoeff check digit of a string of digits. */
export function checkDigit(digits) {
  let c = 0;
  [...digits].forEach((digit, k) => {
    c = Number(D[c][Number(P[(4 + k) % P.length][Number(digit)])]);
  });
  return String(INVERSE[c]);
}

function macKey(privateKa, publicKa, originator, counter, recipient) {
  const z = diffieHellman({ privateKey: privateKa, publicKey: publicKa });
  const otherInfo = Buffer.concat([
    ALGORITHM_ID, euiBytes(originator), Buffer.from([0x09, CRA_COMMAND]), counterBytes(counter), euiBytes(recipient),
  ]);
  return createHash('sha256').update(Buffer.concat([Buffer.from([0, 0, 0, 1]), z, otherInfo])).digest().subarray(0, 16);
}

/**
 * A UTRN for SRV 2.2: the supplier's prepayment KA private key (PEM) and the meter's KA
 * certificate (PEM); ``counter`` a multiple of 2^32 (the request's counter); ``pence`` up to 8191.
 * ``forge`` flips the MAC (a UTRN the meter refuses with alert 0x8F64, still well-formed).
 */
export function makeUtrn({ ppKaKey, deviceKaCert, originator, target, counter, pence, forge = false }) {
  const big = BigInt(counter);
  if (big & 0xffffffffn) throw new Error(`UTRN counter ${big}: the low 32 bits must be zero`);
  if (!(pence >= 0 && pence <= 8191)) throw new Error(`UTRN value ${pence} outside 0..8191`);
  const hi32 = (Number((big >> 32n) & 0x3ffn) << 15) | pence; // value class 00: pennies
  const hi = Buffer.alloc(4);
  hi.writeUInt32BE(hi32 >>> 0);
  const key = macKey(createPrivateKey(ppKaKey), createPublicKey(deviceKaCert), originator, big, target);
  const aad = Buffer.concat([
    MAC_AAD_PREFIX, euiBytes(originator), euiBytes(target), Buffer.from([CRA_COMMAND]), counterBytes(big), hi,
  ]);
  const gmac = createCipheriv('aes-128-gcm', key, Buffer.concat([euiBytes(originator), Buffer.alloc(4)]));
  gmac.setAAD(aad);
  gmac.final();
  let mac32 = gmac.getAuthTag().subarray(12).readUInt32BE();
  if (forge) mac32 = (~mac32) >>> 0;
  const pptd = String((BigInt(hi32) << 32n | BigInt(mac32)) + PTUT_OFFSET);
  return pptd + checkDigit(pptd);
}

function length(apdu, at) {
  const first = apdu[at];
  if (first < 0x80) return [first, at + 1];
  const size = first & 0x7f;
  return [apdu.readUIntBE(at + 1, size), at + 1 + size];
}

/**
 * Sign a pre-command (a bare General-Signing APDU ``DF 09 …``, with a null signature or none):
 * ECDSA P-256/SHA-256 with the supplier's DS private key (PEM) over the APDU from the
 * transaction-id length through the payload; ``DF … 40 r||s``.
 */
export function signPreCommand(preCommand, dsKey) {
  const apdu = Buffer.from(preCommand);
  if (apdu[0] !== 0xdf || apdu[1] !== 0x09) throw new Error('not a bare General-Signing pre-command (DF 09 …)');
  let at = 2 + 9; // transaction id: CRA flag and originator counter
  for (let i = 0; i < 2; i++) { // originator and recipient, each 08 + 8 bytes
    if (apdu[at] !== 0x08) throw new Error(`bad entity id length at ${at}`);
    at += 9;
  }
  at += apdu[at] === 0 ? 1 : 1 + apdu[at]; // date-time: 00, or 0C + 12 bytes
  at += 1 + apdu[at]; // other information (the message code)
  const [size, start] = length(apdu, at);
  const end = start + size;
  const rest = apdu.subarray(end);
  if (end > apdu.length || !(rest.length === 0 || (rest.length === 1 && rest[0] === 0))) {
    throw new Error(`pre-command already signed or malformed (${rest.length} bytes after the payload)`);
  }
  const data = apdu.subarray(1, end);
  const signature = sign('sha256', data, { key: createPrivateKey(dsKey), dsaEncoding: 'ieee-p1363' });
  return Buffer.concat([apdu.subarray(0, end), Buffer.from([0x40]), signature]);
}
