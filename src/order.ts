// Orders that are the same on every machine: code-unit comparison, never localeCompare, whose order
// depends on the locale and whose first call loads ICU's collator (8–13 ms, measured on Node 20).

/** Code-unit order of two strings. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Glance images (and anything dated like them) newest first by created_at, an ISO 8601 time whose code-unit order is time order; then by id. */
export function newestFirst(a: { created_at?: string | null | undefined; id: string }, b: { created_at?: string | null | undefined; id: string }): number {
  return cmp(b.created_at ?? '', a.created_at ?? '') || cmp(a.id, b.id);
}
