/**
 * pathGlob: a URL path pattern as a RegExp — `*` is one path segment (or part of one),
 * `**` any number of segments: `/repos/*\/issues`, `/search/**`. A trailing `/` in the
 * path is allowed. Used by the harvest's budgets and the mock's per-path costs alike.
 */
export function pathGlob(pattern: string): RegExp {
  let body = '';
  for (const segment of pattern.split('/').slice(1)) {
    body += segment === '**' ? '(?:/.*)?' : `/${segment.split('*').map(escape).join('[^/]*')}`;
  }
  return new RegExp(`^${body}/?$`);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
