import { z } from 'zod';
import type { ErrorKind } from '../errors.js';
import type { DocumentHints } from '../matching/book-matcher.js';

const MAX_DOCUMENT_LENGTH = 255;
const MAX_PROGRESS_LENGTH = 255;
const MAX_DEVICE_LENGTH = 100;
const MAX_DEVICE_ID_LENGTH = 100;
/** The fields of KOReader's optional `metadata` that are read as match hints. */
const HINT_FIELDS = ['filename', 'title', 'authors'] as const;
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Length in code points, as Python's len() counts the original's limits. */
const length = (text: string) => [...text].length;

/**
 * A string of at most `max` code points that is well-formed UTF-16. JSON may carry a lone surrogate
 * (`"\ud800"`); SQLite would store it as bytes that are not UTF-8, which Python (Calibre-Web, CWA)
 * cannot read back, so such a field is refused like any other invalid one.
 */
const isText = (value: unknown, max: number): value is string => typeof value === 'string' && value.isWellFormed() && length(value) <= max;

/**
 * CWA kosync.py is_valid_key_field (docs/UPSTREAM.md#cwa-the-original-kosyncpy), plus `/`: a path
 * segment cannot carry it (docs/PROTOCOL.md §2.2).
 */
export function isValidDocument(value: unknown): value is string {
  return isText(value, MAX_DOCUMENT_LENGTH) && value !== '' && !value.includes(':') && !value.includes('/');
}

/** Python truthiness of a JSON value, which the original's `not progress` / `not device` test. */
const isFalsy = (v: unknown) =>
  v === undefined ||
  v === null ||
  v === false ||
  v === 0 ||
  v === '' ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && v !== null && Object.keys(v).length === 0);

interface Problem {
  kind: ErrorKind;
  message: string;
}

/** The original's checks, in its order: the first failing one is the answer. */
function firstProblem(body: Record<string, unknown>): Problem | undefined {
  const invalid = (message: string): Problem => ({ kind: 'invalidFields', message });
  if (Object.keys(body).length === 0) return invalid('Invalid request data');
  if (!isValidDocument(body.document)) return { kind: 'invalidDocument', message: 'Invalid document field' };
  const { progress, percentage, device, device_id: deviceId } = body;
  if (isFalsy(progress) || percentage === undefined || percentage === null || isFalsy(device)) {
    return invalid('Missing required fields');
  }
  if (!isText(progress, MAX_PROGRESS_LENGTH)) return invalid('Invalid progress field');
  if (!isText(device, MAX_DEVICE_LENGTH)) return invalid('Invalid device field');
  if (deviceId !== undefined && deviceId !== null && !isText(deviceId, MAX_DEVICE_ID_LENGTH)) return invalid('Invalid device_id field');
  const value = toNumber(percentage);
  if (value === undefined) return invalid(`Invalid percentage value: could not convert ${JSON.stringify(percentage)} to a number`);
  const scaled = scalePercentage(value);
  if (scaled < 0 || scaled > 100) return invalid('Invalid percentage value: Percentage out of range');
  if (!hintsAreText(body.metadata)) return invalid('Invalid metadata field');
  return undefined;
}

/** KOReader's metadata hints the sidecar reads (and may record as an alias) must be well-formed text. */
function hintsAreText(metadata: unknown): boolean {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) return true;
  const m = metadata as Record<string, unknown>;
  return HINT_FIELDS.every((field) => {
    const value = m[field];
    return typeof value !== 'string' || value.isWellFormed();
  });
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isNaN(value) ? undefined : value;
  if (typeof value === 'string' && DECIMAL.test(value.trim())) return Number(value.trim());
  return undefined;
}

/** A value ≤ 1.0 is a fraction (KOReader sends 0–1), else already percent; stored 0–100 (CWA v4). */
function scalePercentage(value: number): number {
  return value <= 1.0 ? value * 100.0 : value;
}

function hintsFrom(metadata: unknown): DocumentHints | undefined {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) return undefined;
  const m = metadata as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v : undefined);
  const hints: DocumentHints = {};
  if (text(m.filename)) hints.filename = m.filename as string;
  if (text(m.title)) hints.title = m.title as string;
  if (text(m.authors)) hints.authors = m.authors as string;
  return Object.keys(hints).length > 0 ? hints : undefined;
}

/**
 * The body of `PUT BASE/syncs/progress`, validated with the original's rules and messages
 * (docs/PROTOCOL.md §2.2). Unknown fields are ignored; KOReader's optional `metadata` becomes match
 * hints.
 */
export const progressBodySchema = z
  .record(z.string(), z.unknown(), { error: 'Invalid request data' })
  .superRefine((body, ctx) => {
    const problem = firstProblem(body);
    if (problem) ctx.addIssue({ code: 'custom', message: problem.message, params: { kind: problem.kind } });
  })
  .transform((body) => ({
    document: body.document as string,
    progress: body.progress as string,
    percentage: scalePercentage(toNumber(body.percentage)!),
    device: body.device as string,
    deviceId: typeof body.device_id === 'string' ? body.device_id : null,
    hints: hintsFrom(body.metadata),
  }));

export type ProgressUpdate = z.output<typeof progressBodySchema>;

/** The error kind and message of a failed parse (the first problem found). */
export function problemOf(error: z.ZodError): Problem {
  const issue = error.issues[0];
  const kind = (issue?.code === 'custom' ? (issue.params?.kind as ErrorKind | undefined) : undefined) ?? 'invalidFields';
  return { kind, message: issue?.message ?? 'Invalid request data' };
}
