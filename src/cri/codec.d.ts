/**
 * What the client uses of the CRI codec, which scripts/cri-codec.sh generates (static protobufjs
 * code for proto/cri-subset.proto) into the built tree as codec.js.
 */
export interface ConversionOptions {
  readonly longs?: NumberConstructor | StringConstructor;
  readonly enums?: StringConstructor;
  readonly defaults?: boolean;
  readonly oneofs?: boolean;
}

export interface MessageCodec {
  fromObject(o: object): object;
  encode(m: object): { finish(): Uint8Array };
  decode(b: Uint8Array): object;
  toObject(m: object, o: ConversionOptions): unknown;
}

export declare const runtime: { readonly v1: Readonly<Record<string, MessageCodec | undefined>> };
