/** One line of `doctor`'s report. `fail` means syncing cannot work (the server would not start, or writes fail). */
export interface Finding {
  level: 'ok' | 'note' | 'warn' | 'fail';
  text: string;
}

export const ok = (text: string): Finding => ({ level: 'ok', text });
export const note = (text: string): Finding => ({ level: 'note', text });
export const warn = (text: string): Finding => ({ level: 'warn', text });
export const fail = (text: string): Finding => ({ level: 'fail', text });

export function blocking(findings: readonly Finding[]): Finding[] {
  return findings.filter((f) => f.level === 'fail');
}

export function formatReport(findings: readonly Finding[]): string {
  const label = { ok: 'ok  ', note: 'note', warn: 'WARN', fail: 'FAIL' } as const;
  const problems = blocking(findings).length;
  const verdict =
    problems === 0
      ? 'Nothing blocks syncing.'
      : `${problems} problem${problems === 1 ? '' : 's'} (FAIL) block${problems === 1 ? 's' : ''} syncing.`;
  return `${findings.map((f) => `  ${label[f.level]}  ${f.text}`).join('\n')}\n\n${verdict}\n`;
}
