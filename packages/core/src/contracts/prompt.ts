import type { TaskImage } from './task.js';

/** What a sampler sees for one task: a system instruction, the user's text and the images. */
export interface Prompt {
  system: string;
  user: string;
  images: TaskImage[];
}

/** Sampling settings shared by the policy and the samplers that honour them. */
export interface SamplingSettings {
  /** Softmax temperature T; every log-prob in a run is of softmax(logits / T). */
  temperature: number;
  /** Nucleus sampling mass in (0, 1]; 1 disables it. */
  topP: number;
  /** Keep only the k most likely tokens; 0 disables it. */
  topK: number;
  /** Maximum completion length in tokens. */
  maxTokens: number;
  /** Seed of this call's draws (derived from the run seed and step), so a step's samples are reproducible. */
  seed: number;
}
