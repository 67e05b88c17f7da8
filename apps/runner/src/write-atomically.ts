import { rename, writeFile } from 'node:fs/promises';

/** Writes via a temporary file and a rename: a crash leaves the old file or the new one, never half. */
export async function writeAtomically(file: string, data: string | Uint8Array): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, data);
  await rename(temporary, file);
}
