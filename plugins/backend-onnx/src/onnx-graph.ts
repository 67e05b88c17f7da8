import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const { DataType } = onnx.TensorProto;
const { AttributeType } = onnx.AttributeProto;

/** A dimension: a fixed size, or a name for one given at run time. */
export type Dimension = number | string;

/** Node attributes: integers, integer lists or strings (float values go in as scalar constants). */
type Attribute = number | number[] | string;

/**
 * Builds an ONNX graph node by node and serialises the model with the ONNX schema's protobuf
 * definition (onnx-proto). Values are named by the builder (`t0`, `t1`, ...) unless named explicitly.
 */
export class GraphBuilder {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private counter = 0;

  constructor(private readonly name: string) {}

  input(name: string, type: 'float' | 'int64', dims: readonly Dimension[]): string {
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  /**
   * Makes a value a graph output named `name`. A value a node of this graph makes is renamed in place
   * (an Identity node would copy it on every run: the KV cache, the logits); others go through Identity.
   */
  output(value: string, name: string, type: 'float' | 'int64', dims: readonly Dimension[]): void {
    const producer = this.nodes.find((node) => node.output.includes(value));
    if (producer === undefined) this.op('Identity', [value], {}, name);
    else {
      for (const node of this.nodes) {
        node.output = node.output.map((each) => (each === value ? name : each));
        node.input = node.input.map((each) => (each === value ? name : each));
      }
    }
    this.outputs.push(valueInfo(name, type, dims));
  }

  /** A constant float tensor stored in the model. */
  floats(name: string, data: Float32Array, dims: readonly number[]): string {
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dataType: DataType.FLOAT,
        dims: [...dims],
        rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      }),
    );
    return name;
  }

  /** A constant int64 tensor (shapes, axes, indices). */
  ints(values: readonly number[]): string {
    const name = `c${this.counter++}`;
    const data = BigInt64Array.from(values.map((value) => BigInt(value)));
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dataType: DataType.INT64,
        dims: [values.length],
        rawData: new Uint8Array(data.buffer),
      }),
    );
    return name;
  }

  /** A scalar float constant. */
  scalar(value: number): string {
    const name = `c${this.counter++}`;
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dataType: DataType.FLOAT,
        dims: [],
        rawData: new Uint8Array(Float32Array.of(value).buffer),
      }),
    );
    return name;
  }

  /** One node; returns its output's name (`output`, or one the builder makes up). */
  op(
    type: string,
    inputs: readonly string[],
    attributes: Record<string, Attribute> = {},
    output?: string,
  ): string {
    return this.node(type, inputs, [output ?? `t${this.counter++}`], attributes)[0]!;
  }

  /** One node with `count` outputs (Split); returns their names. */
  ops(
    type: string,
    inputs: readonly string[],
    count: number,
    attributes: Record<string, Attribute> = {},
  ): string[] {
    const outputs = Array.from({ length: count }, () => `t${this.counter++}`);
    return this.node(type, inputs, outputs, attributes);
  }

  private node(
    type: string,
    inputs: readonly string[],
    outputs: string[],
    attributes: Record<string, Attribute>,
  ): string[] {
    this.nodes.push(
      onnx.NodeProto.create({
        opType: type,
        input: [...inputs],
        output: outputs,
        name: `${type}_${this.nodes.length}`,
        attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
      }),
    );
    return outputs;
  }

  /** The serialised model (opset 17). */
  toBytes(): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'ekipl',
      opsetImport: [{ domain: '', version: 17 }],
      graph: onnx.GraphProto.create({
        name: this.name,
        node: this.nodes,
        input: this.inputs,
        output: this.outputs,
        initializer: this.initializers,
      }),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, type: 'float' | 'int64', dims: readonly Dimension[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: type === 'float' ? DataType.FLOAT : DataType.INT64,
        shape: {
          dim: dims.map((dim) => (typeof dim === 'number' ? { dimValue: dim } : { dimParam: dim })),
        },
      },
    },
  });
}

function attribute(name: string, value: Attribute) {
  if (typeof value === 'string') {
    return onnx.AttributeProto.create({
      name,
      type: AttributeType.STRING,
      s: new TextEncoder().encode(value),
    });
  }
  if (Array.isArray(value))
    return onnx.AttributeProto.create({ name, type: AttributeType.INTS, ints: value });
  return onnx.AttributeProto.create({ name, type: AttributeType.INT, i: value });
}
