// oracle_tb.mjs - what Thunderbird shows for header field values
//
//   node --import ./register.mjs oracle_tb.mjs MODULES_DIR < VALUES > READINGS
//
// Reads values ended by NUL bytes on stdin and parses each with
// Thunderbird's address parser as packaged in @protontech/jsmimeparser
// (MODULES_DIR is the node_modules directory holding it), as a received
// header is: the raw bytes trimmed and their CR and LF removed as the MIME
// parser does (stripcontinuations), turned into text (convert8BitHeader:
// UTF-8, invalid sequences shown as U+FFFD), then read with
// parseAddressingHeader(value, true), encoded words decoded. Writes one
// JSON line per value:
//
//   {"m": [[NAME, EMAIL], ...], "g": [GROUP NAME, ...]}
//
// every mailbox, those inside groups included, as the parser returns it
// (NAME cleaned and decoded, EMAIL with a local part requoted when needed),
// and every group's name. A value that is not valid UTF-8 also gets "l1":
// the same reading of the header as a message declaring ISO-8859-1 makes
// Thunderbird decode it; whoever writes the message chooses that charset.
// A value the parser throws on gets {"x": MESSAGE}. What the readings mean
// for the invariant is decided in compare.py alone.
import { readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const modules = process.argv[2];
if (!modules) {
    process.stderr.write("usage: oracle_tb.mjs MODULES_DIR < VALUES\n");
    process.exit(2);
}
const file = join(modules, "@protontech/jsmimeparser/lib/headerParser.js");
const { default: headerparser } = await import(pathToFileURL(file).href);
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function reading(text) {
    const m = [];
    const g = [];
    for (const item of headerparser.parseAddressingHeader(text, true)) {
        if (Array.isArray(item.group)) {
            g.push(item.name);
            for (const member of item.group) m.push([member.name, member.email]);
        } else {
            m.push([item.name, item.email]);
        }
    }
    return { m, g };
}

function read(bytes) {
    // As the MIME parser stores a header (stripcontinuations): trimmed, CR
    // and LF removed, still one character per byte.
    const binary = bytes.toString("latin1").trim().replace(/[\r\n]/g, "");
    try {
        const out = reading(headerparser.convert8BitHeader(binary));
        try {
            strictUtf8.decode(Buffer.from(binary, "latin1"));
        } catch {
            out.l1 = reading(headerparser.convert8BitHeader(binary, "iso-8859-1"));
        }
        return out;
    } catch (err) {
        return { x: String(err && err.message ? err.message : err) };
    }
}

// Write all of TEXT to stdout, also when stdout is a non-blocking pipe.
function put(text) {
    const buf = Buffer.from(text);
    for (let off = 0; off < buf.length; ) {
        try {
            off += writeSync(1, buf, off);
        } catch (err) {
            if (err.code !== "EAGAIN") throw err;
        }
    }
}

const input = readFileSync(0);
const lines = [];
let start = 0;
for (let i = input.indexOf(0, start); i >= 0; i = input.indexOf(0, start)) {
    lines.push(JSON.stringify(read(input.subarray(start, i))));
    start = i + 1;
    if (lines.length >= 4096) {
        put(lines.join("\n") + "\n");
        lines.length = 0;
    }
}
if (lines.length > 0) put(lines.join("\n") + "\n");
