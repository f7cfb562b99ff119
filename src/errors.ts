// One error hierarchy for imagesync: stable codes, one-line messages, exit codes, the cause kept.

/** Exit codes of every command (DESIGN.md). */
export const ExitCode = {
  ok: 0,
  failure: 1,
  changesPending: 2,
  invalidInput: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface ImagesyncErrorOptions {
  cause?: unknown;
  /** Extra lines shown under the one-line message (hints, the list of problems). */
  details?: string[];
}

/**
 * Base class. `message` is ONE line that names the place (file:line, JSON path,
 * cloud/region/image) and what to do; `details` carry the rest.
 */
export class ImagesyncError extends Error {
  readonly code: string = 'IMAGESYNC_ERROR';
  readonly exitCode: ExitCode = ExitCode.failure;
  readonly details: string[];
  constructor(message: string, options: ImagesyncErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.details = options.details ?? [];
  }
}

/** Invalid input (manifest, config, flags): exit 3, nothing was contacted. */
export class InputError extends ImagesyncError {
  override readonly code: string = 'INVALID_INPUT';
  override readonly exitCode: ExitCode = ExitCode.invalidInput;
}

/** The manifest has one or more problems; each is a one-line `path: message`. */
export class ManifestError extends InputError {
  override readonly code = 'INVALID_MANIFEST';
  readonly problems: string[];
  constructor(file: string, problems: string[], options: ImagesyncErrorOptions = {}) {
    super(
      problems.length === 1
        ? // "file:12:5: message" for a position, "file: path: message" otherwise
          `${file}:${/^\d+:\d+: /.test(problems[0]!) ? '' : ' '}${problems[0]}`
        : `${file}: ${problems.length} problems`,
      { ...options, details: problems.length === 1 ? [] : problems },
    );
    this.problems = problems;
  }
}

/** clouds.yaml / secure.yaml / OS_* problems. */
export class ConfigError extends InputError {
  override readonly code = 'INVALID_CONFIG';
}

/** Bad command-line flags. */
export class UsageError extends InputError {
  override readonly code = 'INVALID_USAGE';
}

/** Where a call went: used to name the place in runtime errors. */
export interface TargetRef {
  cloud: string;
  region?: string | undefined;
}

export function targetLabel(t: TargetRef): string {
  return t.region ? `${t.cloud}/${t.region}` : t.cloud;
}

export interface HttpErrorInfo {
  method: string;
  url: string;
  status?: number | undefined;
  requestId?: string | undefined;
  /** The start of the body, already redacted and cut to one line. */
  bodyStart?: string | undefined;
  target?: TargetRef | undefined;
}

/**
 * An HTTP call that failed: wrong status, unreadable body, or no connection.
 * Carries method, URL, status, `x-openstack-request-id` and the start of the body.
 */
export class HttpError extends ImagesyncError {
  override readonly code: string = 'HTTP_ERROR';
  readonly info: HttpErrorInfo;
  constructor(message: string, info: HttpErrorInfo, options: ImagesyncErrorOptions = {}) {
    super(message, options);
    this.info = info;
  }
  get status(): number | undefined {
    return this.info.status;
  }
}

/** Keystone refused the credentials (401) or the scope. */
export class AuthError extends HttpError {
  override readonly code = 'AUTH_FAILED';
}

/** The service answered with something that is not the JSON we expect (HTML page, truncated JSON, wrong shape). */
export class ResponseError extends HttpError {
  override readonly code = 'BAD_RESPONSE';
}

/** Could not connect (refused, reset, DNS, TLS, timeout). */
export class ConnectionError extends HttpError {
  override readonly code = 'CONNECTION_FAILED';
}

/** A service or region that the catalog does not offer. */
export class CatalogError extends ImagesyncError {
  override readonly code = 'CATALOG';
}

/** Short text for any thrown value, for one-line reports. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
