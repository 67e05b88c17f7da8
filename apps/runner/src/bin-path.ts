import { fileURLToPath } from 'node:url';

/** The built CLI (dist/bin.js), for commands that run others as child processes; the same path from src/ and dist/. */
export const binPath = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
