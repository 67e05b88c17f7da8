import { EkiplError } from '@ekipl/core';
import { describe, expect, it } from 'vitest';
import { isFatalEngineError, PolicyWorkerError, Replica, type ReplicaSetup } from '../src/replicas.js';

const setup = (mode: string) => ({ mode }) as unknown as ReplicaSetup;
const script = new URL('./fixtures/dying-worker.mjs', import.meta.url);
// The project's TypeScript lib has no DOM, where the WebAssembly types live.
const wasm = (
  globalThis as unknown as {
    WebAssembly: {
      Module: new (bytes: Uint8Array) => object;
      Instance: new (module: object) => { exports: { run: () => void } };
    };
  }
).WebAssembly;
const model = 'dimension 128, layers 4 (1.08 M parameters)';

describe('a worker that dies stops the run with a message naming it', () => {
  it('recognises a wasm trap and allocation failures as fatal, other errors not', () => {
    const trap = (() => {
      try {
        new wasm.Instance(
          new wasm.Module(
            new Uint8Array([
              0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 7, 7, 1, 3, 0x72, 0x75, 0x6e,
              0, 0, 0xa, 5, 1, 3, 0, 0, 0xb,
            ]),
          ),
        ).exports.run();
      } catch (error) {
        return error;
      }
    })();
    expect(isFatalEngineError(trap)).toBe(true);
    expect(isFatalEngineError(new RangeError('Array buffer allocation failed'))).toBe(true);
    expect(isFatalEngineError(new Error("a sequence of 300 tokens exceeds the model's 256 positions"))).toBe(
      false,
    );
  });

  for (const mode of ['trap', 'exit']) {
    it(`${mode === 'trap' ? 'a wasm abort' : 'a thread that exits'}: the call and every later one reject with PolicyWorkerError`, async () => {
      const replica = new Replica(setup(mode), 'worker 1 of 1', model, script);
      try {
        expect(await replica.call({ type: 'memory', collectGarbage: false })).toMatchObject({ tensors: 1 });
        const failure = await replica
          .call({ type: 'supervised', examples: [], totalTokens: 0 })
          .catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(PolicyWorkerError);
        // A known error (printed without a stack) that names the worker, the operation and the model.
        expect(EkiplError.isInstance(failure)).toBe(true);
        const message = (failure as Error).message;
        expect(message).toContain('policy worker 1 of 1 died during supervised');
        expect(message).toContain(mode === 'trap' ? 'RuntimeError: unreachable' : 'exited with code 134');
        expect(message).toContain(model);
        await expect(replica.call({ type: 'memory', collectGarbage: false })).rejects.toBe(failure);
      } finally {
        await replica.terminate();
      }
    });
  }
});
