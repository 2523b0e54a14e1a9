/** escapeHtml: text safe inside HTML elements and quoted attributes (both quote kinds). */
export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * jsonForScript: JSON that can sit inside a `<script>` element. Every `<`, `>` and `&`
 * becomes a \u escape, so no value can close the element (`</script>`) or open a
 * comment (`<!--`); U+2028/2029 are escaped for engines that treat them as line ends.
 * JSON.parse reads the escapes back to the same characters.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
