/**
 * The gateway's audit log: one JSON line per tool call, appended and written through to the file before
 * the answer goes back to the agent (append-only, one write per line). Arguments only when the tool's
 * `include_arguments_in_audit` says so; the decision id and the token id always, when there are any.
 */
import fs from 'node:fs';

export interface AuditRecord {
  ts: string;
  server: string;
  tool: string;
  decision_id: string | null;
  outcome: string | null;
  token_jti: string | null;
  forwarded: boolean;
  result: 'ok' | 'upstream_error' | 'refused';
  reason?: string;
  conditions?: string[];
  duration_ms: number;
  arguments?: unknown;
}

export interface AuditSink {
  write(record: AuditRecord): void;
  close(): void;
}

/** An append-only JSONL file (created with mode 0600 when absent). */
export function openAuditLog(file: string): AuditSink {
  const fd = fs.openSync(file, 'a', 0o600);
  let open = true;
  return {
    write(record) {
      if (!open) return;
      let line: string;
      try {
        line = JSON.stringify(record);
      } catch {
        // Arguments too deep to serialize: the line is written without them, and says so.
        line = JSON.stringify({ ...record, arguments: undefined, arguments_omitted: 'not serializable' });
      }
      fs.writeSync(fd, `${line}\n`);
    },
    close() {
      if (!open) return;
      open = false;
      fs.closeSync(fd);
    },
  };
}

export const noAudit: AuditSink = { write() {}, close() {} };

/** The `jti` claim of a capability token (`cap_` + base64url(claims) + `_` + 86-character signature). */
export function tokenJti(token: string | null | undefined): string | null {
  if (typeof token !== 'string' || !token.startsWith('cap_') || token.length < 4 + 1 + 86 + 1) return null;
  try {
    const claims = JSON.parse(Buffer.from(token.slice(4, token.length - 87), 'base64url').toString('utf8')) as { jti?: unknown };
    return typeof claims.jti === 'string' ? claims.jti : null;
  } catch {
    return null;
  }
}
