import type { ZodError } from 'zod';

/** A short, bounded description of why a body failed its schema (first few issues, with paths). */
export function zodIssues(error: ZodError, max = 3): string {
  const issues = error.issues.slice(0, max).map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  const more = error.issues.length > max ? ` (+${error.issues.length - max} more)` : '';
  return issues.join('; ') + more;
}
