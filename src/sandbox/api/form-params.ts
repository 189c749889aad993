import { paramError, StripeApiError } from '../stripe/stripe-error';

/** A decoded Stripe request: `a[b][0][c]=x` becomes `{ a: { b: [{ c: 'x' }] } }`. */
export type FormValue = string | FormObject | FormValue[];
export interface FormObject {
  [key: string]: FormValue;
}

/**
 * Decodes a form-encoded body or query string the way Stripe's API reads it: bracketed keys nest,
 * numeric (or empty) brackets make lists, and an empty value means "not given".
 */
export function parseStripeForm(text: string): FormObject {
  const root: FormObject = {};
  for (const [key, value] of new URLSearchParams(text)) {
    if (value === '') continue;
    const path = splitKey(key);
    if (!path)
      throw new StripeApiError(
        400,
        { type: 'invalid_request_error', message: `Invalid parameter: ${key}` },
        true,
      );
    let node: FormObject = root;
    path.forEach((segment, i) => {
      const last = i === path.length - 1;
      const name = segment === '' ? String(Object.keys(node).length) : segment;
      if (last) {
        if (typeof node[name] === 'object') throw conflict(key);
        node[name] = value;
        return;
      }
      const next = node[name];
      if (next === undefined) node[name] = {};
      else if (typeof next === 'string') throw conflict(key);
      node = node[name] as FormObject;
    });
  }
  return toLists(root) as FormObject;
}

function conflict(key: string): StripeApiError {
  return paramError.invalid(key, `Invalid parameter: ${key} is given both as a value and as a hash.`);
}

/** `a[b][]` → `['a', 'b', '']`; null for a malformed key. */
function splitKey(key: string): string[] | null {
  const match = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
  if (!match) return null;
  const rest = [...match[2].matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1]);
  return [match[1], ...rest];
}

/** Objects whose keys are all indexes become lists, in index order. */
function toLists(value: FormValue): FormValue {
  if (typeof value === 'string' || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  for (const key of keys) value[key] = toLists(value[key]);
  if (keys.length && keys.every((key) => /^\d+$/.test(key))) {
    return keys.sort((a, b) => Number(a) - Number(b)).map((key) => value[key]);
  }
  return value;
}

/**
 * Reads the parameters of one (nested) hash, naming each one as Stripe does in errors
 * (`line_items[0][price_data][unit_amount]`).
 */
export class ParamReader {
  private constructor(
    private readonly values: FormObject,
    private readonly prefix: string,
  ) {}

  static root(values: FormObject): ParamReader {
    return new ParamReader(values, '');
  }

  name(key: string): string {
    return this.prefix ? `${this.prefix}[${key}]` : key;
  }

  has(key: string): boolean {
    return this.values[key] !== undefined;
  }

  /** What was given under `key`: a string, a hash or a list (undefined: nothing). */
  kind(key: string): 'string' | 'hash' | 'list' | undefined {
    const value = this.values[key];
    if (value === undefined) return undefined;
    return typeof value === 'string' ? 'string' : Array.isArray(value) ? 'list' : 'hash';
  }

  /** Refuses any parameter not listed, as Stripe does. */
  allowOnly(keys: readonly string[]): this {
    for (const key of Object.keys(this.values)) {
      if (!keys.includes(key)) throw paramError.unknown(this.name(key));
    }
    return this;
  }

  string(key: string, options: { required?: boolean; maxLength?: number } = {}): string | undefined {
    const value = this.values[key];
    if (value === undefined) {
      if (options.required) throw paramError.missing(this.name(key));
      return undefined;
    }
    if (typeof value !== 'string') {
      throw paramError.invalid(this.name(key), `Invalid string: ${describe(value)}`);
    }
    if (options.maxLength !== undefined && value.length > options.maxLength) {
      throw paramError.invalid(
        this.name(key),
        `Invalid string: ${value.slice(0, 20)}...; must be at most ${options.maxLength} characters`,
      );
    }
    return value;
  }

  integer(key: string, options: { required?: boolean; min?: number; max?: number } = {}): number | undefined {
    const text = this.string(key, { required: options.required });
    if (text === undefined) return undefined;
    if (!/^-?\d+$/.test(text.trim())) throw paramError.invalidInteger(this.name(key), text);
    const value = Number(text);
    if (options.min !== undefined && value < options.min) {
      throw paramError.invalid(this.name(key), `This value must be greater than or equal to ${options.min}.`);
    }
    if (options.max !== undefined && value > options.max) {
      throw paramError.invalid(this.name(key), `This value must be less than or equal to ${options.max}.`);
    }
    return value;
  }

  boolean(key: string): boolean | undefined {
    const text = this.string(key);
    if (text === undefined) return undefined;
    if (text !== 'true' && text !== 'false') {
      throw paramError.invalid(this.name(key), `Invalid boolean: ${text}`);
    }
    return text === 'true';
  }

  hash(key: string, options: { required?: boolean } = {}): ParamReader | undefined {
    const value = this.values[key];
    if (value === undefined) {
      if (options.required) throw paramError.missing(this.name(key));
      return undefined;
    }
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw paramError.invalid(this.name(key), `Invalid hash`);
    }
    return new ParamReader(value, this.name(key));
  }

  list(key: string, options: { required?: boolean } = {}): ParamReader[] | undefined {
    const value = this.values[key];
    if (value === undefined) {
      if (options.required) throw paramError.missing(this.name(key));
      return undefined;
    }
    if (!Array.isArray(value)) throw paramError.invalid(this.name(key), `Invalid array`);
    return value.map((item, index) => {
      if (typeof item !== 'object' || Array.isArray(item)) {
        throw paramError.invalid(`${this.name(key)}[${index}]`, 'Invalid hash');
      }
      return new ParamReader(item, `${this.name(key)}[${index}]`);
    });
  }

  strings(key: string): string[] {
    const value = this.values[key];
    if (value === undefined) return [];
    const items = Array.isArray(value) ? value : [value];
    return items.map((item, index) => {
      if (typeof item !== 'string') throw paramError.invalid(`${this.name(key)}[${index}]`, 'Invalid string');
      return item;
    });
  }

  /** `metadata`: at most 50 keys of at most 40 characters, values of at most 500. */
  metadata(key: string): Record<string, string> {
    const hash = this.hash(key);
    if (!hash) return {};
    const entries = Object.entries(hash.values);
    if (entries.length > 50) {
      throw paramError.invalid(this.name(key), 'Metadata can have a maximum of 50 keys.');
    }
    const metadata: Record<string, string> = {};
    for (const [name, value] of entries) {
      if (name.length > 40) {
        throw paramError.invalid(
          hash.name(name),
          'Metadata keys can have a maximum length of 40 characters.',
        );
      }
      if (typeof value !== 'string') throw paramError.invalid(hash.name(name), 'Invalid string');
      if (value.length > 500) {
        throw paramError.invalid(
          hash.name(name),
          'Metadata values can have a maximum length of 500 characters.',
        );
      }
      metadata[name] = value;
    }
    return metadata;
  }
}

function describe(value: FormValue): string {
  return Array.isArray(value) ? 'array' : 'hash';
}

/** A stable rendering of the parameters, to compare requests under one idempotency key. */
export function fingerprint(values: FormValue): string {
  return JSON.stringify(values, (_key, value: FormValue) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)))
      : value,
  );
}
