import { z } from 'zod';
import { decodeStrictUtf8 } from '../util/utf8.js';

/**
 * The sign-in form's fields. The username is trimmed as Calibre-Web's login form does (web.py
 * login_post, docs/UPSTREAM.md#calibre-web-users-and-roles); the limits are those of Basic auth
 * (docs/PROTOCOL.md §3.1).
 */
const enableFormSchema = z.object({
  username: z
    .string()
    .trim()
    .min(1)
    .refine((name) => !name.includes(':') && [...name].length <= 100),
  password: z.string().min(1).max(1024),
});

type EnableForm = z.output<typeof enableFormSchema>;

/** The username the visitor typed, to fill in again; empty when the body is unreadable. */
export function typedUsername(body: unknown): string {
  const fields = formFields(body);
  return fields?.username?.trim().slice(0, 100) ?? '';
}

/** The POSTed form (application/x-www-form-urlencoded, UTF-8), or undefined when it is not one. */
export function parseEnableForm(contentType: string | undefined, body: unknown): EnableForm | undefined {
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType ?? '')) return undefined;
  const fields = formFields(body);
  if (!fields) return undefined;
  const parsed = enableFormSchema.safeParse(fields);
  return parsed.success ? parsed.data : undefined;
}

function formFields(body: unknown): Record<string, string> | undefined {
  if (!Buffer.isBuffer(body)) return undefined;
  const text = decodeStrictUtf8(body);
  if (text === undefined) return undefined;
  const params = new URLSearchParams(text);
  const fields: Record<string, string> = {};
  for (const name of ['username', 'password']) {
    const value = params.get(name);
    if (value !== null) fields[name] = value;
  }
  return fields;
}

/** The fields the signed-in page's forms send (all hidden, made by the page); undefined when the body is not such a form. */
const ACCOUNT_FIELDS = ['document', 'timestamp', 'book_id'] as const;

export function parseAccountForm(
  contentType: string | undefined,
  body: unknown,
): Partial<Record<(typeof ACCOUNT_FIELDS)[number], string>> | undefined {
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType ?? '')) return undefined;
  if (!Buffer.isBuffer(body)) return body === undefined ? {} : undefined;
  const text = decodeStrictUtf8(body);
  if (text === undefined) return undefined;
  const params = new URLSearchParams(text);
  const fields: Partial<Record<(typeof ACCOUNT_FIELDS)[number], string>> = {};
  for (const name of ACCOUNT_FIELDS) {
    const value = params.get(name);
    if (value !== null) fields[name] = value;
  }
  return fields;
}
