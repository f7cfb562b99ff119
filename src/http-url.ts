// One test for "an absolute http(s) URL", shared by the credentials layer (Keystone's auth URL) and the catalog (every endpoint).

/** An absolute http(s) URL: what Keystone's auth URL and every catalog endpoint must be. */
export function isHttpUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const { protocol } = new URL(text);
  return protocol === 'http:' || protocol === 'https:';
}
