// Loa board player: the canonical form of a signed message and its Ed25519 check (docs/protocol.md §5), with
// WebCrypto only (Ed25519 is in Chromium's WebCrypto since version 137; Debian's Chromium is newer).
//
// The signature covers the message without its top-level "signature", serialised with keys sorted, no
// whitespace, strings as UTF-8 without \u escapes of non-ASCII characters, and numbers as the server wrote them.
// JSON.parse loses the difference between 60 and 60.0, so the message is parsed a second time with the source
// text of every number kept (JSON.parse source text access, Chromium 114+).

class RawNumber {
  constructor(source) {
    this.source = source;
  }
}

export function parseKeepingNumbers(text) {
  return JSON.parse(text, function (key, value, context) {
    if (typeof value === "number") {
      return new RawNumber(context && context.source !== undefined ? context.source : String(value));
    }
    return value;
  });
}

function canonicalNumber(source) {
  if (!/[.eE]/.test(source)) {
    return source.replace(/^-0$/, "0"); // an integer token: written as its digits
  }
  const x = Number(source); // a float token: the shortest form that reads back, with a decimal point
  if (!Number.isFinite(x)) {
    throw new Error("số không hợp lệ");
  }
  return Number.isInteger(x) ? x.toFixed(1) : String(x);
}

export function canonical(value) {
  if (value === null) return "null";
  if (value instanceof RawNumber) return canonicalNumber(value.source);
  if (typeof value === "number") return canonicalNumber(String(value));
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
  const keys = Object.keys(value).sort();
  return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonical(value[k])).join(",") + "}";
}

export function b64decode(text) {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sha256Hex(data) {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return hex(await crypto.subtle.digest("SHA-256", bytes));
}

const keyCache = new Map();

async function importKey(publicKey) {
  if (!keyCache.has(publicKey)) {
    keyCache.set(
      publicKey,
      crypto.subtle.importKey("raw", b64decode(publicKey), { name: "Ed25519" }, false, ["verify"])
    );
  }
  return keyCache.get(publicKey);
}

// Whether a parsed-with-numbers object carries a valid server signature.
export async function signatureValid(rawObject, publicKey) {
  if (!rawObject || typeof rawObject !== "object" || typeof rawObject.signature !== "string") return false;
  if (!rawObject.signature) return false;
  const body = Object.assign({}, rawObject);
  delete body.signature;
  let signature;
  try {
    signature = b64decode(rawObject.signature);
  } catch (e) {
    return false;
  }
  if (signature.length !== 64) return false;
  const bytes = new TextEncoder().encode(canonical(body));
  try {
    return await crypto.subtle.verify({ name: "Ed25519" }, await importKey(publicKey), signature, bytes);
  } catch (e) {
    return false;
  }
}
