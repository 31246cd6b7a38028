// Parses a SentencePiece `tokenizer.model` (protobuf ModelProto) into plain data.
// Only the fields the encoder/decoder needs are declared; protobufjs skips the rest.
import protobuf from 'protobufjs';

const PROTO = `
syntax = "proto2";
message TrainerSpec {
  enum ModelType { UNIGRAM = 1; BPE = 2; WORD = 3; CHAR = 4; }
  optional ModelType model_type = 3 [default = UNIGRAM];
  optional int32 vocab_size = 4 [default = 8000];
  optional bool treat_whitespace_as_suffix = 24 [default = false];
  optional bool split_digits = 25 [default = false];
  optional bool byte_fallback = 35 [default = false];
  optional int32 unk_id = 40 [default = 0];
  optional int32 bos_id = 41 [default = 1];
  optional int32 eos_id = 42 [default = 2];
  optional int32 pad_id = 43 [default = -1];
  optional string unk_surface = 44 [default = " \u2047 "];
}
message NormalizerSpec {
  optional string name = 1;
  optional bytes precompiled_charsmap = 2;
  optional bool add_dummy_prefix = 3 [default = true];
  optional bool remove_extra_whitespaces = 4 [default = true];
  optional bool escape_whitespaces = 5 [default = true];
}
message ModelProto {
  message SentencePiece {
    enum Type { NORMAL = 1; UNKNOWN = 2; CONTROL = 3; USER_DEFINED = 4; UNUSED = 5; BYTE = 6; }
    optional string piece = 1;
    optional float score = 2;
    optional Type type = 3 [default = NORMAL];
  }
  repeated SentencePiece pieces = 1;
  optional TrainerSpec trainer_spec = 2;
  optional NormalizerSpec normalizer_spec = 3;
}
`;

export const PieceType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;
export type PieceTypeId = (typeof PieceType)[keyof typeof PieceType];

export interface SentencePieceModel {
  pieces: string[];
  scores: Float32Array;
  types: Uint8Array;
  modelType: 'UNIGRAM' | 'BPE' | 'WORD' | 'CHAR';
  vocabSize: number;
  byteFallback: boolean;
  splitDigits: boolean;
  treatWhitespaceAsSuffix: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  unkSurface: string;
  normalizer: {
    name: string;
    hasCharsmap: boolean;
    addDummyPrefix: boolean;
    removeExtraWhitespaces: boolean;
    escapeWhitespaces: boolean;
  };
}

interface RawPiece {
  piece: string;
  score: number;
  type: number;
}
interface RawModel {
  pieces: RawPiece[];
  trainerSpec?: {
    modelType: string;
    vocabSize: number;
    treatWhitespaceAsSuffix: boolean;
    splitDigits: boolean;
    byteFallback: boolean;
    unkId: number;
    bosId: number;
    eosId: number;
    padId: number;
    unkSurface: string;
  };
  normalizerSpec?: {
    name: string;
    precompiledCharsmap: Uint8Array;
    addDummyPrefix: boolean;
    removeExtraWhitespaces: boolean;
    escapeWhitespaces: boolean;
  };
}

let modelType: protobuf.Type | undefined;
function protoType(): protobuf.Type {
  modelType ??= protobuf.parse(PROTO, { keepCase: false }).root.lookupType('ModelProto');
  return modelType;
}

export class TokenizerFileError extends Error {
  override name = 'TokenizerFileError';
}

/** Decodes the protobuf; throws TokenizerFileError for anything that is not a usable SentencePiece model. */
export function parseSentencePieceModel(bytes: Uint8Array, source = 'tokenizer.model'): SentencePieceModel {
  if (bytes.byteLength === 0) throw new TokenizerFileError(`${source}: file is empty`);
  const type = protoType();
  let raw: RawModel;
  try {
    const msg = type.decode(bytes);
    raw = type.toObject(msg, { enums: String, defaults: true, bytes: Uint8Array }) as unknown as RawModel;
  } catch (err) {
    throw new TokenizerFileError(
      `${source}: not a valid SentencePiece ModelProto (${(err as Error).message}); the file is corrupt or truncated`,
    );
  }
  const n = raw.pieces.length;
  if (n === 0) throw new TokenizerFileError(`${source}: contains no pieces; the file is corrupt or truncated`);
  const ts = raw.trainerSpec;
  const ns = raw.normalizerSpec;
  if (!ts || !ns) throw new TokenizerFileError(`${source}: trainer_spec or normalizer_spec missing`);
  const typeIds: Record<string, number> = PieceType;
  const pieces = new Array<string>(n);
  const scores = new Float32Array(n);
  const types = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const p = raw.pieces[i]!;
    pieces[i] = p.piece;
    scores[i] = p.score;
    const t = typeIds[String(p.type)];
    if (t === undefined) throw new TokenizerFileError(`${source}: piece ${i} has unknown type ${String(p.type)}`);
    types[i] = t;
  }
  return {
    pieces,
    scores,
    types,
    modelType: ts.modelType as SentencePieceModel['modelType'],
    vocabSize: n,
    byteFallback: ts.byteFallback,
    splitDigits: ts.splitDigits,
    treatWhitespaceAsSuffix: ts.treatWhitespaceAsSuffix,
    unkId: ts.unkId,
    bosId: ts.bosId,
    eosId: ts.eosId,
    padId: ts.padId,
    unkSurface: ts.unkSurface,
    normalizer: {
      name: ns.name,
      hasCharsmap: (ns.precompiledCharsmap?.byteLength ?? 0) > 0,
      addDummyPrefix: ns.addDummyPrefix,
      removeExtraWhitespaces: ns.removeExtraWhitespaces,
      escapeWhitespaces: ns.escapeWhitespaces,
    },
  };
}
