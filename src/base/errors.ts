/** What an error says: its message, or the thrown value as text (a library may throw anything). */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
