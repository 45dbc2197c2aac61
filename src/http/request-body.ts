import { KosyncError } from '../errors.js';
import { decodeStrictUtf8 } from '../util/utf8.js';

/** Deeper nesting than any kosync body needs; refused before JSON.parse recurses into it. */
const MAX_JSON_DEPTH = 32;

/** The request body as JSON, whatever its Content-Type (the reference server never looks at it). */
export function parseJsonBody(body: unknown): unknown {
  if (body === undefined || body === null) throw new KosyncError('invalidFields');
  if (!Buffer.isBuffer(body)) return body;
  const text = decodeStrictUtf8(body);
  if (text === undefined) throw new KosyncError('invalidFields', 'Request body is not valid UTF-8');
  if (nestingDepth(text) > MAX_JSON_DEPTH) throw new KosyncError('invalidFields', 'Request body is nested too deeply');
  try {
    return JSON.parse(text);
  } catch {
    throw new KosyncError('invalidFields', 'Request body is not valid JSON');
  }
}

function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}
