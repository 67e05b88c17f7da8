/**
 * The safetensors format (what PyTorch and Hugging Face tooling read): an 8-byte little-endian header
 * length, a JSON header `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__ }`, then the
 * raw little-endian tensor bytes. Only float32 is written here.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';

export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

export function encodeSafetensors(
  tensors: Record<string, NamedTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const name of names) {
    const bytes = tensors[name]!.data.byteLength;
    header[name] = { dtype: 'F32', shape: tensors[name]!.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let headerText = JSON.stringify(header);
  // Pad the header with spaces so tensor data starts 8-byte aligned.
  headerText += ' '.repeat((8 - ((8 + Buffer.byteLength(headerText)) % 8)) % 8);
  const headerBytes = Buffer.from(headerText, 'utf8');
  const result = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(result.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  result.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const name of names) {
    const data = tensors[name]!.data;
    result.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), position);
    position += data.byteLength;
  }
  return result;
}

export function decodeSafetensors(bytes: Uint8Array): {
  tensors: Record<string, NamedTensor>;
  metadata: Record<string, string>;
} {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8)
    throw new Error(`safetensors: ${bytes.byteLength} bytes, too short for a header (truncated?)`);
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > bytes.byteLength) {
    throw new Error(
      `safetensors: the header needs ${8 + headerLength} bytes, the file has ${bytes.byteLength} (truncated?)`,
    );
  }
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('utf8')) as Record<
    string,
    unknown
  >;
  const base = 8 + headerLength;
  const tensors: Record<string, NamedTensor> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const {
      dtype,
      shape,
      data_offsets: offsets,
    } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (dtype !== 'F32') throw new Error(`safetensors: ${name} has dtype ${dtype}; only F32 is supported`);
    const count = shape.reduce((product, size) => product * size, 1);
    if (offsets[1] - offsets[0] !== count * 4) {
      throw new Error(
        `safetensors: ${name} has shape [${shape.join(', ')}] but ${offsets[1] - offsets[0]} bytes`,
      );
    }
    if (base + offsets[1] > bytes.byteLength) {
      throw new Error(
        `safetensors: ${name} ends at byte ${base + offsets[1]}, the file has ${bytes.byteLength} (truncated?)`,
      );
    }
    const copy = bytes.slice(base + offsets[0], base + offsets[1]);
    tensors[name] = { shape, data: new Float32Array(copy.buffer, copy.byteOffset, copy.byteLength / 4) };
  }
  return { tensors, metadata: (header['__metadata__'] as Record<string, string> | undefined) ?? {} };
}

/** Writes via a temporary file and a rename, so a crash never leaves a half-written file. */
export async function writeFileAtomically(file: string, data: Uint8Array | string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, data);
  await rename(temporary, file);
}

export async function readSafetensors(file: string) {
  return decodeSafetensors(new Uint8Array(await readFile(file)));
}
