import { join } from 'node:path';
import ts from 'typescript';

/*
 * Validates JSON against the pinned stripe SDK's own type declarations, read with the TypeScript
 * compiler: the schema is the SDK's types themselves (`stripe-object-types.ts` names them). A value
 * fails on a missing required field, a field the type does not declare, a wrong JSON type, or a
 * string outside a literal union (an unknown enum value). Expandable fields (`string | Customer`)
 * and unions (Stripe.Event's 270 event types) pass if one member fits.
 */

const TYPES_FILE = join(__dirname, 'stripe-object-types.ts');
const DISCRIMINANTS = ['object', 'type'];

export class StripeTypes {
  private readonly checker: ts.TypeChecker;
  private readonly named = new Map<string, ts.Type>();

  constructor() {
    const program = ts.createProgram([TYPES_FILE], {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      esModuleInterop: true,
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      target: ts.ScriptTarget.ES2022,
      types: [],
    });
    this.checker = program.getTypeChecker();
    const source = program.getSourceFile(TYPES_FILE)!;
    for (const statement of source.statements) {
      if (ts.isTypeAliasDeclaration(statement)) {
        this.named.set(statement.name.text, this.checker.getTypeAtLocation(statement.name));
      }
    }
  }

  /** Every way `value` differs from the SDK type `name` (empty: it conforms). */
  validate(name: string, value: unknown): string[] {
    const type = this.named.get(name);
    if (!type) throw new Error(`No SDK type ${name} in stripe-object-types.ts`);
    const errors: string[] = [];
    this.check(value, type, name, errors);
    return errors;
  }

  private check(value: unknown, type: ts.Type, path: string, errors: string[]): void {
    const { flags } = type;
    if (flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return;
    if (type.isUnion()) return this.checkUnion(value, type, path, errors);
    if (type.isStringLiteral() || type.isNumberLiteral()) {
      if (value !== type.value)
        errors.push(`${path}: ${JSON.stringify(value)} is not ${JSON.stringify(type.value)}`);
      return;
    }
    if (flags & ts.TypeFlags.BooleanLiteral) {
      const expected = this.checker.typeToString(type) === 'true';
      if (value !== expected) errors.push(`${path}: ${JSON.stringify(value)} is not ${String(expected)}`);
      return;
    }
    const expectKind = (ok: boolean, what: string) => {
      if (!ok) errors.push(`${path}: ${describe(value)} where the SDK has ${what}`);
    };
    if (flags & ts.TypeFlags.String) return expectKind(typeof value === 'string', 'a string');
    if (flags & ts.TypeFlags.Number) return expectKind(typeof value === 'number', 'a number');
    if (flags & ts.TypeFlags.Boolean) return expectKind(typeof value === 'boolean', 'a boolean');
    if (flags & ts.TypeFlags.Null) return expectKind(value === null, 'null');
    if (flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void))
      return expectKind(value === undefined, 'nothing');
    if (this.symbolName(type) === 'Decimal') {
      // The SDK parses decimals into its Decimal class; on the wire they are decimal strings.
      return expectKind(typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value), 'a decimal string');
    }
    if (this.checker.isArrayType(type) || this.checker.isTupleType(type)) {
      if (!Array.isArray(value)) return expectKind(false, 'an array');
      const [item] = this.checker.getTypeArguments(type as ts.TypeReference);
      value.forEach((element, index) => this.check(element, item, `${path}[${index}]`, errors));
      return;
    }
    if (flags & ts.TypeFlags.Object || type.isIntersection())
      return this.checkObject(value, type, path, errors);
    errors.push(`${path}: the SDK type ${this.checker.typeToString(type)} is not checked by this validator`);
  }

  private checkObject(value: unknown, type: ts.Type, path: string, errors: string[]): void {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      errors.push(
        `${path}: ${describe(value)} where the SDK has an object (${this.checker.typeToString(type)})`,
      );
      return;
    }
    const record = value as Record<string, unknown>;
    const properties = this.checker.getPropertiesOfType(type);
    const declared = new Set(properties.map((property) => property.name));
    for (const property of properties) {
      const propertyType = this.checker.getTypeOfSymbol(property);
      const optional = (property.flags & ts.SymbolFlags.Optional) !== 0;
      if (!(property.name in record)) {
        if (!optional) errors.push(`${path}.${property.name}: missing`);
        continue;
      }
      this.check(record[property.name], propertyType, `${path}.${property.name}`, errors);
    }
    const index = this.checker.getIndexInfoOfType(type, ts.IndexKind.String);
    for (const [key, item] of Object.entries(record)) {
      if (declared.has(key)) continue;
      if (index) this.check(item, index.type, `${path}.${key}`, errors);
      else errors.push(`${path}.${key}: not a field of ${this.checker.typeToString(type)}`);
    }
  }

  private checkUnion(value: unknown, type: ts.UnionType, path: string, errors: string[]): void {
    // The SDK keeps its enums open (`'open' | 'complete' | OtherString`) for values Stripe may add
    // later; the sandbox must send the values of the pinned version, so OtherString is left out.
    const literals = type.types.some((member) => member.isStringLiteral());
    const closed = type.types.filter((member) => !(literals && isOtherString(member)));
    const members = closed.filter((member) => !this.discriminatedAway(member, value));
    if (!members.length) {
      const discriminant = DISCRIMINANTS.map((key) => (value as Record<string, unknown> | null)?.[key]).find(
        (item) => typeof item === 'string',
      );
      errors.push(
        `${path}: no SDK type for ${JSON.stringify(discriminant ?? value)} (unknown enum value or type)`,
      );
      return;
    }
    let best: string[] | undefined;
    let bestSameKind = false;
    for (const member of members) {
      const memberErrors: string[] = [];
      this.check(value, member, path, memberErrors);
      if (!memberErrors.length) return;
      // Report against a member of the value's own kind (the object, not `null`), the fewest errors first.
      const sameKind = this.sameKind(member, value);
      if (
        !best ||
        (sameKind && !bestSameKind) ||
        (sameKind === bestSameKind && memberErrors.length < best.length)
      ) {
        best = memberErrors;
        bestSameKind = sameKind;
      }
    }
    const objectLike = (member: ts.Type) =>
      (member.flags & ts.TypeFlags.Object) !== 0 || member.isIntersection();
    if (!closed.some(objectLike)) {
      const shown = closed.map((member) =>
        member.isStringLiteral() ? JSON.stringify(member.value) : this.checker.typeToString(member),
      );
      const enumLike = literals;
      errors.push(
        enumLike
          ? `${path}: ${describe(value)} is not one of the SDK's values (${shown.join(', ')})`
          : `${path}: ${describe(value)} where the SDK has ${shown.join(' | ')}`,
      );
      return;
    }
    errors.push(...best!);
  }

  private sameKind(member: ts.Type, value: unknown): boolean {
    if (value === null) return (member.flags & ts.TypeFlags.Null) !== 0;
    if (Array.isArray(value)) return this.checker.isArrayType(member);
    if (typeof value === 'object') {
      return (
        ((member.flags & ts.TypeFlags.Object) !== 0 || member.isIntersection()) &&
        !this.checker.isArrayType(member)
      );
    }
    if (typeof value === 'string')
      return (member.flags & (ts.TypeFlags.String | ts.TypeFlags.StringLiteral)) !== 0;
    if (typeof value === 'number')
      return (member.flags & (ts.TypeFlags.Number | ts.TypeFlags.NumberLiteral)) !== 0;
    return (member.flags & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral)) !== 0;
  }

  /** A union member whose `object`/`type` literal cannot be the value's: skipped without a full check. */
  private discriminatedAway(member: ts.Type, value: unknown): boolean {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    if (!(member.flags & ts.TypeFlags.Object)) return false;
    for (const key of DISCRIMINANTS) {
      const given = (value as Record<string, unknown>)[key];
      const property = member.getProperty(key);
      if (typeof given !== 'string' || !property) continue;
      const propertyType = this.checker.getTypeOfSymbol(property);
      const literals = (propertyType.isUnion() ? propertyType.types : [propertyType]).filter(
        (t): t is ts.StringLiteralType => t.isStringLiteral(),
      );
      if (literals.length && !literals.some((literal) => literal.value === given)) return true;
    }
    return false;
  }

  private symbolName(type: ts.Type): string | undefined {
    return (type.aliasSymbol ?? type.getSymbol())?.getName();
  }
}

/** `OtherString` (`string & {}`): what the SDK adds to each enum so that new values still type-check. */
function isOtherString(type: ts.Type): boolean {
  if (type.aliasSymbol?.getName() === 'OtherString') return true;
  return type.isIntersection() && type.types.some((part) => (part.flags & ts.TypeFlags.String) !== 0);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value === undefined) return 'nothing';
  return `${typeof value} ${JSON.stringify(value)?.slice(0, 60)}`;
}
