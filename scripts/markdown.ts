/** A generated markdown page as prettier formats the repository's markdown (its config at `path`). */
export async function formattedAt(markdown: string, path: string): Promise<string> {
  const prettier = await import('prettier');
  const options = await prettier.resolveConfig(path);
  return prettier.format(markdown, { ...options, parser: 'markdown' });
}
