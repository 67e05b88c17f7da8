/**
 * On-disk answer cache: one JSON file per (provider, model, rendered prompt, image hashes, sampling
 * options, sample index), so an ablation re-run costs nothing. Writes go to a unique temporary file and
 * are renamed into place: a killed process leaves at most a stray temporary file, never a half-written
 * entry, and two processes writing the same entry both leave a complete one. Entries hold answers and
 * usage, never keys or headers.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Prompt } from '@ekipl/core';

export interface CachedAnswer {
  text: string;
  logProb?: number;
  costUsd: number;
}

export interface CacheKeyParts {
  provider: string;
  model: string;
  baseURL?: string | undefined;
  prompt: Prompt;
  sampling: Record<string, unknown>;
  index: number;
}

export function hashBytes(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function cacheKey(parts: CacheKeyParts): string {
  const identity = {
    provider: parts.provider,
    model: parts.model,
    baseURL: parts.baseURL ?? null,
    system: parts.prompt.system,
    user: parts.prompt.user,
    images: parts.prompt.images.map((image) => `${image.mediaType}:${hashBytes(image.data)}`),
    sampling: parts.sampling,
    index: parts.index,
  };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
}

export class AnswerCache {
  constructor(readonly directory: string) {}

  private file(key: string): string {
    return join(this.directory, key.slice(0, 2), `${key}.json`);
  }

  async get(key: string): Promise<CachedAnswer | undefined> {
    try {
      const value = JSON.parse(await readFile(this.file(key), 'utf8')) as CachedAnswer;
      return typeof value.text === 'string' ? value : undefined;
    } catch {
      return undefined; // absent (or unreadable: treated as a miss and rewritten)
    }
  }

  async set(key: string, answer: CachedAnswer): Promise<void> {
    const file = this.file(key);
    await mkdir(dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(temporary, JSON.stringify(answer));
    await rename(temporary, file);
  }
}
