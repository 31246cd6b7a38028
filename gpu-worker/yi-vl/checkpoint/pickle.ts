// A restricted unpickler for PyTorch state dicts (protocols 2–4). It never imports or runs anything: globals are
// plain records, and only the handful of torch/collections reducers a state dict uses are interpreted.

export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

export class PyTuple {
  constructor(readonly items: unknown[]) {}
}

/** The result of calling a global we do not interpret. */
export class PyCall {
  constructor(
    readonly callable: PyGlobal,
    readonly args: unknown[],
  ) {}
}

export interface StorageRef {
  kind: 'storage';
  storageType: string;
  key: string;
  numel: number;
}

export interface TensorRef {
  kind: 'tensor';
  storage: StorageRef;
  storageOffset: number;
  size: number[];
  stride: number[];
}

const MARK = Symbol('mark');

function asInts(v: unknown, what: string): number[] {
  if (!(v instanceof PyTuple)) throw new Error(`pickle: ${what} is not a tuple`);
  return v.items.map((x) => {
    if (typeof x !== 'number') throw new Error(`pickle: ${what} holds a non-integer`);
    return x;
  });
}

function reduce(fn: unknown, argsV: unknown): unknown {
  if (!(fn instanceof PyGlobal)) throw new Error('pickle: REDUCE on a non-global');
  const args = argsV instanceof PyTuple ? argsV.items : [];
  switch (fn.qualified) {
    case 'collections.OrderedDict':
      return new Map<unknown, unknown>();
    case 'torch._utils._rebuild_tensor':
    case 'torch._utils._rebuild_tensor_v2': {
      const storage = args[0] as StorageRef;
      if (storage?.kind !== 'storage') throw new Error('pickle: tensor without storage');
      return {
        kind: 'tensor',
        storage,
        storageOffset: args[1] as number,
        size: asInts(args[2], 'size'),
        stride: asInts(args[3], 'stride'),
      } satisfies TensorRef;
    }
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      return args[0];
    default:
      return new PyCall(fn, args);
  }
}

function persistentLoad(pid: unknown): StorageRef {
  if (!(pid instanceof PyTuple) || pid.items[0] !== 'storage') throw new Error('pickle: unsupported persistent id');
  const [, type, key, , numel] = pid.items;
  if (!(type instanceof PyGlobal) || typeof key !== 'string' || typeof numel !== 'number') {
    throw new Error('pickle: malformed storage reference');
  }
  return { kind: 'storage', storageType: type.name, key, numel };
}

export function unpickle(data: Uint8Array): unknown {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let p = 0;
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  const pop = () => {
    if (stack.length === 0) throw new Error('pickle: stack underflow');
    return stack.pop();
  };
  const popMark = (): unknown[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) throw new Error('pickle: no mark');
    const items = stack.splice(i);
    items.shift();
    return items;
  };
  const line = (): string => {
    const end = buf.indexOf(0x0a, p);
    const s = buf.toString('latin1', p, end);
    p = end + 1;
    return s;
  };
  const top = () => stack[stack.length - 1];
  const setItems = (target: unknown, kv: unknown[]) => {
    if (!(target instanceof Map)) throw new Error('pickle: SETITEM on a non-dict');
    for (let i = 0; i + 1 < kv.length; i += 2) target.set(kv[i], kv[i + 1]);
  };
  while (p < buf.length) {
    const op = buf[p++]!;
    switch (op) {
      case 0x80: // PROTO
        p += 1;
        break;
      case 0x95: // FRAME
        p += 8;
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: {
        // DICT
        const m = new Map();
        setItems(m, popMark());
        stack.push(m);
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x74: // TUPLE
        stack.push(new PyTuple(popMark()));
        break;
      case 0x85:
      case 0x86:
      case 0x87: {
        const n = op - 0x84;
        stack.push(new PyTuple(stack.splice(stack.length - n, n)));
        break;
      }
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x71: // BINPUT
        memo.set(buf[p++]!, top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(buf.readUInt32LE(p), top());
        p += 4;
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(memo.get(buf[p++]!));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memo.get(buf.readUInt32LE(p)));
        p += 4;
        break;
      case 0x58: // BINUNICODE
      case 0x8c: // SHORT_BINUNICODE
      case 0x8d: {
        // BINUNICODE8
        const len = op === 0x8c ? buf[p]! : op === 0x58 ? buf.readUInt32LE(p) : Number(buf.readBigUInt64LE(p));
        p += op === 0x8c ? 1 : op === 0x58 ? 4 : 8;
        stack.push(buf.toString('utf8', p, p + len));
        p += len;
        break;
      }
      case 0x54: // BINSTRING
      case 0x55: {
        // SHORT_BINSTRING
        const len = op === 0x55 ? buf[p]! : buf.readUInt32LE(p);
        p += op === 0x55 ? 1 : 4;
        stack.push(buf.toString('latin1', p, p + len));
        p += len;
        break;
      }
      case 0x42: // BINBYTES
      case 0x43: {
        // SHORT_BINBYTES
        const len = op === 0x43 ? buf[p]! : buf.readUInt32LE(p);
        p += op === 0x43 ? 1 : 4;
        stack.push(new Uint8Array(buf.subarray(p, p + len)));
        p += len;
        break;
      }
      case 0x63: {
        // GLOBAL
        const module = line();
        stack.push(new PyGlobal(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop() as string;
        stack.push(new PyGlobal(pop() as string, name));
        break;
      }
      case 0x51: // BINPERSID
        stack.push(persistentLoad(pop()));
        break;
      case 0x4a: // BININT
        stack.push(buf.readInt32LE(p));
        p += 4;
        break;
      case 0x4b: // BININT1
        stack.push(buf[p++]!);
        break;
      case 0x4d: // BININT2
        stack.push(buf.readUInt16LE(p));
        p += 2;
        break;
      case 0x8a: // LONG1
      case 0x8b: {
        // LONG4
        const len = op === 0x8a ? buf[p]! : buf.readUInt32LE(p);
        p += op === 0x8a ? 1 : 4;
        let v = 0n;
        for (let i = len - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[p + i]!);
        if (len > 0 && buf[p + len - 1]! & 0x80) v -= 1n << BigInt(8 * len);
        p += len;
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT
        stack.push(buf.readDoubleBE(p));
        p += 8;
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x52: {
        // REDUCE
        const args = pop();
        stack.push(reduce(pop(), args));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        stack.push(cls instanceof PyGlobal ? new PyCall(cls, args instanceof PyTuple ? args.items : []) : null);
        break;
      }
      case 0x62: // BUILD: state is irrelevant for tensors and dicts
        pop();
        break;
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const kv = popMark();
        setItems(top(), kv);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        (top() as unknown[]).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        (top() as unknown[]).push(...items);
        break;
      }
      case 0x2e: // STOP
        return pop();
      default:
        throw new Error(`pickle: unsupported opcode 0x${op.toString(16)} at ${p - 1}`);
    }
  }
  throw new Error('pickle: no STOP');
}
