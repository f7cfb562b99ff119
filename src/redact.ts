// Redaction: secrets never reach stdout, stderr, logs or reports.

const SECRET_HEADER = /^(x-auth-token|x-subject-token|authorization|x-service-token)$/i;
// user_data: cloud-config may set passwords (chpasswd) or hold keys; --debug shows its size, never its text.
const SECRET_KEY = /(password|secret|token|private_?key|credential|^user_data$)/i;

/** A registry of secret values seen in this process; every output path filters through it. */
export class Redactor {
  private readonly values = new Set<string>();

  add(...secrets: Array<string | undefined | null>): void {
    for (const s of secrets) if (s && s.length >= 4) this.values.add(s);
  }

  /** Replace every known secret value in `text` by `***`. */
  text(text: string): string {
    let out = text;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join('***');
    return out;
  }

  headers(headers: Record<string, string | string[] | undefined>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) {
      if (v === undefined) continue;
      out[k] = SECRET_HEADER.test(k) ? '***' : this.text(Array.isArray(v) ? v.join(', ') : v);
    }
    return out;
  }
}

/** Deep copy of a JSON value with secret-looking keys masked (for --debug bodies). */
export function redactJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactJson);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_KEY.test(k) && typeof v === 'string' ? '***' : redactJson(v);
    }
    return out;
  }
  return value;
}
