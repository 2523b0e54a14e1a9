import { Buffer, isUtf8 } from 'node:buffer';
import { TextDecoder } from 'node:util';
import { PageShapeError } from './page-reader.js';

/**
 * decodeBody: a response body's bytes as text, by the charset its Content-Type declares —
 * UTF-8 when it declares none (RFC 8259), or UTF-16 when the body starts with a UTF-16
 * byte order mark. A byte order mark is dropped. Bytes that are not valid in the charset
 * fail the page (PageShapeError, not retried: asking again gets the same bytes) rather than
 * become U+FFFD in the output, and so does a charset this runtime cannot decode.
 */
export function decodeBody(bytes: Uint8Array, contentType: string | null): string {
  const declared = charsetOf(contentType);
  const label = declared ?? sniff(bytes);
  if (label === 'utf-8' || label === 'utf8') {
    // The common case, kept on Buffer's own decoder: an ASCII body stays a one-byte string
    // (TextDecoder gives two bytes a character), half the memory for the pages held.
    if (!isUtf8(bytes)) throw new PageShapeError(`the body is not valid utf-8${declared === undefined ? ' (the server declared no charset)' : ''}`);
    const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
    return Buffer.from(bytes.buffer, bytes.byteOffset + bom, bytes.byteLength - bom).toString('utf8');
  }
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(label, { fatal: true });
  } catch {
    throw new PageShapeError(`the body's charset ${JSON.stringify(label.slice(0, 40))} cannot be decoded`);
  }
  try {
    return decoder.decode(bytes);
  } catch {
    throw new PageShapeError(`the body is not valid ${decoder.encoding}${declared === undefined ? ' (the server declared no charset)' : ''}`);
  }
}

/** The charset parameter of a Content-Type, lower-cased and unquoted. */
function charsetOf(contentType: string | null): string | undefined {
  const match = contentType === null ? null : /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]+))/i.exec(contentType);
  const value = match?.[1] ?? match?.[2];
  return value === undefined || value === '' ? undefined : value.toLowerCase();
}

function sniff(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  return 'utf-8';
}
