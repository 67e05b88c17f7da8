/** Task families of the Reason-RFT-CoT benchmark; any other string names a family of a third-party dataset. */
export type TaskFamily = 'counting' | 'structure' | 'spatial' | (string & {});

/** `train` for training, `id` / `ood` for the in-domain and out-of-domain test splits. */
export type TaskSplit = 'train' | 'id' | 'ood' | (string & {});

/** One encoded image (PNG or JPEG bytes). */
export interface TaskImage {
  /** Encoded bytes as stored on disk. */
  data: Uint8Array;
  /** IANA media type of `data`. */
  mediaType: 'image/png' | 'image/jpeg' | (string & {});
}

/** One visual reasoning problem with a verifiable answer. */
export interface Task {
  /** Unique within its dataset and split; stable across runs with the same seed. */
  id: string;
  family: TaskFamily;
  /** One or more images; TRANCE-like spatial tasks carry the initial and the final scene. */
  images: TaskImage[];
  question: string;
  /** Ground truth as text: `3`, `B`, `change_color(2, red), change_size(1, small)`. */
  answer: string;
  /** Multiple-choice options, in order (`A` is the first). */
  choices?: string[];
  split: TaskSplit;
  /** Dataset-specific facts (the scene description, a chain-of-thought) for oracles and rewards. */
  metadata?: Record<string, unknown>;
}
