/**
 * `WWW-Authenticate` challenges (RFC 7235) as registries send them:
 * `Bearer realm="https://auth…/token",service="registry",scope="…"` or
 * `Basic realm="…"`, possibly several in one header.
 */

export interface Challenge {
  /** Lower-cased: `bearer`, `basic`. */
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;

export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const texts = header === undefined ? [] : Array.isArray(header) ? header : [header];
  const challenges: Challenge[] = [];
  for (const text of texts) {
    let rest = text.trim();
    let current: { scheme: string; params: Record<string, string> } | undefined;
    while (rest.length > 0) {
      const token = TOKEN.exec(rest)?.[0];
      if (!token) {
        // Not a challenge we understand: skip to the next comma.
        const comma = rest.indexOf(',');
        rest = comma < 0 ? '' : rest.slice(comma + 1).trimStart();
        continue;
      }
      rest = rest.slice(token.length).trimStart();
      if (rest.startsWith('=') && current) {
        rest = rest.slice(1).trimStart();
        let value: string;
        if (rest.startsWith('"')) {
          let i = 1;
          value = '';
          while (i < rest.length && rest[i] !== '"') {
            if (rest[i] === '\\' && i + 1 < rest.length) i++;
            value += rest[i];
            i++;
          }
          rest = rest.slice(i + 1);
        } else {
          value = TOKEN.exec(rest)?.[0] ?? '';
          rest = rest.slice(value.length);
        }
        current.params[token.toLowerCase()] = value;
      } else {
        current = { scheme: token.toLowerCase(), params: {} };
        challenges.push(current);
      }
      rest = rest.trimStart();
      if (rest.startsWith(',')) rest = rest.slice(1).trimStart();
    }
  }
  return challenges;
}
